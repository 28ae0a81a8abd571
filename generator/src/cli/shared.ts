/**
 * Helpers every CLI command shares: exit codes, colour detection, loading a topology and printing
 * its diagnostics. Commands live in their own files and export `register(program)`.
 */
import { readFileSync } from 'node:fs';
import { formatDiagnostics, loadTopology, type LoadResult } from '../spec/index.js';
import { nameDiagnostics } from '../naming.js';
import { EXIT, exitCodeFor, type ExitCode } from './exit-codes.js';
import { safeLine } from './dlq-records.js';

export { EXIT, exitCodeFor, type ExitCode } from './exit-codes.js';

/** Where a command writes; tests pass their own to capture the output. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export const processIo: CliIo = {
  stdout: (t) => void process.stdout.write(t),
  stderr: (t) => void process.stderr.write(t),
};

/**
 * An error meant for the user: printed as one line, no stack trace, process exits with
 * `exitCode`. Throw it from any command action.
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.invalid,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

/**
 * Reports a broker or database that cannot be reached, or that refused the work, as one line
 * (`<prefix>: <message>`; the stack only with `debug`), and returns {@link EXIT.unavailable}.
 * Commands that connect call it for whatever their service throws, so an unreachable service exits
 * with the same code everywhere.
 */
export function reportUnavailable(io: CliIo, prefix: string, error: unknown, debug = false): ExitCode {
  // A bug in eventform is not the broker's answer: the CLI's top level reports it (exit 3). Node's
  // own TypeErrors for bad input (an invalid URL given as --target) carry a code and stay here.
  const bug = error instanceof TypeError || error instanceof ReferenceError || error instanceof SyntaxError;
  if (bug && typeof (error as { code?: unknown }).code !== 'string') throw error;
  const message = error instanceof Error ? error.message : String(error);
  // The message may carry what the broker holds (a header value): one line, escaped, bounded.
  io.stderr(`${prefix}: ${safeLine(message.replace(/\s*\n\s*/g, ' '), 2_000)}\n`);
  if (debug && error instanceof Error && error.stack) io.stderr(`${error.stack}\n`);
  return EXIT.unavailable;
}

/**
 * The last line of a command that loaded no topology: a file that cannot be read (a usage error,
 * EF1001) is not "a topology with errors".
 */
export function notLoadedLine(file: string, verb: string, exitCode: ExitCode): string {
  const why = exitCode === EXIT.usage ? 'the topology file cannot be read' : 'the topology has errors';
  return `${file}: nothing ${verb}, ${why} (see above)`;
}

/** Colour when writing to a terminal, unless NO_COLOR is set; FORCE_COLOR forces it. */
export function useColor(stream: NodeJS.WriteStream = process.stderr): boolean {
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return false;
  if (process.env.FORCE_COLOR !== undefined && process.env.FORCE_COLOR !== '0') return true;
  return stream.isTTY === true;
}

/** Source text for code frames; undefined when unreadable. */
export function readSource(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

export interface LoadedTopology extends LoadResult {
  file: string;
  /** EXIT.ok, EXIT.invalid, or EXIT.usage when the file could not be read. */
  exitCode: number;
}

/**
 * Loads a topology and prints its diagnostics (text to stderr, with code frames and a count
 * line; or nothing, leaving JSON output to the caller). Every command that reads the topology
 * should use this so problems look the same everywhere.
 */
export function loadAndReport(
  file: string,
  opts: { format?: 'text' | 'json'; quietWhenClean?: boolean } = {},
): LoadedTopology {
  const loaded = loadTopology(file);
  // A topology that validates must also generate: report names the generator cannot make safe.
  const naming = loaded.ir ? nameDiagnostics(loaded.ir) : [];
  const result = naming.length > 0 ? { ...loaded, ir: null, diagnostics: [...loaded.diagnostics, ...naming] } : loaded;
  const exitCode = exitCodeFor(result.diagnostics);
  if (opts.format !== 'json' && (result.diagnostics.length > 0 || !opts.quietWhenClean)) {
    if (result.diagnostics.length > 0) {
      process.stderr.write(formatDiagnostics(result.diagnostics, readSource, { color: useColor(process.stderr) }));
    }
  }
  return { ...result, file, exitCode };
}

/** The default topology path when a command is given none. */
export const DEFAULT_TOPOLOGY = 'topology.yaml';

/**
 * A signal that aborts on the first SIGINT (Ctrl-C) or SIGTERM, for commands that run until they
 * are stopped (`relay`, `generate --watch`): they finish cleanly and exit 0.
 */
export function signalOnTermination(): AbortSignal {
  const controller = new AbortController();
  const stop = (): void => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    controller.abort();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return controller.signal;
}
