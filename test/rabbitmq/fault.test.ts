/**
 * The fault test: 10,000 events through two consumer instances sharing one queue, with the
 * PostgreSQL idempotency store and a real side effect (an INSERT through `ctx.tx`), while the
 * broker force-closes the runtimes' connections several times. Some handlers fail a configured
 * number of times (retries during the faults), some events always fail and some are raw poison.
 *
 * Proves: every event's effect exactly once, none lost, every poison message in the DLQ and
 * accounted for — and that faults really happened (reconnects, redeliveries, duplicate skips).
 *
 * EVENTFORM_FAULT_EVENTS (default 10,000) and EVENTFORM_FAULT_SECONDS (publishing period,
 * default 60) change the load.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../../runtime/core/src/api.js';
import { CE, fromWireHeaders, toWireHeaders } from '../../runtime/core/src/headers.js';
import { createRuntime } from '../../runtime/core/src/runtime.js';
import { createPostgresStore, type PostgresIdempotencyStore } from '@eventform/postgres';
import { RabbitMQTransport } from '@eventform/rabbitmq';
import { requirePostgres, requireRabbitmq } from '../support/brokers.js';
import {
  adminConnection,
  closeConnectionsNamed,
  deleteTopology,
  drainQueue,
  queueDepth,
  sleep,
  waitFor,
} from './broker-admin.js';
import { buildTopology } from './fixtures.js';
import { collectingLogger, eventHeaders } from './helpers.js';

const rabbit = await requireRabbitmq();
const postgres = await requirePostgres();

const TOTAL = Number(process.env.EVENTFORM_FAULT_EVENTS ?? 10_000);
/** Events whose handler always throws: dead-lettered after the last attempt. */
const ALWAYS_FAIL = 10;
/** Raw messages with a broken JSON body: dead-lettered at once. */
const RAW_POISON = 10;
/** Every FLAKY_EVERY-th event fails its first FLAKY_FAILURES attempts (after writing, so the write rolls back). */
const FLAKY_EVERY = 97;
const FLAKY_FAILURES = 2;
const ATTEMPTS = 3;
/** Publishing is paced over this many seconds so faults hit a flowing system. */
const PUBLISH_SECONDS = Number(process.env.EVENTFORM_FAULT_SECONDS ?? 60);

