/**
 * Fault test (a): 10,000 events through the transactional producer and 10,000 follow-ups from
 * handlers, while the relay — `eventform relay` as its own process — is killed with SIGKILL, also in
 * the middle of a batch it had claimed and partly sent, and restarted. On RabbitMQ and on Kafka,
 * with the shared PostgreSQL. Zero lost, zero doubled effects, per-key order kept (fault-run.ts).
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { KafkaTransport } from '@eventform/kafka';
import { RabbitMQTransport } from '@eventform/rabbitmq';
import { sleep } from '@eventform/runtime/testing';
import { requirePostgres, requireRabbitmq } from '../support/brokers.js';
import { requireKafka } from '../support/kafka.js';
import { deleteTopology } from '../rabbitmq/broker-admin.js';
import { cleanupTopology, FAST_GROUP } from '../kafka/helpers.js';
import { countingLogger, faultRun, type FaultContext, type RelayProcess } from './fault-run.js';
import { outboxTopology } from './fixtures.js';

const TOTAL = Number(process.env.EVENTFORM_FAULT_EVENTS ?? 10_000);
const postgres = await requirePostgres();
const rabbit = await requireRabbitmq();
const kafka = await requireKafka();

/**
 * At 30% and 60% of the producing: kill the relay wherever it is, let a backlog build for a second,
 * start a new one and kill it on its first claim (a full batch, each row sent once the earlier rows
 * of its key were confirmed), then start the one that carries on.
 */
async function killRelays(ctx: FaultContext): Promise<number[]> {
  const claimedAtKill: number[] = [];
  let relay = await ctx.startRelayProcess();
  const kill = async (what: string, r: RelayProcess) => {
    r.child.kill('SIGKILL');
    await r.exited;
    const { rows } = await ctx.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${ctx.outboxTable} WHERE claimed_by IS NOT NULL AND published_at IS NULL`,
    );
    claimedAtKill.push(rows[0]!.n);
    ctx.log(`relay killed ${what}: ${rows[0]!.n} claimed rows left unpublished`);
  };
  for (const at of [0.3, 0.6]) {
    await ctx.at(at);
    await relay.nextBatch();
    await kill('after a batch claim', relay);
    await sleep(1_000);
    const next = await ctx.startRelayProcess();
    const batch = next.nextBatch();
    await batch;
    await kill('on its first batch', next);
    relay = await ctx.startRelayProcess();
  }
  return claimedAtKill;
}

const brokers = [
  {
    broker: 'rabbitmq' as const,
    available: rabbit.available,
    // One handler at a time: see outboxTopology's concurrency.
    concurrency: 1,
    transport: (name: string) => () =>
      new RabbitMQTransport({
        // One handler at a time, but fed from a window: at prefetch 1 each message waits a round trip.
        prefetch: 16,
        url: rabbit.url,
        connectionName: name,
        logger: countingLogger(new Map()),
        reconnect: { initialDelayMs: 100, maxDelayMs: 1_000 },
      }),
    relayEnv: { BROKER: 'rabbitmq', EVENTFORM_RABBITMQ_URL: rabbit.url } as Record<string, string>,
    cleanup: async (ir: Parameters<typeof deleteTopology>[1]) => deleteTopology(rabbit.url, ir),
  },
  {
    broker: 'kafka' as const,
    available: kafka.available,
    concurrency: 8,
    transport: () => () =>
      new KafkaTransport({ brokers: kafka.brokers, logger: countingLogger(new Map()), ...FAST_GROUP }),
    relayEnv: { BROKER: 'kafka', KAFKA_BROKERS: kafka.brokers } as Record<string, string>,
    cleanup: async (ir: Parameters<typeof cleanupTopology>[1]) => cleanupTopology(kafka.brokers, ir),
  },
];

for (const b of brokers) {
  describe.skipIf(!postgres.available || !b.available)(
    `outbox fault (a): the relay process killed (${b.broker})`,
    () => {
      it(`${TOTAL} events and ${TOTAL} follow-ups: none lost, none doubled, each key in order`, async () => {
        const name = `ob-kill-${b.broker}-${randomBytes(3).toString('hex')}`;
        const topology = outboxTopology(name, { concurrency: b.concurrency, queueType: 'classic' });
        let claimedAtKill: number[] = [];
        try {
          const result = await faultRun({
            name,
            topology,
            databaseUrl: postgres.url,
            transport: b.transport(name),
            relayEnv: b.relayEnv,
            relay: 'cli',
            total: TOTAL,
            keys: 100,
            rate: 500,
            stallTimeoutMs: 45_000,
            fault: async (ctx) => void (claimedAtKill = await killRelays(ctx)),
          });
          console.log(`${name}: ${(result.elapsedMs / 1000).toFixed(1)} s\n  ${result.notes.join('\n  ')}`);
          // The kills really hit batches in flight, and the inbox absorbed what was sent twice.
          expect(claimedAtKill).toHaveLength(4);
          expect(claimedAtKill.reduce((a, n) => a + n, 0)).toBeGreaterThan(0);
        } finally {
          await b.cleanup(topology.ir).catch(() => {});
          topology.remove();
        }
      }, 300_000);
    },
  );
}
