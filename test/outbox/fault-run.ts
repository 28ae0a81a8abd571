/**
 * The outbox fault run, shared by the three fault tests (relay killed, broker unreachable,
 * PostgreSQL restarted) on RabbitMQ and Kafka.
 *
 * One process plays three services on a real broker and a real PostgreSQL:
 * - `orders` commits an order row and its Placed event with `withOutbox`, one key after the other
 *   (keys in parallel), paced, retrying a transaction that failed — an order row that already exists
 *   means an earlier attempt did commit (its reply was lost), so it is not written again;
 * - `confirmer.confirm` writes a confirmation row and publishes Confirmed through `ctx.tx`;
 * - `audit.placed` and `audit.confirmed` record each event they handle in a table with no unique key
 *   (a second effect of one event is a second row); the order in which events are first delivered
 *   to them is noted at the transport, before anything can fail and send one round a retry.
 * The relay runs in the process (default) or as `eventform relay` children the fault controls.
 *
 * Verified at the end, from the database: every Placed and every Confirmed committed exactly once
 * (one outbox row per key and n), every one handled by its audit exactly once and confirmed exactly
 * once — zero lost, zero doubled — and per event type and key, events first reached their consumer
 * in the order their rows were committed (outbox `seq`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { expect } from 'vitest';
import { createRuntime } from '@eventform/runtime';
import type {
  ConsumerIR,
  DeliveryHandler,
  EventIR,
  HealthState,
  Logger,
  OutgoingMessage,
  Runtime,
  Subscription,
  TopologyIR,
  Transport,
} from '@eventform/runtime';
import { createPostgresStore, withOutbox, type PostgresIdempotencyStore } from '@eventform/postgres';
import { sleep } from '@eventform/runtime/testing';
import type { OutboxTopology } from './fixtures.js';

const CLI = path.resolve(import.meta.dirname, '../../generator/bin/eventform.js');

export interface FaultContext {
  /** 0..1: how far the producers are. */
  progress(): number;
  /** Resolves once the producers are `fraction` of the way. */
  at(fraction: number): Promise<void>;
  runtime: Runtime;
  db: pg.Pool;
  outboxTable: string;
  /** Start an `eventform relay` child (relay: 'cli'); resolves once it logged that it started. */
  startRelayProcess(): Promise<RelayProcess>;
  log(line: string): void;
}

export interface RelayProcess {
  child: ChildProcess;
  /** Resolves at the next "outbox batch claimed" line. */
  nextBatch(): Promise<void>;
  exited: Promise<number | null>;
}

export interface FaultRunOptions {
  name: string;
  topology: OutboxTopology;
  databaseUrl: string;
  /** The services' transport (through the fault's proxy where there is one). */
  transport: () => Transport;
  /** What the `eventform relay` children need to reach the broker (relay: 'cli'). */
  relayEnv?: Record<string, string>;
  relay: 'in-process' | 'cli';
  total: number;
  keys: number;
  /** Placed events committed per second, at most. */
  rate: number;
  fault: (ctx: FaultContext) => Promise<void>;
  /**
   * Once the producers and the fault are done: how long the count of events that took effect may
   * stand still before the run fails (a lost event stops it; a slow, loaded machine does not).
   */
  stallTimeoutMs: number;
}

export interface FaultRunResult {
  elapsedMs: number;
  /** Deliveries the consumers skipped as duplicates (the inbox at work). */
  duplicatesSkipped: number;
  /** Producer transactions that failed and were retried. */
  producerRetries: number;
  /** Producer transactions whose commit went through although the client saw an error. */
  ambiguousCommits: number;
  /** Warnings and errors the services logged, by message. */
  logs: Map<string, number>;
  /** The services' runtime's health at the end (consumers; the in-process relay, when there is one). */
  health: HealthState;
  notes: string[];
}

/** Counts warnings and errors by message; prints everything when EVENTFORM_TEST_LOG=1. */
export function countingLogger(counts: Map<string, number>, prefix = ''): Logger {
  const verbose = process.env.EVENTFORM_TEST_LOG === '1';
  const log = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    if (level === 'warn' || level === 'error')
      counts.set(`${level}: ${message}`, (counts.get(`${level}: ${message}`) ?? 0) + 1);
    if (verbose) process.stderr.write(`${prefix}${level} ${message} ${JSON.stringify(fields ?? {})}\n`);
  };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

