/** The version of @eventform/runtime, read from its package.json (src/ and dist/ sit at the same depth). */
import { readFileSync } from 'node:fs';

export const RUNTIME_VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
