/**
 * The `eventform` command line. Each command is its own module exporting
 * `register(program: Command)`; main only wires them up and turns failures into exit codes.
 *
 * Adding a command: create `generator/src/cli/<name>.ts` exporting `register`, and add it to
 * COMMANDS. Keep heavy imports (ts-morph, broker clients) inside the action so `--help` and
 * `validate` stay fast.
 */
import { Command, CommanderError } from 'commander';
import { GENERATOR_VERSION } from '../version.js';
import { EXIT, UserError } from './shared.js';

export type Registrar = { register(program: Command): void };

/** Command modules, in help order, each imported only when needed. */
const COMMANDS: Record<string, () => Promise<Registrar>> = {
  init: () => import('./init.js'),
  validate: () => import('./validate.js'),
  generate: () => import('./generate.js'),
  check: () => import('./check.js'),
  provision: () => import('./provision.js'),
  scaffold: () => import('./scaffold.js'),
  graph: () => import('./graph.js'),
  export: () => import('./export.js'),
  import: () => import('./import.js'),
  relay: () => import('./relay.js'),
  dlq: () => import('./dlq.js'),
};

/**
 * Imports the command modules. When `argv` names one command, only that module is
 * loaded: commands import heavy things (ts-morph, broker clients) and `validate` should not pay
 * for them. Help, `help <cmd>` and unknown commands load them all.
 */
async function loadRegistrars(argv: readonly string[]): Promise<Registrar[]> {
  const present = Object.keys(COMMANDS);
  const first = argv.slice(2).find((a) => !a.startsWith('-'));
  const wanted = present.filter((name) => name === first);
  const load = wanted.length === 1 ? wanted : present;
  return Promise.all(load.map((name) => COMMANDS[name]!()));
}

/**
 * The CLI program. `registrars` defaults to every command module (only the one `argv`
 * names, when it names one).
 */
export async function buildProgram(registrars?: Registrar[], argv: readonly string[] = []): Promise<Command> {
  const program = new Command('eventform')
    .description('One declarative topology.yaml → typed TypeScript on RabbitMQ, Kafka or an embedded broker.')
    .version(GENERATOR_VERSION, '-v, --version', 'print the version')
    .option('--debug', 'print stack traces for internal errors')
    .option(
      '--schema-root <dir>',
      "the folder external $ref schema files must stay inside (default: the topology's folder)",
    )
    .showHelpAfterError('(run `eventform --help` for usage)')
    .exitOverride();
  program.hook('preAction', async (_program, action) => {
    const { schemaRoot } = action.optsWithGlobals<{ schemaRoot?: string }>();
    if (schemaRoot === undefined) return;
    const { setLoadDefaults } = await import('../spec/load-topology.js');
    setLoadDefaults({ schemaRoot });
  });
  for (const r of registrars ?? (await loadRegistrars(argv))) r.register(program);
  // Sub-commands inherit exitOverride only when set before they are added; apply it to all.
  for (const c of program.commands) c.exitOverride();
  return program;
}

/**
 * Runs the CLI; resolves to the process exit code instead of exiting. User errors print one
 * line; internal errors print their stack only with `--debug`.
 */
export async function run(argv: string[] = process.argv, program?: Command): Promise<number> {
  const debug = argv.includes('--debug');
  process.exitCode = undefined;
  try {
    program ??= await buildProgram(undefined, argv);
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version "errors" are successes; everything else is a usage error.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (err instanceof UserError) {
      process.stderr.write(`error: ${err.message}\n`);
      return err.exitCode;
    }
    const e = err instanceof Error ? err : new Error(String(err));
    process.stderr.write(
      debug
        ? `internal error: ${e.stack ?? e.message}\n`
        : `internal error: ${e.message}\n(this is a bug in eventform; run with --debug for details)\n`,
    );
    return EXIT.internal;
  }
}
