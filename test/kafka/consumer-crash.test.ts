/**
 * Consumer crash: one of two instances of a consumer (same group, PostgreSQL idempotency store, a
 * side effect INSERTed through `ctx.tx`) is killed with SIGKILL mid-stream, and a replacement joins.
 *
 * The doomed instance runs in a child process (`crash-worker.ts`). Once it has committed
 * `BLOCK_AFTER` effects its handlers hang after writing, so the batches it is in never finish and
 * their offsets stay uncommitted; then it is killed. Kafka must redeliver its finished-but-
 * uncommitted work to the survivor and the replacement, and the store must turn each of those
 * redeliveries into a skipped duplicate. The test proves it happened (duplicates > 0, each one an
 * event whose effect the dead instance had committed) and that nothing was lost or done twice.
 *
 * Uses the shared broker: only a consumer dies, never the broker.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import pg from 'pg';
import type { PoolClient } from 'pg';
import { describe, expect, it } from 'vitest';
import type { Handler, Logger, Runtime } from '../../runtime/core/src/api.js';
import { createRuntime } from '../../runtime/core/src/runtime.js';
import { createPostgresStore } from '@eventform/postgres';
import { KafkaTransport, type KafkaTransportOptions } from '@eventform/kafka';
import { requirePostgres } from '../support/brokers.js';
import { requireKafka } from '../support/kafka.js';
import type { CrashWorkerConfig, CrashWorkerMessage } from './crash-worker.js';
import { cleanupTopology, FAST_GROUP, sleep, waitFor } from './helpers.js';
import { tickTopology } from './fixtures.js';

const TOTAL = Number(process.env.EVENTFORM_CRASH_EVENTS ?? 4_000);
/** Published in one burst once the group is formed: the doomed instance works through big batches. */
const BURST = Math.floor(TOTAL / 2);
/** The rest, at this rate, so the crash and the replacement's join happen mid-stream. */
const STREAM_RATE_PER_S = 150;
const BLOCK_AFTER = 300;
const CONSUMER = 'sink.record';
const TEST_TIMEOUT_MS = 120_000;
const WORKER = fileURLToPath(new URL('./crash-worker.ts', import.meta.url));

const kafka = await requireKafka();
const postgres = await requirePostgres();

const TRANSPORT: Partial<KafkaTransportOptions> = { ...FAST_GROUP };

/** Counts warnings/errors, remembers which events were skipped as duplicates. */
function recordingLogger(counts: Map<string, number>, duplicates: string[]): Logger {
  const verbose = process.env.EVENTFORM_TEST_LOG === '1';
  const log = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    if (message === 'duplicate skipped') duplicates.push(String(fields?.eventId));
    if (level === 'warn' || level === 'error')
      counts.set(`${level}: ${message}`, (counts.get(`${level}: ${message}`) ?? 0) + 1);
    if (verbose) process.stderr.write(`${level} ${message} ${JSON.stringify(fields ?? {})}\n`);
  };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

