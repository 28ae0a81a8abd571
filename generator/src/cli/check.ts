/**
 * `eventform check [topology] [--against <ref|file>] [--strict] [--format text|json|github] [--out dir]`:
 * the contract checks for CI. Exit 0 when every check holds, 1 when one fails, 2 for usage errors
 * (a missing topology, an --against that is neither a file nor a git revision, a bad option).
 */
import { execFileSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import type { Command } from 'commander';
import { Option } from 'commander';
import { DEFAULT_TOPOLOGY, EXIT, UserError, readSource, useColor } from './shared.js';

interface CheckCliOptions {
  against?: string;
  strict?: boolean;
  format: 'text' | 'json' | 'github';
  out?: string;
}

export function register(program: Command): void {
  program
    .command('check')
    .description(
      'contract checks for CI: validation, generated-code drift, examples, graph integrity and, with --against, payload compatibility and breaking topology changes',
    )
    .argument('[topology]', 'topology file', DEFAULT_TOPOLOGY)
    .option(
      '--against <ref-or-file>',
      'compare with the topology at a git ref (origin/main, HEAD~1, a sha) or in a file',
    )
    .option('--strict', 'also fail on warnings and on changes whose compatibility cannot be proven')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'github']).default('text'))
    .option(
      '--out <dir>',
      'generated code directory to check for drift (default: generated/ when its marker names this topology)',
    )
    .action(async (file: string, opts: CheckCliOptions) => {
      // Lazy: keeps `eventform --help` fast.
      const { runCheck, CheckUsageError } = await import('../check/run-check.js');
      const { formatCheck } = await import('../check/format.js');
      let result;
      try {
        result = await runCheck({
          topologyFile: file,
          strict: opts.strict === true,
          ...(opts.against !== undefined ? { against: opts.against } : {}),
          ...(opts.out !== undefined ? { out: opts.out } : {}),
        });
      } catch (err) {
        if (err instanceof CheckUsageError) throw new UserError(err.message, EXIT.usage);
        throw err;
      }
      const cwd = realCwd();
      process.stdout.write(
        formatCheck(result, opts.format, {
          color: opts.format === 'text' && useColor(process.stdout),
          cwd,
          root: opts.format === 'github' ? repoRoot(cwd) : cwd,
          readSource,
        }),
      );
      process.exitCode = result.ok ? EXIT.ok : EXIT.invalid;
    });
}

/** GitHub annotation paths are relative to the repository root; outside git, to cwd. */
function repoRoot(cwd: string): string {
  try {
    return (
      execFileSync('git', ['rev-parse', '--show-toplevel'], {
        cwd,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim() || cwd
    );
  } catch {
    return cwd;
  }
}

function realCwd(): string {
  try {
    return realpathSync(process.cwd());
  } catch {
    return process.cwd();
  }
}