describe.skipIf(!rabbit.available || !postgres.available)(
  'fault test: forced disconnects under load (RabbitMQ + PostgreSQL)',
  () => {
    const suffix = randomBytes(4).toString('hex');
    const effectsTable = `ef_fault_effects_${suffix}`;
    const storeTable = `ef_fault_processed_${suffix}`;
    const connectionPrefix = `ef-fault-${suffix}`;
    const ir = buildTopology({
      name: 'fault',
      events: [{ name: 'WorkRequested', producers: ['producer'] }], // no key: a key must be a string field, and order does not matter here
      consumers: [
        {
          service: 'worker',
          handler: 'apply',
          events: ['WorkRequested'],
          attempts: ATTEMPTS,
          delayMs: 100,
          maxDelayMs: 200,
          concurrency: 8,
        },
      ],
    });
    const consumer = ir.consumers[0]!;
    const event = ir.events[0]!;
    const db = new pg.Pool({ connectionString: postgres.url, max: 4 });
    const runtimes: Runtime[] = [];
    const stores: PostgresIdempotencyStore[] = [];

    afterAll(async () => {
      await Promise.allSettled(runtimes.map((r) => r.stop({ timeoutMs: 5_000 })));
      await Promise.allSettled(stores.map((s) => s.close()));
      await db.query(`DROP TABLE IF EXISTS ${effectsTable}, ${storeTable}`).catch(() => {});
      await db.end();
      await deleteTopology(rabbit.url, ir).catch(() => {});
    });

    it(`delivers ${TOTAL} events' effects exactly once through repeated connection kills`, async () => {
      const started = Date.now();
      // No key on event_id: a second effect of one event must show up as a second row, not be
      // turned into an error (and a retry) by a constraint.
      await db.query(
        `CREATE TABLE ${effectsTable} (event_id text NOT NULL, n integer NOT NULL, instance text NOT NULL)`,
      );

      /** Handler invocations per event id, both instances together (they share this process). */
      const invocations = new Map<string, number>();
      const transports: RabbitMQTransport[] = [];

      const makeRuntime = async (instance: string, handles: boolean): Promise<Runtime> => {
        const transport = new RabbitMQTransport({
          url: rabbit.url,
          connectionName: `${connectionPrefix}-${instance}`,
          logger: collectingLogger(),
          reconnect: { initialDelayMs: 100, maxDelayMs: 1_000 },
          publishTimeoutMs: 15_000,
        });
        transports.push(transport);
        const store = createPostgresStore({
          connectionString: postgres.url,
          table: storeTable,
          poolConfig: { max: 10 },
          purgeIntervalMs: 0,
        });
        stores.push(store);
        const runtime = createRuntime({
          topology: ir,
          transport,
          idempotencyStore: store,
          logger: collectingLogger(),
          shutdownTimeoutMs: 5_000,
        });
        if (handles) {
          runtime.handle(consumer.id, async (e, ctx) => {
            invocations.set(e.id, (invocations.get(e.id) ?? 0) + 1);
            const { n } = e.data as { n: number };
            const tx = ctx.tx as pg.PoolClient;
            await tx.query(`INSERT INTO ${effectsTable} (event_id, n, instance) VALUES ($1, $2, $3)`, [
              e.id,
              n,
              instance,
            ]);
            if (n < 0) throw new Error(`always failing ${n}`);
            if (n % FLAKY_EVERY === 0 && ctx.attempt <= FLAKY_FAILURES)
              throw new Error(`flaky ${n}, attempt ${ctx.attempt}`);
          });
        }
        runtimes.push(runtime);
        await runtime.start();
        return runtime;
      };

      const producer = await makeRuntime('producer', false);
      const workerA = await makeRuntime('worker-a', true);
      const workerB = await makeRuntime('worker-b', true);

      // --- load: TOTAL events through the producer, paced over PUBLISH_SECONDS so the faults ---
      // --- land while messages are being published, consumed, retried and committed.      ---
      const effectCount = async (): Promise<number> =>
        Number((await db.query<{ c: string }>(`SELECT count(*) AS c FROM ${effectsTable}`)).rows[0]!.c);
      const expected: string[] = [];
      const alwaysFail: string[] = [];
      let flaky = 0;
      let next = 0;
      const publishStart = Date.now();
      const intervalMs = (PUBLISH_SECONDS * 1000) / TOTAL;
      const publishLoop = async (): Promise<void> => {
        while (next < TOTAL) {
          const i = next++;
          const due = publishStart + i * intervalMs;
          if (due > Date.now()) await sleep(due - Date.now());
          // A few events with a negative n always fail (spread over the run).
          const failing = i % Math.floor(TOTAL / ALWAYS_FAIL) === 5 && alwaysFail.length < ALWAYS_FAIL;
          const n = failing ? -(i + 1) : i;
          const published = await producer.publish('producer', 'WorkRequested', { n });
          (failing ? alwaysFail : expected).push(published.id);
          if (!failing && n % FLAKY_EVERY === 0) flaky++;
        }
      };

      // --- faults: kill connections at these fractions of the publishing period ---------------
      const plan: { at: number; target: string }[] = [
        { at: 0.1, target: `${connectionPrefix}-worker-a` },
        { at: 0.3, target: connectionPrefix }, // everyone, the producer included
        { at: 0.5, target: `${connectionPrefix}-worker-b` },
        { at: 0.7, target: connectionPrefix },
        { at: 0.9, target: `${connectionPrefix}-worker` },
      ];
      const kills: { atMs: number; effectsBefore: number; closed: number; target: string }[] = [];
      const faults = (async () => {
        for (const step of plan) {
          const due = publishStart + step.at * PUBLISH_SECONDS * 1000;
          if (due > Date.now()) await sleep(due - Date.now());
          const effectsBefore = await effectCount();
          const closed = await closeConnectionsNamed(step.target, 'eventform fault test');
          kills.push({ atMs: Date.now() - publishStart, effectsBefore, closed, target: step.target });
        }
      })();

      await Promise.all(Array.from({ length: 32 }, publishLoop));

      // Raw poison straight onto the exchange: valid CloudEvents headers, broken JSON.
      const rawPoison: string[] = [];
      const conn = await adminConnection(rabbit.url);
      const ch = await conn.createConfirmChannel();
      for (let i = 0; i < RAW_POISON; i++) {
        const id = `raw-poison-${suffix}-${i}`;
        rawPoison.push(id);
        const headers = toWireHeaders(eventHeaders('WorkRequested', id), 'amqp');
        ch.publish(event.rabbitmq.exchange, event.rabbitmq.routingKey, Buffer.from(`{"n": ${i}, `), {
          persistent: true,
          headers,
        });
      }
      await ch.waitForConfirms();
      await conn.close();

      // --- wait for the end -----------------------------------------------------------------
      await faults;
      await waitFor(async () => (await effectCount()) >= expected.length, 150_000, `all ${expected.length} effects`);
      const dlq = consumer.rabbitmq.deadLetterQueue!;
      await waitFor(
        async () => (await queueDepth(rabbit.url, dlq)) >= ALWAYS_FAIL + RAW_POISON,
        60_000,
        'every poison message in the DLQ',
      );
      // Let late duplicates (redeliveries of already-handled messages) drain.
      await waitFor(
        async () => (await queueDepth(rabbit.url, consumer.rabbitmq.queue)) === 0,
        30_000,
        'an empty consumer queue',
      );
      await sleep(1_000);
      const elapsedMs = Date.now() - started;

      // --- assertions -------------------------------------------------------------------------
      expect(expected.length + alwaysFail.length).toBe(TOTAL);
      expect(alwaysFail).toHaveLength(ALWAYS_FAIL);

      // Exactly once: one row per expected event, nothing else (failed attempts rolled back).
      const rows = (await db.query<{ event_id: string }>(`SELECT event_id FROM ${effectsTable}`)).rows.map(
        (r) => r.event_id,
      );
      const doubled = Object.entries(
        rows.reduce<Record<string, number>>((n, id) => ((n[id] = (n[id] ?? 0) + 1), n), {}),
      ).filter(([, n]) => n > 1);
      expect(doubled, 'events with more than one effect').toEqual([]);
      expect(rows.length).toBe(expected.length);
      expect(new Set(rows)).toEqual(new Set(expected));

      // Every poison message is in the DLQ (at least once; deduplicated by event id), nothing else is.
      const deadLetters = await drainQueue(rabbit.url, dlq);
      const dlqIds = new Set(
        deadLetters.map((m) => fromWireHeaders(m.properties.headers as Record<string, unknown>, 'amqp')[CE.id]),
      );
      expect(dlqIds).toEqual(new Set([...alwaysFail, ...rawPoison]));
      const reasons = new Map(
        deadLetters.map((m) => {
          const h = fromWireHeaders(m.properties.headers as Record<string, unknown>, 'amqp');
          return [h[CE.id], h['ef-dl-reason']] as const;
        }),
      );
      for (const id of alwaysFail) expect(reasons.get(id)).toBe('retries-exhausted');
      for (const id of rawPoison) expect(reasons.get(id)).toBe('invalid-json');
      for (const tier of consumer.rabbitmq.retryQueues) expect(await queueDepth(rabbit.url, tier.name)).toBe(0);

      // The faults were real: connections dropped and came back, messages were redelivered.
      const sum = (pick: (t: RabbitMQTransport) => number): number => transports.reduce((a, t) => a + pick(t), 0);
      const totalInvocations = [...invocations.values()].reduce((a, b) => a + b, 0);
      const health = [workerA, workerB].map((r) => r.health().consumers[0]!);
      const report = {
        events: TOTAL,
        effects: rows.length,
        deadLettered: dlqIds.size,
        deadLetterCopies: deadLetters.length,
        kills,
        disconnects: sum((t) => t.metrics.disconnects),
        reconnects: sum((t) => t.metrics.connections) - transports.length,
        republishedAfterChannelLoss: sum((t) => t.metrics.republished),
        redeliveredByBroker: sum((t) => t.metrics.redelivered),
        lostAcks: sum((t) => t.metrics.lostAcks),
        retriesPublished: sum((t) => t.metrics.retried),
        handlerInvocations: totalInvocations,
        duplicatesSkipped: health.reduce((a, h) => a + h.duplicates, 0),
        perInstanceHandled: health.map((h) => h.handled),
        elapsedMs,
      };
      process.stderr.write(`\n[fault test] ${JSON.stringify(report)}\n`);

      // Every kill landed mid-flow: effects were still being written after it.
      for (const k of kills) expect(k.effectsBefore).toBeLessThan(expected.length);
      expect(kills).toHaveLength(plan.length);
      expect(kills.every((k) => k.closed >= 1)).toBe(true);
      expect(report.disconnects).toBeGreaterThanOrEqual(plan.length);
      expect(report.reconnects).toBeGreaterThanOrEqual(plan.length);
      expect(report.redeliveredByBroker).toBeGreaterThan(0);
      // Attempts: every event ran at least once, flaky ones FLAKY_FAILURES more, always-failing ones ATTEMPTS times.
      expect(totalInvocations).toBeGreaterThanOrEqual(TOTAL + flaky * FLAKY_FAILURES + ALWAYS_FAIL * (ATTEMPTS - 1));
      for (const id of alwaysFail) expect(invocations.get(id)).toBeGreaterThanOrEqual(ATTEMPTS);
      // Both instances did real work.
      expect(health.every((h) => h.handled > 0)).toBe(true);
    }, 240_000);
  },
);
