/**
 * Fault test (c): 10,000 events through the transactional producer and 10,000 follow-ups from
 * handlers while PostgreSQL restarts — twice: once as after a crash (`pg_ctl stop -m immediate`,
 * recovery on start), once cleanly (`-m fast`). It runs on a private server (initdb into a temporary
 * folder, its own port), never the shared one. Every connection is cut: producers' transactions,
 * handlers' (processed record, effects, follow-ups), the relay's session and claims. Producers retry
 * (an order row that already exists means the commit had gone through), handlers are retried by the
 * runtime, the relay reconnects. On RabbitMQ and Kafka: zero lost, zero doubled effects, per-key
 * order kept (fault-run.ts).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaTransport } from '@eventform/kafka';
import { RabbitMQTransport } from '@eventform/rabbitmq';
import type { TopologyIR, Transport } from '@eventform/runtime';
import { requireRabbitmq } from '../support/brokers.js';
import { requireKafka } from '../support/kafka.js';
import { deleteTopology } from '../rabbitmq/broker-admin.js';
import { cleanupTopology, FAST_GROUP } from '../kafka/helpers.js';
import { countingLogger, faultRun, type FaultContext } from './fault-run.js';
import { outboxTopology } from './fixtures.js';
import { createPrivatePostgres, privatePostgresAvailable, type PrivatePostgres } from './private-postgres.js';

const TOTAL = Number(process.env.EVENTFORM_FAULT_EVENTS ?? 10_000);
const installed = privatePostgresAvailable();
const rabbit = await requireRabbitmq();
const kafka = await requireKafka();

async function restarts(ctx: FaultContext, server: PrivatePostgres): Promise<void> {
  const startTime = async () => {
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    try {
      return (await client.query<{ t: Date }>('SELECT pg_postmaster_start_time() AS t')).rows[0]!.t.getTime();
    } finally {
      await client.end();
    }
  };
  const first = await startTime();
  for (const [at, mode] of [
    [0.3, 'immediate'],
    [0.65, 'fast'],
  ] as const) {
    await ctx.at(at);
    const began = Date.now();
    await server.restart(mode);
    ctx.log(`PostgreSQL restarted (${mode}) in ${Date.now() - began} ms`);
  }
  expect(await startTime(), 'the server really restarted').toBeGreaterThan(first);
}

const brokers: {
  broker: 'rabbitmq' | 'kafka';
  available: boolean;
  concurrency: number;
  transport: (name: string) => Transport;
  cleanup: (ir: TopologyIR) => Promise<void>;
}[] = [
  {
    broker: 'rabbitmq',
    available: rabbit.available,
    concurrency: 1,
    transport: (name) =>
      new RabbitMQTransport({
        // One handler at a time, but fed from a window: at prefetch 1 each message waits a round trip.
        prefetch: 16,
        url: rabbit.url,
        connectionName: name,
        logger: countingLogger(new Map()),
        reconnect: { initialDelayMs: 100, maxDelayMs: 1_000 },
      }),
    cleanup: (ir) => deleteTopology(rabbit.url, ir),
  },
  {
    broker: 'kafka',
    available: kafka.available,
    concurrency: 8,
    transport: () => new KafkaTransport({ brokers: kafka.brokers, logger: countingLogger(new Map()), ...FAST_GROUP }),
    cleanup: (ir) => cleanupTopology(kafka.brokers, ir),
  },
];

describe.skipIf(!installed.available)('outbox fault (c): PostgreSQL restarts', () => {
  let server: PrivatePostgres;
  beforeAll(async () => {
    server = await createPrivatePostgres();
    await server.start();
  }, 60_000);
  afterAll(() => server?.stop(), 60_000);

  for (const b of brokers) {
    it.skipIf(!b.available)(
      `${TOTAL} events and ${TOTAL} follow-ups on ${b.broker}: none lost, none doubled, each key in order`,
      async () => {
        const name = `ob-pgrestart-${b.broker}-${randomBytes(3).toString('hex')}`;
        const topology = outboxTopology(name, { concurrency: b.concurrency, queueType: 'classic' });
        try {
          const result = await faultRun({
            name,
            topology,
            databaseUrl: server.url,
            transport: () => b.transport(name),
            relay: 'in-process',
            total: TOTAL,
            keys: 100,
            rate: 500,
            stallTimeoutMs: 45_000,
            fault: (ctx) => restarts(ctx, server),
          });
          console.log(`${name}: ${(result.elapsedMs / 1000).toFixed(1)} s\n  ${result.notes.join('\n  ')}`);
          console.log(`  warnings/errors: ${JSON.stringify(Object.fromEntries(result.logs))}`);
          // The restarts reached every part: producers retried, and the relay lost its session.
          expect(result.producerRetries).toBeGreaterThan(0);
          expect(result.logs.get('warn: outbox relay lost its PostgreSQL session; reconnecting') ?? 0).toBeGreaterThan(
            0,
          );
        } finally {
          await b.cleanup(topology.ir).catch(() => {});
          topology.remove();
        }
      },
      300_000,
    );
  }
});
