#!/usr/bin/env node
// The eventform command: the CLI compiled by tsc into dist/, run by plain Node.
import { existsSync } from 'node:fs';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  // Only in a checkout of the eventform repository before its first build; a published package has dist/.
  process.stderr.write('eventform: the CLI is not built (no dist/); run `npm run build` in the eventform repository\n');
  process.exit(3);
}
const { run } = await import(main.href);
process.exitCode = await run(process.argv);
