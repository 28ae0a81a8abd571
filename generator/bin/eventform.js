#!/usr/bin/env node
// The eventform command: the CLI compiled by tsc into dist/, run by plain Node.
let cli;
try {
  cli = await import('../dist/cli/main.js');
} catch (err) {
  // Only in a checkout of the eventform repository before its first build; a published package has dist/.
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes('dist/cli/main.js')) throw err;
  process.stderr.write('eventform: the CLI is not built (no dist/); run `npm run build` in the eventform repository\n');
  process.exit(3);
}
process.exitCode = await cli.run(process.argv);
