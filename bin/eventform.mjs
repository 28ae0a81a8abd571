#!/usr/bin/env node
// Launcher: runs the TypeScript CLI through tsx, so `npx eventform` works without a build step.
import { register } from 'tsx/esm/api';

register();
const { run } = await import('../generator/cli/main.ts');
process.exitCode = await run(process.argv);