describe.skipIf(!kafka.available || !postgres.available)('Kafka consumer crash (SIGKILL mid-stream)', () => {
  it(
    `absorbs the redeliveries of a killed instance: ${TOTAL} events, each effect exactly once`,
    async () => {
      const brokers = kafka.brokers;
      const suffix = randomBytes(4).toString('hex');
      const effects = `kafka_crash_effect_${suffix}`;
      const processed = `kafka_crash_processed_${suffix}`;
      const pool = new pg.Pool({ connectionString: postgres.url, max: 24 });
      pool.on('error', () => undefined);
      const logCounts = new Map<string, number>();
      const duplicateIds: string[] = [];
      const logger = recordingLogger(logCounts, duplicateIds);
      const runtimes: Runtime[] = [];
      const timeline: string[] = [];
      const started = Date.now();
      const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
      let worker: ChildProcess | undefined;
      let workerStderr = '';

      const topology = tickTopology('crash', { attempts: 5, maxDelay: '2s' });
      const groupId = topology.consumers.find((c) => c.id === CONSUMER)?.kafka.groupId ?? '';

      let invocations = 0;
      const handler =
        (instance: string): Handler =>
        async (e, ctx) => {
          invocations++;
          const { n } = e.data as { n: number };
          await (ctx.tx as PoolClient).query(`INSERT INTO ${effects} (event_id, n, instance) VALUES ($1, $2, $3)`, [
            e.id,
            n,
            instance,
          ]);
        };
      const consumerRuntime = (instance: string): Runtime => {
        const runtime = createRuntime({
          topology,
          transport: new KafkaTransport({ brokers, logger, ...TRANSPORT }),
          logger,
          idempotencyStore: createPostgresStore({ pool, table: processed, logger }),
          shutdownTimeoutMs: 10_000,
        });
        runtime.handle(CONSUMER, handler(instance));
        runtimes.push(runtime);
        return runtime;
      };
      const effectsBy = async () => {
        const { rows } = await pool.query<{ instance: string; count: string }>(
          `SELECT instance, count(*) FROM ${effects} GROUP BY instance ORDER BY instance`,
        );
        return Object.fromEntries(rows.map((r) => [r.instance, Number(r.count)])) as Record<string, number>;
      };

      try {
        await pool.query(
          `CREATE TABLE ${effects} (seq bigserial PRIMARY KEY, event_id text NOT NULL, n integer NOT NULL, instance text NOT NULL)`,
        );
        // Provisions the topics; publishes only.
        const publisher = createRuntime({
          topology,
          transport: new KafkaTransport({ brokers, logger, ...TRANSPORT }),
          logger,
        });
        runtimes.push(publisher);
        await publisher.start();

        // The survivor, then the doomed instance in its own process.
        const survivor = consumerRuntime('a');
        await survivor.start();
        const blocked: string[] = [];
        const config: CrashWorkerConfig = {
          instance: 'b',
          brokers,
          postgresUrl: postgres.url,
          topology,
          consumerId: CONSUMER,
          effectsTable: effects,
          processedTable: processed,
          blockAfter: BLOCK_AFTER,
          transport: TRANSPORT,
        };
        const child = fork(WORKER, [], {
          execArgv: ['--import', 'tsx'],
          env: { ...process.env, EF_CRASH_WORKER: JSON.stringify(config) },
          stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
        });
        worker = child;
        child.stderr?.on('data', (chunk: Buffer) => (workerStderr = (workerStderr + chunk.toString()).slice(-4_000)));
        let workerReady = false;
        let workerFailure = '';
        child.on('message', (message: CrashWorkerMessage) => {
          if (message.type === 'ready') workerReady = true;
          else if (message.type === 'blocked') blocked.push(message.eventId);
          else workerFailure = message.error;
        });
        child.on('exit', (code, signal) => {
          if (!workerFailure && signal !== 'SIGKILL') workerFailure = `worker exited early (code ${code}, ${signal})`;
        });
        await waitFor('the doomed instance to start', () => workerReady || workerFailure !== '', 60_000);
        expect(workerFailure, `worker failed:\n${workerStderr}`).toBe('');
        await waitForStableGroup(brokers, groupId, 2);
        timeline.push(`${elapsed()} group formed: survivor a (in-process) + doomed b (pid ${child.pid})`);

        // Publish: a burst, then a steady stream. A failed publish is retried with the same id.
        const ids: string[] = Array.from({ length: TOTAL }, () => randomUUID());
        const publishOne = async (n: number): Promise<void> => {
          for (let attempt = 1; ; attempt++) {
            try {
              await publisher.publish('source', 'Tick', { key: `k${n % 97}`, n }, { id: ids[n] });
              return;
            } catch (error) {
              if (attempt >= 5) throw error;
              await sleep(500);
            }
          }
        };
        const publishing = (async () => {
          await Promise.all(Array.from({ length: BURST }, (_, n) => publishOne(n)));
          timeline.push(`${elapsed()} burst of ${BURST} published`);
          const chunk = 15;
          for (let n = BURST; n < TOTAL; n += chunk) {
            const t0 = Date.now();
            await Promise.all(Array.from({ length: Math.min(chunk, TOTAL - n) }, (_, i) => publishOne(n + i)));
            await sleep(Math.max(0, (chunk / STREAM_RATE_PER_S) * 1000 - (Date.now() - t0)));
          }
          timeline.push(`${elapsed()} all ${TOTAL} published`);
        })();

        // The doomed instance hangs after BLOCK_AFTER effects; let its other in-flight handlers
        // commit, then kill it like a crashing process: no commit, no LeaveGroup.
        await waitFor('the doomed instance to hang', () => blocked.length > 0 || workerFailure !== '', 60_000);
        expect(workerFailure, `worker failed:\n${workerStderr}`).toBe('');
        await sleep(1_000);
        const atKill = await effectsBy();
        child.kill('SIGKILL');
        await new Promise<void>((resolve) =>
          child.exitCode !== null || child.signalCode ? resolve() : child.once('exit', () => resolve()),
        );
        timeline.push(
          `${elapsed()} b killed with SIGKILL (${blocked.length} handlers hung, effects: a=${atKill.a ?? 0}, b=${atKill.b ?? 0})`,
        );

        // The replacement joins; b's partitions move once its session times out.
        const replacement = consumerRuntime('c');
        await replacement.start();
        timeline.push(`${elapsed()} replacement c joined`);

        await publishing;
        const countEffects = async () => {
          const { rows } = await pool.query<{ total: string; distinct_ids: string }>(
            `SELECT count(*) AS total, count(DISTINCT event_id) AS distinct_ids FROM ${effects}`,
          );
          return { total: Number(rows[0]?.total), distinct: Number(rows[0]?.distinct_ids) };
        };
        const deadline = started + TEST_TIMEOUT_MS - 25_000;
        let counts = await countEffects();
        while (counts.distinct < TOTAL && Date.now() < deadline) {
          await sleep(250);
          counts = await countEffects();
        }
        timeline.push(`${elapsed()} ${counts.distinct} effects`);
        await sleep(1_500); // a late double effect has time to show up
        counts = await countEffects();

        const stats = [survivor, replacement].map((r) => r.health().consumers.find((c) => c.id === CONSUMER));
        const duplicates = stats.reduce((n, c) => n + (c?.duplicates ?? 0), 0);
        const deadLettered = stats.reduce((n, c) => n + (c?.deadLettered ?? 0), 0);
        const byInstance = await effectsBy();
        const ownerOf = async (eventIds: string[]) => {
          const { rows } = await pool.query<{ event_id: string; instance: string }>(
            `SELECT event_id, instance FROM ${effects} WHERE event_id = ANY($1::text[])`,
            [eventIds],
          );
          return rows;
        };
        const duplicateOwners = await ownerOf(duplicateIds);
        const blockedOwners = await ownerOf(blocked);
        const missing = await pool.query<{ id: string }>(
          `SELECT id FROM unnest($1::text[]) AS id WHERE id NOT IN (SELECT event_id FROM ${effects})`,
          [ids],
        );
        // b ran its handler for each of its effects and each hung event; a and c ran theirs or
        // were stopped short by the store.
        const deliveries = (byInstance.b ?? 0) + blocked.length + invocations + duplicates;
        process.stdout.write(
          `\n[kafka consumer-crash test]\n  ${[
            ...timeline,
            `effects: ${counts.distinct} distinct, ${counts.total} rows; by instance ${JSON.stringify(byInstance)}`,
            `redeliveries of b's committed work skipped as duplicates by the idempotency store: ${duplicates}`,
            `deliveries ${deliveries} for ${TOTAL} events: ${deliveries - TOTAL} redeliveries ` +
              `(${duplicates} skipped as duplicates, ${blocked.length} hung in b, rolled back by the crash and redone)`,
            `duration ${elapsed()}`,
            `warnings/errors logged: ${[...logCounts].map(([m, c]) => `${c}× ${m.slice(0, 100)}`).join(' | ') || 'none'}`,
          ].join('\n  ')}\n\n`,
        );

        // Nothing lost, nothing twice.
        expect(
          missing.rows.map((r) => r.id),
          'events lost',
        ).toEqual([]);
        expect(counts.distinct).toBe(TOTAL);
        expect(counts.total, 'events that took effect twice').toBe(TOTAL);
        expect(deadLettered).toBe(0);
        // Real redeliveries happened and the store absorbed them: each skipped duplicate is an
        // event whose effect the killed instance had committed.
        expect(duplicates, 'redeliveries absorbed by the idempotency store').toBeGreaterThan(0);
        expect(duplicateIds).toHaveLength(duplicates);
        expect(new Set(duplicateOwners.map((r) => r.instance))).toEqual(new Set(['b']));
        expect(duplicateOwners).toHaveLength(new Set(duplicateIds).size);
        // The hung transactions died with the process; their events took effect elsewhere.
        expect(blocked.length).toBeGreaterThan(0);
        expect(blockedOwners).toHaveLength(blocked.length);
        expect(blockedOwners.every((r) => r.instance !== 'b')).toBe(true);
        // Every instance took part.
        expect(byInstance.a ?? 0).toBeGreaterThan(0);
        expect(byInstance.b ?? 0).toBeGreaterThanOrEqual(BLOCK_AFTER);
        expect(byInstance.c ?? 0).toBeGreaterThan(0);
      } finally {
        if (worker && worker.exitCode === null && !worker.signalCode) worker.kill('SIGKILL');
        await Promise.allSettled(runtimes.map((r) => r.stop({ timeoutMs: 5_000 })));
        await pool.query(`DROP TABLE IF EXISTS ${effects}`).catch(() => undefined);
        await pool.query(`DROP TABLE IF EXISTS ${processed}`).catch(() => undefined);
        await pool.end();
        await cleanupTopology(brokers, topology).catch(() => undefined);
      }
    },
    TEST_TIMEOUT_MS,
  );
});

/** Waits until the consumer group is Stable with `members` members (every one has its partitions). */
async function waitForStableGroup(brokers: string, groupId: string, members: number): Promise<void> {
  const admin = new kafkajs.Kafka({
    brokers: brokers.split(','),
    clientId: 'eventform-tests',
    logLevel: kafkajs.logLevel.NOTHING,
  }).admin();
  await admin.connect();
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const { groups } = await admin.describeGroups([groupId]);
      const group = groups[0];
      if (group?.state === 'Stable' && group.members.length === members) return;
      if (Date.now() > deadline) {
        throw new Error(
          `group ${groupId} not Stable with ${members} members: ${group?.state}, ${group?.members.length}`,
        );
      }
      await sleep(100);
    }
  } finally {
    await admin.disconnect();
  }
}
