/**
 * `eventform scaffold <service> [topology.yaml] [--dir services] [--out generated] [--force]`
 *
 * Creates `<dir>/<service>/`: the handler stub, an entry point and a contract test, wired to the
 * generated code in `--out` (which must exist and be in sync; run `eventform generate` first).
 * Existing files are skipped and reported; `--force` rewrites main.ts and the contract test but
 * never handlers.ts. See generator/scaffold/run.ts and docs/scaffold.md.
 */
import type { Command } from 'commander';
import { SCAFFOLD_DEFAULTS } from '../scaffold/plan.js';
import { runScaffold, type ScaffoldCliOptions } from '../scaffold/run.js';
import { DEFAULT_TOPOLOGY } from './shared.js';

/** Adds the `scaffold` command to the eventform CLI. */
export function register(program: Command): void {
  program
    .command('scaffold')
    .description('create a service folder wired to the generated code: handler stub, entry point, contract test')
    .argument('<service>', 'a service of the topology (kebab-case)')
    .argument('[topology]', 'topology file', DEFAULT_TOPOLOGY)
    .option('--dir <dir>', 'folder holding one folder per service', SCAFFOLD_DEFAULTS.dir)
    .option('--out <dir>', 'the generated code (as given to `eventform generate --out`)', SCAFFOLD_DEFAULTS.outDir)
    .option('--force', 'rewrite main.ts and the contract test when they differ; handlers.ts is never overwritten')
    .option(
      '--runtime-import <specifier>',
      'the --runtime-import given to `eventform generate`',
      SCAFFOLD_DEFAULTS.runtimeImport,
    )
    .action(async (service: string, file: string, options: ScaffoldCliOptions) => {
      process.exitCode = (await runScaffold(service, file, options)).exitCode;
    });
}
