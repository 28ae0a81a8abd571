/**
 * Small helpers shared by the conformance suite, the harness and tests: bounded waiting, a logger
 * that records lines, and whether this is a CI run. No test framework imports here.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../api.js';
import { TESTING_DEFAULTS } from '../defaults.js';

/**
 * Whether this run is a CI run: `CI` is set to anything but "", "false" or "0" (so `CI=true` and
 * `CI=1`). Then a test that needs an unavailable broker must fail, never skip.
 */
export function isCi(env: Record<string, string | undefined> = process.env): boolean {
  const value = env['CI'];
  return value !== undefined && value !== '' && value !== 'false' && value !== '0';
}

/** A topology name unique to this run, `<prefix>-<8 hex>`: broker resources of parallel tests never meet. */
export function uniqueTopologyName(prefix = 'test'): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Poll `predicate` every `intervalMs` until it is truthy; rejects after `timeoutMs` with a message
 * naming `what` (and the predicate's last error, if it threw).
 */
export async function waitFor(
  predicate: () => unknown | Promise<unknown>,
  options: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? TESTING_DEFAULTS.waitTimeoutMs;
  const intervalMs = options.intervalMs ?? TESTING_DEFAULTS.pollIntervalMs;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await predicate()) return;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${options.what ?? 'condition'}${detail}`);
    }
    await sleep(intervalMs);
  }
}

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  fields: Record<string, unknown>;
}

/** A logger that keeps every line in `lines` (and prints nothing). */
export interface CaptureLogger extends Logger {
  readonly lines: LogLine[];
}

export function captureLogger(): CaptureLogger {
  const lines: LogLine[] = [];
  const at =
    (level: LogLine['level']) =>
    (message: string, fields?: Record<string, unknown>): void =>
      void lines.push({ level, message, fields: fields ?? {} });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
