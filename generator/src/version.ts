/** The version of the eventform package, read from its package.json (src/ and dist/ sit at the same depth). */
import { readFileSync } from 'node:fs';

export const GENERATOR_VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
