#!/usr/bin/env node
// The eventform command: the CLI compiled by tsc into dist/, run by plain Node.
import { run } from '../dist/cli/main.js';

process.exitCode = await run(process.argv);