/**
 * Notes, per event type and key, the order in which event ids are first delivered to the audit
 * consumers: what the relay's publishing order decides. Redeliveries and retry copies of an id
 * already seen do not count.
 */
class ArrivalRecorder implements Transport {
  readonly arrivals = new Map<string, string[]>();
  private readonly seen = new Set<string>();
  constructor(private readonly inner: Transport) {}
  get name() {
    return this.inner.name;
  }
  get capabilities() {
    return this.inner.capabilities;
  }
  start(topology: TopologyIR): Promise<void> {
    return this.inner.start(topology);
  }
  publish(event: EventIR, message: OutgoingMessage): Promise<void> {
    return this.inner.publish(event, message);
  }
  subscribe(consumer: ConsumerIR, handler: DeliveryHandler): Promise<Subscription> {
    if (consumer.service !== 'audit') return this.inner.subscribe(consumer, handler);
    return this.inner.subscribe(consumer, (delivery) => {
      const id = delivery.headers['id'];
      if (id !== undefined && !this.seen.has(id)) {
        this.seen.add(id);
        const at = `${delivery.headers['type']}/${delivery.key ?? ''}`;
        const list = this.arrivals.get(at) ?? [];
        list.push(id);
        this.arrivals.set(at, list);
      }
      return handler(delivery);
    });
  }
  close(options?: { timeoutMs?: number }): Promise<void> {
    return this.inner.close(options);
  }
}

