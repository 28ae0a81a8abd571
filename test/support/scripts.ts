/** Running the project's broker scripts (scripts/kafka/kafka.sh, scripts/rabbitmq/private-node.sh) from tests. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** A script failed; `exitCode` is its exit code (null when it was killed or did not start). */
export class ScriptError extends Error {
  override name = 'ScriptError';
  constructor(
    message: string,
    readonly exitCode: number | null,
  ) {
    super(message);
  }
}

/**
 * Run `bash <script> <command>` (script relative to the repository root) from the repository root
 * with `env` as its whole environment; resolve with its stdout, or reject with a
 * {@link ScriptError} carrying the tail of its stderr (the scripts print their broker's log on
 * failure).
 */
export function runScript(
  script: string,
  command: string,
  options: { timeoutMs: number; env: NodeJS.ProcessEnv },
): Promise<string> {
  const name = path.basename(script);
  return new Promise((resolve, reject) => {
    const execOptions = { cwd: REPO_ROOT, timeout: options.timeoutMs, maxBuffer: 4 << 20, env: options.env };
    execFile('bash', [path.join(REPO_ROOT, script), command], execOptions, (error, stdout, stderr) => {
      if (!error) return resolve(String(stdout));
      const code = typeof error.code === 'number' ? error.code : null;
      const tail = String(stderr).trim().split('\n').slice(-25).join('\n');
      const why = error.killed ? `killed after ${options.timeoutMs}ms` : `exit code ${code ?? error.code}`;
      reject(new ScriptError(`${name} ${command} failed (${why})${tail ? `:\n${tail}` : ''}`, code));
    });
  });
}
