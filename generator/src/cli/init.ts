/**
 * `eventform init [--broker rabbitmq,kafka]`: a runnable starter in the current folder (see
 * generator/src/init/run.ts and docs/init.md). Never overwrites a file; never prompts.
 */
import type { Command } from 'commander';
import type { BrokerName } from '@eventform/runtime';
import { INIT_DEFAULTS, runInit } from '../init/run.js';

/** Adds the `init` command to the eventform CLI. */
export function register(program: Command): void {
  program
    .command('init')
    .description(
      'write a starter into this folder (empty, or made by npm init -y): topology, tsconfig, services, scripts',
    )
    .option(
      '--broker <list>',
      'transport packages to depend on, comma-separated: rabbitmq, kafka (memory needs none)',
      INIT_DEFAULTS.brokers.join(','),
    )
    .action(async (options: { broker: string }) => {
      const brokers = options.broker
        .split(',')
        .map((b) => b.trim().toLowerCase())
        .filter((b) => b.length > 0) as BrokerName[];
      process.exitCode = await runInit({ brokers });
    });
}
