/**
 * Kafka for tests: reuse `KAFKA_BROKERS` when set, else start (or reuse) the local single-node
 * broker with `scripts/kafka/kafka.sh start`, which is idempotent and safe to call from parallel
 * test files.
 *
 * A Kafka test never silently skips: with `CI=true` a broker that cannot be started fails the
 * run loudly; locally the test may skip, and says so on stderr.
 *
 * @example
 * const kafka = await requireKafka();
 * describe.skipIf(!kafka.available)('kafka transport', () => { ... kafka.brokers ... });
 */
import path from 'node:path';
import kafkajs from 'kafkajs';
import type { Admin } from 'kafkajs';
import { KAFKA_DEFAULTS } from '@eventform/kafka';
import { isCi } from './brokers.js';
import { runScript } from './scripts.js';

/** The binding's default: where scripts/kafka/kafka.sh starts the test broker. */
export const DEFAULT_KAFKA_BROKERS = KAFKA_DEFAULTS.brokers;

/** Thrown when no broker can be had; in CI this must fail the run. */
export class KafkaUnavailableError extends Error {
  override name = 'KafkaUnavailableError';
}

let ensured: Promise<string> | null = null;

/**
 * The broker list to use. Returns `KAFKA_BROKERS` if set; otherwise runs
 * `scripts/kafka/kafka.sh start` (once per process) and returns the broker it
 * printed (the binding's default address, {@link DEFAULT_KAFKA_BROKERS}).
 * Throws {@link KafkaUnavailableError} when the broker cannot be started.
 */
export function ensureKafka(): Promise<string> {
  const fromEnv = process.env.KAFKA_BROKERS?.trim();
  if (fromEnv) return Promise.resolve(fromEnv);
  const known = process.env.EVENTFORM_KAFKA_UNAVAILABLE;
  if (known) return Promise.reject(new KafkaUnavailableError(known));
  ensured ??= kafkaSh('start', 600_000).then(
    (out) => /KAFKA_BROKERS=(\S+)/.exec(out)?.[1] ?? DEFAULT_KAFKA_BROKERS,
    (error: unknown) => {
      ensured = null;
      throw new KafkaUnavailableError(
        `could not start Kafka with scripts/kafka/kafka.sh start: ${(error as Error).message}`,
      );
    },
  );
  return ensured;
}

export interface KafkaAvailability {
  available: boolean;
  brokers: string;
  reason: string;
}

/** {@link ensureKafka} for test files: throws in CI, else reports unavailability visibly. */
export async function requireKafka(): Promise<KafkaAvailability> {
  try {
    return { available: true, brokers: await ensureKafka(), reason: '' };
  } catch (error) {
    const reason = (error as Error).message;
    if (isCi()) throw new KafkaUnavailableError(`${reason}; CI=true, so Kafka tests must not be skipped`);
    process.stderr.write(`\n[eventform tests] SKIPPING Kafka tests: ${reason}\n\n`);
    return { available: false, brokers: '', reason };
  }
}

/**
 * Run `scripts/kafka/kafka.sh <command>`; rejects with its stderr tail on failure. `env` is
 * added to the environment (e.g. `KAFKA_PORT` for a second broker).
 */
export function kafkaSh(
  command: 'start' | 'stop' | 'kill' | 'status',
  timeoutMs = 180_000,
  env: Record<string, string> = {},
): Promise<string> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  // kafka.sh start does nothing when KAFKA_BROKERS is set; when we call it, we mean it.
  delete childEnv.KAFKA_BROKERS;
  return runScript('scripts/kafka/kafka.sh', command, { timeoutMs, env: childEnv });
}

/** Run `fn` with a connected admin client of the tests, disconnected afterwards. */
async function withAdmin<T>(brokers: string, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = new kafkajs.Kafka({
    brokers: brokers.split(','),
    clientId: 'eventform-tests',
    logLevel: kafkajs.logLevel.NOTHING,
    retry: { retries: 3 },
  }).admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

/** Delete topics (best effort: missing ones are fine), e.g. every topic of a test topology. */
export async function deleteTopics(brokers: string, topics: string[]): Promise<void> {
  if (topics.length === 0) return;
  await withAdmin(brokers, async (admin) => {
    // A topic created a moment ago may not be listed yet (KRaft metadata propagates
    // asynchronously), so look again until two listings in a row show none of them.
    let clean = 0;
    for (let round = 0; round < 20 && clean < 2; round++) {
      const existing = new Set(await admin.listTopics());
      const present = topics.filter((t) => existing.has(t));
      if (present.length > 0) {
        clean = 0;
        // May race with a deletion still propagating; the next listing tells.
        await admin.deleteTopics({ topics: present, timeout: 30_000 }).catch(() => undefined);
      } else {
        clean++;
      }
      await new Promise((r) => setTimeout(r, 150));
    }
  });
}

/** Delete consumer groups (best effort), e.g. those of a test topology. */
export async function deleteGroups(brokers: string, groupIds: string[]): Promise<void> {
  if (groupIds.length === 0) return;
  await withAdmin(brokers, async (admin) => {
    await admin.deleteGroups(groupIds).catch(() => undefined);
  });
}

/**
 * A broker of its own for tests that kill it (fault tests), so the shared broker other test
 * files use in parallel is never disturbed. Same script, another port and data directory; the
 * jars come from the local Maven cache after the first run.
 */
export interface DedicatedKafka {
  brokers: string;
  start(): Promise<void>;
  /** SIGKILL, like a crash. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

export function dedicatedKafka(name: string, port: number): DedicatedKafka {
  const cache = process.env.EVENTFORM_CACHE ?? path.join(process.env.HOME ?? '/tmp', '.cache/eventform');
  const env = {
    EVENTFORM_KAFKA_DIR: path.join(cache, `kafka-${name}`),
    KAFKA_PORT: String(port),
    KAFKA_CONTROLLER_PORT: String(port + 1),
  };
  return {
    brokers: `127.0.0.1:${port}`,
    start: async () => void (await kafkaSh('start', 600_000, env)),
    kill: async () => void (await kafkaSh('kill', 60_000, env)),
    stop: async () => void (await kafkaSh('stop', 120_000, env)),
  };
}
