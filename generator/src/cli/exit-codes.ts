/**
 * The exit codes of every `eventform` command, in one place: a kind of failure exits with the
 * same code whichever command meets it (docs/generator.md, "Exit codes"). A command picks the code
 * by kind, never by number: `EXIT.invalid`, or {@link exitCodeFor} over its diagnostics.
 */

/** Process exit codes of every command. */
export const EXIT = {
  /** Success; warnings may have been printed. */
  ok: 0,
  /**
   * Findings in the user's input: an invalid topology, schema file or document (diagnostics
   * printed), a failed `check`, generated code out of date (`generate --check`), provisioning
   * conflicts.
   */
  invalid: 1,
  /**
   * The command cannot run as asked: a bad command line, an input file that is missing or
   * unreadable, an output location eventform may not write (a folder it does not own, a symbolic
   * link, an existing file without `--force`).
   */
  usage: 2,
  /** A bug in eventform (the message says so; `--debug` prints the stack). */
  internal: 3,
  /** A service the command talks to (a broker, a database) is unreachable or refused the work. */
  unavailable: 4,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * Diagnostic codes that are usage errors, not findings: the file named on the command line cannot
 * be read (EF1001), the output folder is not eventform's (EF8003), a symbolic link sits where the
 * writer would write (EF8005).
 */
const USAGE_CODES: ReadonlySet<string> = new Set(['EF1001', 'EF8003', 'EF8005']);

/** The exit code for a command's diagnostics: usage, else invalid for any error, else ok. */
export function exitCodeFor(diags: readonly { code: string; severity: 'error' | 'warning' }[]): ExitCode {
  const errors = diags.filter((d) => d.severity === 'error');
  if (errors.some((d) => USAGE_CODES.has(d.code))) return EXIT.usage;
  return errors.length > 0 ? EXIT.invalid : EXIT.ok;
}