export async function faultRun(options: FaultRunOptions): Promise<FaultRunResult> {
  const started = Date.now();
  const notes: string[] = [];
  const note = (line: string) => {
    const text = `[${((Date.now() - started) / 1000).toFixed(1)}s] ${line}`;
    notes.push(text);
    if (process.env.EVENTFORM_TEST_LOG === '1') process.stderr.write(`${options.name} ${text}\n`);
  };
  const suffix = options.topology.ir.name.replace(/[^a-z0-9]/g, '_');
  const t = {
    outbox: `ob_${suffix}`,
    processed: `ob_processed_${suffix}`,
    orders: `ob_orders_${suffix}`,
    confirmations: `ob_confirmations_${suffix}`,
    effects: `ob_effects_${suffix}`,
  };
  const db = new pg.Pool({ connectionString: options.databaseUrl, max: 4 });
  db.on('error', () => {});
  db.on('connect', (client) => void client.on('error', () => {})); // see guardClientErrors
  const logs = new Map<string, number>();
  const children = new Set<ChildProcess>();
  let runtime: Runtime | undefined;
  let store: PostgresIdempotencyStore | undefined;
  try {
    await db.query(`CREATE TABLE ${t.orders} (order_key text PRIMARY KEY)`);
    await db.query(`CREATE TABLE ${t.confirmations} (event_id text NOT NULL, key text NOT NULL, n integer NOT NULL)`);
    await db.query(
      `CREATE TABLE ${t.effects} (event_id text NOT NULL, type text NOT NULL, key text NOT NULL, n integer NOT NULL)`,
    );

    store = createPostgresStore({
      connectionString: options.databaseUrl,
      poolConfig: { max: 40 },
      table: t.processed,
      purgeIntervalMs: 0,
      outbox: { table: t.outbox, relay: { retentionMs: 24 * 3_600_000 } },
      logger: countingLogger(logs, 'store '),
    });
    const recorder = new ArrivalRecorder(options.transport());
    const rt = createRuntime({
      topology: options.topology.ir,
      transport: recorder,
      idempotencyStore: store,
      logger: countingLogger(logs, 'runtime '),
      outbox: options.relay === 'cli' ? { relay: false } : true,
      shutdownTimeoutMs: 5_000,
    });
    runtime = rt;

    rt.handle('confirmer.confirm', async (event, ctx) => {
      const { key, n } = event.data as { key: string; n: number };
      await ctx.tx.query(`INSERT INTO ${t.confirmations} (event_id, key, n) VALUES ($1, $2, $3)`, [event.id, key, n]);
      await ctx.publish('Confirmed', { key, n });
    });
    const audit = async (event: { id: string; type: string; data: unknown }, tx: pg.PoolClient) => {
      const { key, n } = event.data as { key: string; n: number };
      await tx.query(`INSERT INTO ${t.effects} (event_id, type, key, n) VALUES ($1, $2, $3, $4)`, [
        event.id,
        event.type,
        key,
        n,
      ]);
    };
    rt.handle('audit.placed', (event, ctx) => audit(event, ctx.tx));
    rt.handle('audit.confirmed', (event, ctx) => audit(event, ctx.tx));
    await rt.start();
    note(`services started (${options.relay === 'cli' ? 'relay in eventform relay processes' : 'relay in process'})`);

    // ---- the producers ---------------------------------------------------------------------
    let committed = 0;
    let producerRetries = 0;
    let ambiguousCommits = 0;
    let nextSlot = Date.now();
    const waiters: { fraction: number; resolve: () => void }[] = [];
    const progress = () => committed / options.total;
    const tick = () => {
      for (let i = waiters.length - 1; i >= 0; i--)
        if (progress() >= waiters[i]!.fraction) waiters.splice(i, 1)[0]!.resolve();
    };
    const keysUsed = Math.min(options.keys, options.total);
    const counts = Array.from(
      { length: keysUsed },
      (_, k) => Math.floor(options.total / keysUsed) + (k < options.total % keysUsed ? 1 : 0),
    );
    const producers = Promise.all(
      counts.map(async (count, k) => {
        const key = `k${k}`;
        for (let n = 0; n < count; n++) {
          const slot = (nextSlot = Math.max(nextSlot + 1000 / options.rate, Date.now()));
          if (slot > Date.now()) await sleep(slot - Date.now());
          for (;;) {
            try {
              await withOutbox(store!, async (tx) => {
                await tx.query(`INSERT INTO ${t.orders} (order_key) VALUES ($1)`, [`${key}/${n}`]);
                await rt.publish('orders', 'Placed', { key, n });
              });
              break;
            } catch (error) {
              if ((error as { code?: string }).code === '23505') {
                ambiguousCommits++; // committed on an earlier try whose reply was lost
                break;
              }
              producerRetries++;
              await sleep(100);
            }
          }
          committed++;
          tick();
        }
      }),
    );

    // ---- the fault, while producing ------------------------------------------------------------
    const ctx: FaultContext = {
      progress,
      at: (fraction) =>
        progress() >= fraction ? Promise.resolve() : new Promise((resolve) => waiters.push({ fraction, resolve })),
      runtime: rt,
      db,
      outboxTable: t.outbox,
      log: note,
      startRelayProcess: () => startRelayProcess(options, t.outbox, children, note),
    };
    await Promise.all([producers.then(() => note(`${options.total} Placed committed`)), options.fault(ctx)]);

    // ---- drain ---------------------------------------------------------------------------------
    const status = setInterval(() => {
      const h = rt.health();
      const handled = h.consumers.map((c) => `${c.id.split('.')[1]} ${c.handled}`).join(', ');
      const outbox = h.outbox ? `; outbox pending ${h.outbox.pending}, lag ${Math.round(h.outbox.lagMs ?? 0)} ms` : '';
      note(`handled: ${handled}${outbox}`);
    }, 10_000);
    status.unref();
    const count = async (sql: string) => Number((await db.query<{ n: string }>(sql)).rows[0]!.n);
    let last = -1;
    let movedAt = Date.now();
    for (;;) {
      const effects = await count(`SELECT count(DISTINCT event_id) AS n FROM ${t.effects}`);
      if (effects >= 2 * options.total) break;
      if (effects > last) [last, movedAt] = [effects, Date.now()];
      if (Date.now() - movedAt > options.stallTimeoutMs) {
        throw new Error(
          `${options.name}: only ${effects} of ${2 * options.total} events took effect, none more in ${options.stallTimeoutMs} ms; ${notes.join('; ')}`,
        );
      }
      await sleep(500);
    }
    clearInterval(status);
    note('every event took effect');
    // Late duplicates (a relay's unmarked batch, a redelivery) would land now: give them time.
    await sleep(2_000);
    await waitUntil(
      async () => (await count(`SELECT count(*) AS n FROM ${t.outbox} WHERE published_at IS NULL`)) === 0,
      15_000,
    );

    // ---- verify ----------------------------------------------------------------------------------
    const rows = await db.query<{ seq: string; event_type: string; event_id: string; key: string; n: number }>(
      `SELECT seq, event_type, event_id, key, convert_from(body, 'UTF8')::json->>'n' AS n FROM ${t.outbox} ORDER BY seq`,
    );
    const byType = (type: string) => rows.rows.filter((r) => r.event_type === type);
    for (const type of ['Placed', 'Confirmed']) {
      const list = byType(type);
      expect(list.length, `${type} rows in the outbox`).toBe(options.total);
      expect(new Set(list.map((r) => `${r.key}/${r.n}`)).size, `distinct ${type} (key, n)`).toBe(options.total);
    }
    const perEvent = async (table: string) =>
      (
        await db.query<{ event_id: string; c: number }>(
          `SELECT event_id, count(*)::int AS c FROM ${table} GROUP BY event_id`,
        )
      ).rows;
    const effects = await perEvent(t.effects);
    const effectCount = new Map(effects.map((e) => [e.event_id, e.c]));
    const lost = rows.rows.filter((r) => !effectCount.has(r.event_id)).length;
    const doubled = effects.filter((e) => e.c > 1).length;
    const confirmations = await perEvent(t.confirmations);
    const placedIds = new Set(byType('Placed').map((r) => r.event_id));
    expect(lost, 'events without an effect (lost)').toBe(0);
    expect(doubled, 'events with more than one effect (doubled)').toBe(0);
    expect(effects.length, 'events with an effect').toBe(2 * options.total);
    expect(confirmations.filter((c) => c.c !== 1).length, 'Placed confirmed more than once').toBe(0);
    expect(confirmations.filter((c) => placedIds.has(c.event_id)).length, 'Placed confirmed').toBe(options.total);

    const seq = new Map(rows.rows.map((r) => [r.event_id, BigInt(r.seq)]));
    const outOfOrder: string[] = [];
    for (const [key, ids] of recorder.arrivals) {
      for (let i = 1; i < ids.length; i++) {
        if (seq.get(ids[i]!)! < seq.get(ids[i - 1]!)!) outOfOrder.push(`${key}: ${ids[i - 1]} before ${ids[i]}`);
      }
    }
    expect(outOfOrder.slice(0, 5), 'events that reached their consumer before an earlier one of their key').toEqual([]);

    const health = rt.health();
    const duplicatesSkipped = health.consumers.reduce((sum, c) => sum + c.duplicates, 0);
    note(
      `verified: ${2 * options.total} events once each, per-key order kept; ${duplicatesSkipped} duplicate deliveries skipped, ` +
        `${producerRetries} producer retries, ${ambiguousCommits} ambiguous commits`,
    );
    return {
      elapsedMs: Date.now() - started,
      duplicatesSkipped,
      producerRetries,
      ambiguousCommits,
      logs,
      health,
      notes,
    };
  } finally {
    for (const child of children) child.kill('SIGKILL');
    await runtime?.stop({ timeoutMs: 5_000 }).catch(() => {});
    for (const table of Object.values(t)) await db.query(`DROP TABLE IF EXISTS ${table}`).catch(() => {});
    await db.end().catch(() => {});
  }
}

