/**
 * Fault test (b): 10,000 events through the transactional producer and 10,000 follow-ups from
 * handlers while the broker is unreachable for 30 s. RabbitMQ: every connection of the services
 * goes through a TCP proxy that is cut (connections refused) and restored. Kafka: a broker of the
 * test's own is frozen with SIGSTOP and thawed (connections hang). Orders keep being committed
 * meanwhile, into the outbox; the relay retries with backoff and drains the backlog when the broker
 * is back. Zero lost, zero doubled effects, per-key order kept (fault-run.ts).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaTransport } from '@eventform/kafka';
import { RabbitMQTransport } from '@eventform/rabbitmq';
import type { TopologyIR } from '@eventform/runtime';
import { sleep } from '@eventform/runtime/testing';
import { isCi, requirePostgres, requireRabbitmq } from '../support/brokers.js';
import { dedicatedKafka, KafkaUnavailableError } from '../support/kafka.js';
import { runScript } from '../support/scripts.js';
import { deleteTopology } from '../rabbitmq/broker-admin.js';
import { TcpProxy } from '../rabbitmq/tcp-proxy.js';
import { cleanupTopology, FAST_GROUP } from '../kafka/helpers.js';
import { countingLogger, faultRun, type FaultContext } from './fault-run.js';
import { outboxTopology } from './fixtures.js';

const TOTAL = Number(process.env.EVENTFORM_FAULT_EVENTS ?? 10_000);
const OUTAGE_MS = Number(process.env.EVENTFORM_OUTAGE_MS ?? 30_000);
const postgres = await requirePostgres();
const rabbit = await requireRabbitmq();

const KAFKA_PORT = Number(process.env.EVENTFORM_OUTBOX_KAFKA_PORT ?? 19096);
const kafkaEnv = {
  EVENTFORM_KAFKA_DIR: `${process.env.EVENTFORM_CACHE ?? `${process.env.HOME ?? '/tmp'}/.cache/eventform`}/kafka-outbox`,
  KAFKA_PORT: String(KAFKA_PORT),
  KAFKA_CONTROLLER_PORT: String(KAFKA_PORT + 1),
};
const kafka = dedicatedKafka('outbox', KAFKA_PORT);
/** The frozen broker's JVM. */
const kafkaPid = async (): Promise<number> =>
  Number(
    (
      await runScript('scripts/kafka/kafka.sh', 'pid', { timeoutMs: 10_000, env: { ...process.env, ...kafkaEnv } })
    ).trim(),
  );
const kafkaReady = await kafka.start().then(
  () => true,
  (error: unknown) => {
    const message = `could not start the outbox fault-test broker: ${(error as Error).message}`;
    if (isCi()) throw new KafkaUnavailableError(`${message}; CI=true, so the fault test must not be skipped`);
    process.stderr.write(`\n[eventform tests] SKIPPING Kafka outbox outage test: ${message}\n\n`);
    return false;
  },
);

/**
 * During the outage, samples what the relay reports; asserts afterwards that the relay published
 * nothing meanwhile while orders kept being committed into the outbox, and — where connections are
 * refused rather than frozen — that it saw its batches fail.
 */
async function outage(ctx: FaultContext, cut: () => Promise<void>, restore: () => Promise<void>, refused: boolean) {
  await ctx.at(0.2);
  const before = ctx.runtime.health().outbox!;
  const committedBefore = ctx.progress();
  await cut();
  ctx.log(`broker unreachable (${OUTAGE_MS / 1000} s)`);
  let maxPending = 0;
  const until = Date.now() + OUTAGE_MS;
  while (Date.now() < until) {
    await sleep(500);
    maxPending = Math.max(maxPending, ctx.runtime.health().outbox!.pending);
  }
  const during = ctx.runtime.health().outbox!;
  await restore();
  ctx.log(
    `broker back: the relay failed ${during.failures - before.failures} batch(es) meanwhile, ` +
      `up to ${maxPending} rows pending (oldest ${Math.round((during.oldestAgeMs ?? 0) / 1000)} s); ` +
      `${Math.round((ctx.progress() - committedBefore) * 100)}% of the orders committed during the outage`,
  );
  if (refused) {
    expect(during.failures - before.failures, 'failed relay batches during the outage').toBeGreaterThan(0);
    expect(during.relay).toBe('failing');
  }
  // A frozen broker holds the batch in flight; either way nothing gets through for 30 s.
  expect(maxPending, 'rows waiting in the outbox').toBeGreaterThan(1_000);
  expect(during.oldestAgeMs ?? 0, 'age of the oldest waiting row').toBeGreaterThan(OUTAGE_MS / 2);
  expect(ctx.progress() - committedBefore, 'orders committed while the broker was gone').toBeGreaterThan(0.1);
}

