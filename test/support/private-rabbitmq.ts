/**
 * A private RabbitMQ node for tests that crash a broker, through scripts/rabbitmq/private-node.sh:
 * its own node name, port, data directory and Erlang cookie, so the shared broker other test files
 * use in parallel is never disturbed.
 *
 * Like the other broker helpers, a test never silently skips: with `CI=true` a missing RabbitMQ
 * installation fails the run loudly; locally the test may skip, and says so on stderr. A node that
 * is installed but cannot start always fails (the caller's `start()` rejects).
 *
 * @example
 * const installed = await requirePrivateRabbitmq();
 * describe.skipIf(!installed.available)('node failure', () => {
 *   const node = privateRabbitmq();
 *   beforeAll(() => node.start(), 180_000);
 *   afterAll(() => node.stop(), 180_000);
 *   it('...', async () => { await node.kill(); await node.start(); });
 * });
 */
import { isCi } from './brokers.js';
import { runScript, ScriptError } from './scripts.js';

/** Exit code of private-node.sh when RabbitMQ is not installed. */
const NOT_INSTALLED = 3;

export type PrivateNodeCommand = 'start' | 'stop' | 'kill' | 'status' | 'url' | 'pid' | 'logs' | 'clean' | 'installed';

export interface PrivateRabbitmqOptions {
  /** AMQP port on 127.0.0.1. @default 5679 (the script's default) */
  port?: number;
  /** Data, logs and config of the node. @default the script's (under $TMPDIR) */
  dir?: string;
  /** Erlang node name. @default the script's */
  nodeName?: string;
}

/**
 * Run `scripts/rabbitmq/private-node.sh <command>` and resolve with its stdout; rejects with a
 * {@link ScriptError} (exit code 3: RabbitMQ not installed). `env` is added to the environment.
 */
export function privateNodeSh(
  command: PrivateNodeCommand,
  options: { timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<string> {
  return runScript('scripts/rabbitmq/private-node.sh', command, {
    timeoutMs: options.timeoutMs ?? 180_000,
    env: { ...process.env, ...options.env },
  });
}

export interface PrivateRabbitmq {
  /** Start the node (or reuse it when it is up) and wait until it serves AMQP; resolves with its URL. */
  start(): Promise<string>;
  /** SIGKILL the node's Erlang VM, like a crash; `start()` brings it back on the same data. */
  kill(): Promise<void>;
  /** Clean shutdown; nothing happens when it is not running. */
  stop(): Promise<void>;
  /** Does the node answer AMQP? */
  isUp(): Promise<boolean>;
  /** The AMQP URL, e.g. amqp://guest:guest@127.0.0.1:5679 (the node need not be running). */
  url(): Promise<string>;
  /** The tail of the node's log, for failure messages. */
  logs(): Promise<string>;
}

export function privateRabbitmq(options: PrivateRabbitmqOptions = {}): PrivateRabbitmq {
  const env: Record<string, string> = {};
  if (options.port !== undefined) env.EVENTFORM_RABBITMQ_PRIVATE_PORT = String(options.port);
  if (options.dir !== undefined) env.EVENTFORM_RABBITMQ_PRIVATE_DIR = options.dir;
  if (options.nodeName !== undefined) env.EVENTFORM_RABBITMQ_PRIVATE_NODENAME = options.nodeName;
  const lastLine = (out: string): string => out.trim().split('\n').pop() ?? '';
  return {
    start: async () => lastLine(await privateNodeSh('start', { timeoutMs: 180_000, env })),
    kill: async () => void (await privateNodeSh('kill', { timeoutMs: 60_000, env })),
    stop: async () => void (await privateNodeSh('stop', { timeoutMs: 180_000, env })),
    isUp: () =>
      privateNodeSh('status', { timeoutMs: 60_000, env }).then(
        () => true,
        () => false,
      ),
    url: async () => lastLine(await privateNodeSh('url', { timeoutMs: 10_000, env })),
    logs: () => privateNodeSh('logs', { timeoutMs: 10_000, env }).catch((e: unknown) => String(e)),
  };
}

export interface PrivateRabbitmqAvailability {
  available: boolean;
  /** Why it is unavailable; empty when available. */
  reason: string;
}

/**
 * Is RabbitMQ installed, so that a private node can be started? Throws in CI when it is not;
 * locally reports the skip on stderr. Does not start anything (that is `privateRabbitmq().start()`,
 * which fails loudly everywhere).
 */
export async function requirePrivateRabbitmq(): Promise<PrivateRabbitmqAvailability> {
  try {
    await privateNodeSh('installed', { timeoutMs: 10_000 });
    return { available: true, reason: '' };
  } catch (error) {
    if (!(error instanceof ScriptError) || error.exitCode !== NOT_INSTALLED) throw error;
    const reason = `cannot run a private RabbitMQ node: ${error.message}`;
    if (isCi()) throw new Error(`${reason}; CI=true, so node-failure tests must not be skipped`, { cause: error });
    process.stderr.write(`\n[eventform tests] SKIPPING private RabbitMQ node tests: ${reason}\n\n`);
    return { available: false, reason };
  }
}