async function waitUntil(predicate: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(200);
  }
}

async function startRelayProcess(
  options: FaultRunOptions,
  table: string,
  children: Set<ChildProcess>,
  note: (line: string) => void,
): Promise<RelayProcess> {
  const child = spawn(
    process.execPath,
    [CLI, 'relay', options.topology.file, '--table', table, '--status-interval', '0', '--batch-size', '200'],
    {
      env: { ...process.env, ...options.relayEnv, DATABASE_URL: options.databaseUrl, EVENTFORM_LOG: 'debug' },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  children.add(child);
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      children.delete(child);
      resolve(code);
    }),
  );
  let batchWaiters: (() => void)[] = [];
  let startedResolve!: () => void;
  const started = new Promise<void>((resolve) => (startedResolve = resolve));
  let buffer = '';
  let tail = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop()!;
    for (const line of lines) {
      tail = (tail + line + '\n').slice(-4000);
      if (line.includes('"outbox relay started"')) startedResolve();
      if (line.includes('"outbox batch claimed"')) {
        const waiting = batchWaiters;
        batchWaiters = [];
        for (const w of waiting) w();
      }
    }
  });
  await Promise.race([
    started,
    exited.then((code) => {
      throw new Error(`eventform relay exited with ${code} before starting:\n${tail}`);
    }),
  ]);
  note(`eventform relay started (pid ${child.pid})`);
  return {
    child,
    exited,
    nextBatch: () => new Promise((resolve) => batchWaiters.push(resolve)),
  };
}