const name = (broker: string) => `ob-outage-${broker}-${randomBytes(3).toString('hex')}`;

describe.skipIf(!postgres.available || !rabbit.available)('outbox fault (b): RabbitMQ unreachable for 30 s', () => {
  const proxy = new TcpProxy('127.0.0.1', Number(new URL(rabbit.url).port || 5672));
  beforeAll(() => proxy.start());
  afterAll(() => proxy.cut());

  it(`${TOTAL} events and ${TOTAL} follow-ups: none lost, none doubled, each key in order`, async () => {
    const topologyName = name('rabbitmq');
    const topology = outboxTopology(topologyName, { concurrency: 1, queueType: 'classic' });
    const url = new URL(rabbit.url);
    try {
      const result = await faultRun({
        name: topologyName,
        topology,
        databaseUrl: postgres.url,
        transport: () =>
          new RabbitMQTransport({
            // One handler at a time, but fed from a window: at prefetch 1 each message waits a round trip.
            prefetch: 16,
            url: proxy.url(decodeURIComponent(url.username), decodeURIComponent(url.password)),
            connectionName: topologyName,
            logger: countingLogger(new Map()),
            reconnect: { initialDelayMs: 100, maxDelayMs: 1_000 },
            publishTimeoutMs: 5_000,
          }),
        relay: 'in-process',
        total: TOTAL,
        keys: 100,
        rate: 400,
        stallTimeoutMs: 45_000,
        fault: (ctx) =>
          outage(
            ctx,
            () => proxy.cut(),
            () => proxy.start(),
            true,
          ),
      });
      console.log(`${topologyName}: ${(result.elapsedMs / 1000).toFixed(1)} s\n  ${result.notes.join('\n  ')}`);
    } finally {
      await deleteTopology(rabbit.url, topology.ir).catch(() => {});
      topology.remove();
    }
  }, 300_000);
});

describe.skipIf(!postgres.available || !kafkaReady)('outbox fault (b): Kafka unreachable for 30 s', () => {
  let topology: TopologyIR | undefined;
  afterAll(async () => {
    const pid = await kafkaPid().catch(() => 0);
    if (pid > 0) process.kill(pid, 'SIGCONT'); // never leave it frozen
    if (topology) await cleanupTopology(kafka.brokers, topology).catch(() => {});
    await kafka.stop().catch(() => {});
  }, 180_000);

  it(`${TOTAL} events and ${TOTAL} follow-ups: none lost, none doubled, each key in order`, async () => {
    const topologyName = name('kafka');
    const fixture = outboxTopology(topologyName, { concurrency: 8 });
    topology = fixture.ir;
    try {
      const result = await faultRun({
        name: topologyName,
        topology: fixture,
        databaseUrl: postgres.url,
        transport: () =>
          new KafkaTransport({ brokers: kafka.brokers, logger: countingLogger(new Map()), ...FAST_GROUP }),
        relay: 'in-process',
        total: TOTAL,
        keys: 100,
        rate: 400,
        stallTimeoutMs: 45_000,
        fault: async (ctx) => {
          const pid = await kafkaPid();
          expect(pid).toBeGreaterThan(0);
          await outage(
            ctx,
            async () => void process.kill(pid, 'SIGSTOP'),
            async () => void process.kill(pid, 'SIGCONT'),
            false,
          );
        },
      });
      console.log(`${topologyName}: ${(result.elapsedMs / 1000).toFixed(1)} s\n  ${result.notes.join('\n  ')}`);
    } finally {
      fixture.remove();
    }
  }, 300_000);
});
