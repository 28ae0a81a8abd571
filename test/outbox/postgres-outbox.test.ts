/**
 * The PostgreSQL outbox on a real server: the schema, the transactional producer (withOutbox,
 * enlist), handlers publishing through ctx.tx, and the relay — claims that never reorder a key with
 * several relays at once, per-key order through failures, a relay whose session dies, NOTIFY
 * wake-ups, the fallback poll, health and retention. The broker side is a recording memory
 * transport; the fault tests (outbox-fault-*.test.ts) run the same on RabbitMQ and Kafka.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MemoryTransport, createRuntime, decodeDelivery } from '@eventform/runtime';
import type { EventIR, OutgoingMessage, Runtime, TopologyIR } from '@eventform/runtime';
import {
  OutboxRelay,
  PostgresOutbox,
  createOutbox,
  createPostgresStore,
  outboxSchemaSql,
  KeyChains,
  startOutboxRelay,
  withOutbox,
} from '@eventform/postgres';
import { captureLogger, sleep, uniqueTopologyName, waitFor } from '@eventform/runtime/testing';
import { findPostgres, uniqueTable } from '../runtime/pg-helper.js';
import { topologyFromDocument } from '../../generator/src/spec/index.js';

const target = await findPostgres();

function topology(): TopologyIR {
  return topologyFromDocument({
    topology: uniqueTopologyName('pg-outbox'),
    defaults: { retry: { attempts: 3, backoff: 'fixed', delay: '10ms' } },
    events: {
      Placed: {
        key: 'key',
        payload: {
          type: 'object',
          required: ['key', 'n'],
          properties: { key: { type: 'string' }, n: { type: 'integer' } },
        },
      },
      Confirmed: {
        key: 'key',
        payload: {
          type: 'object',
          required: ['key', 'n'],
          properties: { key: { type: 'string' }, n: { type: 'integer' } },
        },
      },
      Pinged: { payload: { type: 'object' } },
    },
    services: {
      shop: { produces: ['Placed', 'Pinged'] },
      confirmer: { produces: ['Confirmed'], consumes: { confirm: { event: 'Placed' } } },
    },
  });
}

interface Sent {
  event: string;
  key: string | undefined;
  n: number;
  id: string;
  message: OutgoingMessage;
}

/** A memory transport that records what it is asked to send, and can be slowed, held or made to fail. */
class TestTransport extends MemoryTransport {
  readonly sent: Sent[] = [];
  attempts = 0;
  delay: () => number = () => 0;
  fail: (sent: Sent) => boolean = () => false;
  gate: Promise<void> | undefined;
  override async publish(event: EventIR, message: OutgoingMessage): Promise<void> {
    this.attempts++;
    const data = JSON.parse(message.body.toString()) as { n?: number };
    const sent: Sent = { event: event.name, key: message.key, n: data.n ?? -1, id: message.headers['id']!, message };
    if (this.gate) await this.gate;
    const ms = this.delay();
    if (ms > 0) await sleep(ms);
    if (this.fail(sent)) throw new Error(`broker refused ${event.name} n=${sent.n}`);
    this.sent.push(sent);
    await super.publish(event, message);
  }
}

/** Per key, the order in which `n` first reached the broker, and how many were sent more than once. */
function perKey(sent: Sent[]): { order: Map<string, number[]>; duplicates: number } {
  const seen = new Set<string>();
  const order = new Map<string, number[]>();
  let duplicates = 0;
  for (const s of sent) {
    if (seen.has(s.id)) {
      duplicates++;
      continue;
    }
    seen.add(s.id);
    const list = order.get(s.key ?? '') ?? [];
    list.push(s.n);
    order.set(s.key ?? '', list);
  }
  return { order, duplicates };
}

const ascending = (list: number[]) => list.every((n, i) => i === 0 || n > list[i - 1]!);

describe.skipIf(target.unavailable !== null)('PostgreSQL outbox (real server)', () => {
  const admin = new pg.Pool({ ...target.config, max: 4 });
  const cleanup: (() => Promise<unknown>)[] = [];
  const tables: string[] = [];
  const newTable = () => {
    const t = uniqueTable('ef_outbox');
    tables.push(t);
    return t;
  };
  const pool = (max = 4) => {
    const p = new pg.Pool({ ...target.config, max });
    p.on('error', () => {});
    cleanup.push(() => p.end());
    return p;
  };
  const rows = (table: string) =>
    admin
      .query<{
        seq: string;
        event_type: string;
        key: string | null;
        claimed_by: number | null;
        attempts: number;
        last_error: string | null;
        published: boolean;
      }>(
        `SELECT seq, event_type, key, claimed_by, attempts, last_error, published_at IS NOT NULL AS published FROM ${table} ORDER BY seq`,
      )
      .then((r) => r.rows);

  /** An outbox with no relay in this process (a writer, as in another service instance). */
  const writer = async (table: string) => {
    const outbox = createOutbox({ pool: pool(), table, logger: captureLogger() });
    await outbox.init();
    cleanup.push(() => outbox.close());
    return outbox;
  };

  /** A relay as in another process: its own pool. */
  const relay = async (ir: TopologyIR, transport: TestTransport, table: string, settings = {}) => {
    const logger = captureLogger();
    const r = await startOutboxRelay({
      topology: ir,
      transport,
      pool: pool(),
      table,
      logger,
      purgeIntervalMs: 0,
      ...settings,
    });
    cleanup.push(() => r.stop());
    return r;
  };

  /** A runtime used only to publish (it builds envelopes, validates, routes into outbox transactions). */
  const producer = (ir: TopologyIR) => {
    const runtime = createRuntime({ topology: ir, transport: new MemoryTransport(), logger: captureLogger() });
    cleanup.push(() => runtime.stop());
    return runtime;
  };

  beforeAll(async () => {
    await admin.query('SELECT 1');
  });

  afterAll(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => {});
    for (const t of tables) await admin.query(`DROP TABLE IF EXISTS ${t}`).catch(() => {});
    await admin.end();
  });

  // ---- schema --------------------------------------------------------------------------------

  it('creates its table on init (concurrently, idempotently); the migration SQL is the same schema', async () => {
    const table = newTable();
    await Promise.all([writer(table), writer(table), writer(table)]);
    const columns = await admin.query<{ column_name: string }>(
      'SELECT column_name FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position',
      [table],
    );
    expect(columns.rows.map((r) => r.column_name)).toEqual([
      'seq',
      'topology',
      'event_type',
      'event_id',
      'key',
      'headers',
      'body',
      'created_at',
      'claimed_by',
      'attempts',
      'last_error',
      'published_at',
    ]);
    // The script a user applies by hand creates the same table, and init() afterwards changes nothing.
    const other = newTable();
    await admin.query(outboxSchemaSql(other));
    const indexes = async (t: string) =>
      (await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_indexes WHERE tablename = $1', [t])).rows[0]!
        .n;
    expect(await indexes(other)).toBe(await indexes(table));
    const outbox = createOutbox({ pool: pool(), table: other, logger: captureLogger() });
    await outbox.init();
    expect(await indexes(other)).toBe(4);
  });

  it('rejects table names that are not plain [schema.]identifiers', () => {
    for (const bad of ['x; DROP TABLE y', 'a.b.c', '1abc', 'a"b', '']) {
      expect(() => createOutbox({ table: bad }), bad).toThrow(RangeError);
      expect(() => outboxSchemaSql(bad), bad).toThrow(RangeError);
    }
  });

  // ---- the transactional producer ------------------------------------------------------------

  it('withOutbox: a commit publishes what a direct publish would have; a rollback publishes nothing', async () => {
    const ir = topology();
    const table = newTable();
    const outbox = await writer(table);
    const runtime = producer(ir);
    const orders = `ef_orders_${randomUUID().slice(0, 8)}`;
    tables.push(orders);
    await admin.query(`CREATE TABLE ${orders} (id text PRIMARY KEY)`);

    const options = { id: randomUUID(), correlationId: 'corr-1', headers: { 'x-tenant': 't1' } };
    const written = await withOutbox(outbox, async (tx) => {
      await tx.query(`INSERT INTO ${orders} (id) VALUES ($1)`, ['o1']);
      return runtime.publish('shop', 'Placed', { key: 'o1', n: 1 }, options);
    });
    await expect(
      withOutbox(outbox, async (tx) => {
        await tx.query(`INSERT INTO ${orders} (id) VALUES ($1)`, ['o2']);
        await runtime.publish('shop', 'Placed', { key: 'o2', n: 2 });
        throw new Error('the business rule says no');
      }),
    ).rejects.toThrow('the business rule says no');
    expect((await admin.query(`SELECT id FROM ${orders}`)).rows).toEqual([{ id: 'o1' }]);
    expect((await rows(table)).map((r) => r.key)).toEqual(['o1']);

    const transport = new TestTransport();
    await relay(ir, transport, table);
    await waitFor(() => transport.sent.length === 1);
    const viaOutbox = transport.sent[0]!.message;

    // The same publish, direct.
    const direct = new TestTransport();
    const directRuntime = createRuntime({ topology: ir, transport: direct, logger: captureLogger() });
    cleanup.push(() => directRuntime.stop());
    await directRuntime.publish('shop', 'Placed', { key: 'o1', n: 1 }, options);
    const sentDirect = direct.sent[0]!.message;
    const { time: _t1, ...headersOutbox } = viaOutbox.headers;
    const { time: _t2, ...headersDirect } = sentDirect.headers;
    expect(headersOutbox).toEqual(headersDirect);
    expect(viaOutbox.body.equals(sentDirect.body)).toBe(true);
    expect(viaOutbox.key).toBe(sentDirect.key);
    expect(decodeDelivery(viaOutbox)).toMatchObject({ id: written.id, correlationId: 'corr-1', key: 'o1' });
  });

  it('enlist: events published inside your own transaction commit or roll back with it', async () => {
    const ir = topology();
    const table = newTable();
    const outbox = await writer(table);
    const runtime = producer(ir);
    const client = await admin.connect();
    try {
      await client.query('BEGIN');
      await outbox.enlist(client, () => runtime.publish('shop', 'Placed', { key: 'k', n: 1 }));
      await client.query('ROLLBACK');
      await client.query('BEGIN');
      await outbox.enlist(client, () => runtime.publish('shop', 'Placed', { key: 'k', n: 2 }));
      expect(await rows(table)).toEqual([]); // not visible before the commit
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    const transport = new TestTransport();
    await relay(ir, transport, table);
    await waitFor(() => transport.sent.length === 1);
    expect(transport.sent.map((s) => s.n)).toEqual([2]);
  });

  // ---- handlers --------------------------------------------------------------------------------

  it('handlers: the follow-up commits with the handler writes and the processed record, or not at all', async () => {
    const ir = topology();
    const table = newTable();
    const processed = uniqueTable('ef_outbox_processed');
    const effects = uniqueTable('ef_outbox_effects');
    tables.push(processed, effects);
    await admin.query(`CREATE TABLE ${effects} (n integer NOT NULL, attempt integer NOT NULL)`);
    const store = createPostgresStore({
      pool: pool(6),
      table: processed,
      outbox: { table },
      purgeIntervalMs: 0,
      logger: captureLogger(),
    });
    const transport = new TestTransport();
    const runtime: Runtime = createRuntime({
      topology: ir,
      transport,
      idempotencyStore: store,
      logger: captureLogger(),
    });
    cleanup.push(() => runtime.stop());
    let seenTx: unknown;
    runtime.handle('confirmer.confirm', async (event, ctx) => {
      const { key, n } = event.data as { key: string; n: number };
      seenTx = ctx.tx;
      await ctx.tx.query(`INSERT INTO ${effects} (n, attempt) VALUES ($1, $2)`, [n, ctx.attempt]);
      await ctx.publish('Confirmed', { key, n });
      if (n === 2 && ctx.attempt === 1) throw new Error('fails after writing and publishing');
    });
    await runtime.start();
    await runtime.publish('shop', 'Placed', { key: 'a', n: 1 });
    await runtime.publish('shop', 'Placed', { key: 'b', n: 2 });
    await waitFor(() => transport.sent.filter((s) => s.event === 'Confirmed').length === 2);
    expect(seenTx).toBeInstanceOf(pg.Client); // a pool client is a pg.Client
    // The failed attempt left nothing: not its effect, not its event.
    expect((await admin.query(`SELECT n, attempt FROM ${effects} ORDER BY n`)).rows).toEqual([
      { n: 1, attempt: 1 },
      { n: 2, attempt: 2 },
    ]);
    await waitFor(async () => (await rows(table)).every((r) => r.published)); // marked a moment after the send
    expect((await rows(table)).map((r) => [r.event_type, r.key, r.published])).toEqual([
      ['Confirmed', 'a', true],
      ['Confirmed', 'b', true],
    ]);
    expect(runtime.health().outbox).toMatchObject({ relay: 'running', published: 2, failures: 0 });
    await runtime.stop();
  });

  // ---- the relay -------------------------------------------------------------------------------

  it('several relays at once: every row once, each key in order, the work shared', async () => {
    const ir = topology();
    const table = newTable();
    const outbox = await writer(table);
    const runtime = producer(ir);
    const transport = new TestTransport();
    // Slow, uneven sends and small batches: a key's next rows come up while its earlier ones are in flight.
    transport.delay = () => Math.floor(Math.random() * 4);
    const relays = await Promise.all([0, 1, 2].map(() => relay(ir, transport, table, { batchSize: 5 })));
    const KEYS = 6;
    const PER_KEY = 60;
    // Writers per key, concurrently: each key's events are committed one after the other.
    await Promise.all(
      Array.from({ length: KEYS }, async (_, k) => {
        for (let n = 0; n < PER_KEY; n++) {
          await outbox.transaction(() => runtime.publish('shop', 'Placed', { key: `k${k}`, n }));
        }
      }),
    );
    await waitFor(() => new Set(transport.sent.map((s) => s.id)).size === KEYS * PER_KEY, { timeoutMs: 30_000 });
    const { order, duplicates } = perKey(transport.sent);
    expect(duplicates).toBe(0);
    for (const [key, list] of order) expect(ascending(list), `order of ${key}: ${list.join(',')}`).toBe(true);
    // Counted once marked, a moment after the send.
    await waitFor(() => relays.reduce((sum, r) => sum + r.health().published, 0) === KEYS * PER_KEY);
    expect(relays.filter((r) => r.health().published > 0).length).toBeGreaterThanOrEqual(2);
    await waitFor(async () => (await rows(table)).every((r) => r.published));
  });

  it('a send that fails: later rows of its key wait, it is retried, attempts and error are recorded', async () => {
    const ir = topology();
    const table = newTable();
    const outbox = await writer(table);
    const runtime = producer(ir);
    const transport = new TestTransport();
    const failedOnce = new Set<string>();
    transport.fail = (s) => s.n % 7 === 3 && !failedOnce.has(s.id) && failedOnce.add(s.id) !== undefined;
    await outbox.transaction(async () => {
      for (let n = 0; n < 60; n++) await runtime.publish('shop', 'Placed', { key: `k${n % 4}`, n });
      await runtime.publish('shop', 'Pinged', {}); // no key: never waits for anything
    });
    const r = await relay(ir, transport, table, { batchSize: 100, retry: { initialDelayMs: 1, maxDelayMs: 5 } });
    await waitFor(() => new Set(transport.sent.map((s) => s.id)).size === 61);
    const { order, duplicates } = perKey(transport.sent);
    expect(duplicates).toBe(0); // a failed send is not a sent one
    for (const [key, list] of order) if (key !== '') expect(ascending(list), `order of ${key}`).toBe(true);
    await waitFor(async () => (await rows(table)).every((row) => row.published));
    const failed = (await rows(table)).filter((row) => row.attempts > 0);
    expect(failed.length).toBe(failedOnce.size);
    expect(failed.every((row) => row.attempts === 1 && /broker refused/.test(row.last_error ?? ''))).toBe(true);
    expect(r.health().failures).toBeGreaterThan(0);
    expect(r.health().relay).toBe('running');
  });

  it('small batches: a claim made while sends are in flight holds later rows of a failing key, is released, and keeps the order', async () => {
    const ir = topology();
    const table = newTable();
    const outbox = await writer(table);
    const runtime = producer(ir);
    const transport = new TestTransport();
    transport.delay = () => 2; // the next claim returns while these rows are still being sent
    const failedOnce = new Set<string>();
    transport.fail = (s) => s.n % 5 === 2 && !failedOnce.has(s.id) && failedOnce.add(s.id) !== undefined;
    await outbox.transaction(async () => {
      for (let n = 0; n < 40; n++) await runtime.publish('shop', 'Placed', { key: `k${n % 2}`, n });
    });
    const r = await relay(ir, transport, table, { batchSize: 4, retry: { initialDelayMs: 1, maxDelayMs: 5 } });
    await waitFor(() => new Set(transport.sent.map((s) => s.id)).size === 40);
    const { order, duplicates } = perKey(transport.sent);
    expect(duplicates).toBe(0);
    expect(order.get('k0')).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34, 36, 38]);
    expect(order.get('k1')).toEqual([1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31, 33, 35, 37, 39]);
    await waitFor(async () => (await rows(table)).every((row) => row.published));
    // Released rows behind a refused one were never tried: only the refused ones count an attempt.
    const tried = (await rows(table)).filter((row) => row.attempts > 0);
    expect(tried.length).toBe(failedOnce.size);
    expect(failedOnce.size).toBe(8);
    await waitFor(() => r.health().published === 40, { what: 'the relay to count 40 published' });
  });

  it('a relay whose session dies mid-batch holds nothing: the next claim by another takes its rows, in order', async () => {
    const ir = topology();
    const table = newTable();
    const outbox = await writer(table);
    const runtime = producer(ir);
    await outbox.transaction(async () => {
      for (let n = 0; n < 10; n++) await runtime.publish('shop', 'Placed', { key: 'k', n });
    });
    const stuck = new TestTransport();
    let open!: () => void;
    stuck.gate = new Promise((r) => (open = r));
    const first = await relay(ir, stuck, table, { pollIntervalMs: 3_600_000 });
    await waitFor(() => stuck.attempts > 0, { what: 'the first relay to send' }); // claimed, not confirmed
    expect((await rows(table)).filter((row) => row.claimed_by !== null)).toHaveLength(10);

    // A second relay cannot take the key while the first is alive...
    const transport = new TestTransport();
    const second = await relay(ir, transport, table, { pollIntervalMs: 3_600_000 });
    await second.flush();
    expect(transport.sent).toEqual([]);

    // ...and takes every row as soon as the first one's session is gone.
    const { rows: sessions } = await admin.query<{ pid: number }>(
      `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2 AND classid = $1::oid AND granted`,
      [(first as unknown as { table: { lockNamespace: number } }).table.lockNamespace],
    );
    expect(sessions).toHaveLength(2);
    const firstPid = (
      await admin.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity WHERE pid = ANY($1::int[]) ORDER BY backend_start LIMIT 1`,
        [sessions.map((s) => s.pid)],
      )
    ).rows[0]!.pid;
    await admin.query('SELECT pg_terminate_backend($1)', [firstPid]);
    await waitFor(async () => (await admin.query('SELECT 1 FROM pg_locks WHERE pid = $1', [firstPid])).rowCount === 0, {
      what: 'the terminated session to be gone',
    });
    second.wake(); // as its next poll (or a commit's wake-up) would
    await waitFor(() => transport.sent.length === 10, { what: 'the second relay to send all 10' });
    expect(transport.sent.map((s) => s.n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    open(); // the first relay's sends complete late: duplicates the inbox absorbs
    await waitFor(async () => (await rows(table)).every((row) => row.published), { what: 'every row marked' });
  });

  it('wakes on NOTIFY after a commit in another process, without polling', async () => {
    const ir = topology();
    const table = newTable();
    const outbox = await writer(table);
    const runtime = producer(ir);
    const transport = new TestTransport();
    const r = await relay(ir, transport, table, { pollIntervalMs: 3_600_000, statsIntervalMs: 3_600_000 });
    await r.flush();
    const connect = vi.spyOn((r as unknown as { pool: pg.Pool }).pool, 'connect');
    await sleep(300); // idle: a tight poll would claim many times here
    expect(connect.mock.calls.length).toBe(0);
    await outbox.transaction(() => runtime.publish('shop', 'Placed', { key: 'k', n: 1 }));
    await waitFor(() => transport.sent.length === 1); // only NOTIFY can have woken it
    expect(connect.mock.calls.length).toBeLessThanOrEqual(3);
  });

  it('finds rows nothing announced on its fallback poll', async () => {
    const ir = topology();
    const table = newTable();
    const outbox = await writer(table);
    const transport = new TestTransport();
    await relay(ir, transport, table, { pollIntervalMs: 100 });
    // Inserted by hand: no NOTIFY, no in-process wake-up.
    const headers = {
      id: randomUUID(),
      source: 'shop',
      type: 'Placed',
      specversion: '1.0',
      time: new Date().toISOString(),
      datacontenttype: 'application/json',
      correlationid: 'c',
      eventversion: '1',
    };
    await admin.query(
      `INSERT INTO ${table} (topology, event_type, event_id, key, headers, body) VALUES ($1, 'Placed', $2, 'k', $3, $4)`,
      [ir.name, headers.id, JSON.stringify(headers), Buffer.from('{"key":"k","n":7}')],
    );
    await waitFor(() => transport.sent.length === 1);
    expect(transport.sent[0]!.n).toBe(7);
    void outbox;
  });

  it('leaves rows of other topologies alone', async () => {
    const mine = topology();
    const theirs = topology();
    const table = newTable();
    const outbox = await writer(table);
    await outbox.transaction(() => producer(theirs).publish('shop', 'Placed', { key: 'k', n: 1 }));
    await outbox.transaction(() => producer(mine).publish('shop', 'Placed', { key: 'k', n: 2 }));
    const transport = new TestTransport();
    const r = await relay(mine, transport, table);
    await r.flush();
    expect(transport.sent.map((s) => s.n)).toEqual([2]);
    expect((await rows(table)).map((row) => row.published)).toEqual([false, true]);
  });

  it('reports pending rows, the oldest age and the lag in health(); purges published rows past the retention', async () => {
    const ir = topology();
    const table = newTable();
    const outbox = await writer(table);
    const runtime = producer(ir);
    const transport = new TestTransport();
    let open!: () => void;
    transport.gate = new Promise((r) => (open = r));
    const r = await relay(ir, transport, table, { statsIntervalMs: 20, retentionMs: 0 });
    await outbox.transaction(async () => {
      for (let n = 0; n < 5; n++) await runtime.publish('shop', 'Placed', { key: `k${n}`, n });
    });
    await waitFor(() => r.health().pending === 5);
    await waitFor(() => (r.health().oldestAgeMs ?? 0) > 0);
    open();
    await waitFor(() => r.health().published === 5);
    await waitFor(() => r.health().pending === 0 && r.health().oldestAgeMs === null);
    expect(r.health().lagMs).toBeGreaterThan(0);
    expect(r.health().measuredAt).not.toBeNull();
    // One more, unpublished (held), survives the purge; the five published rows do not.
    let release!: () => void;
    transport.gate = new Promise((resolve) => (release = resolve));
    await outbox.transaction(() => runtime.publish('shop', 'Placed', { key: 'held', n: 9 }));
    expect(await r.purge()).toBe(5);
    expect((await rows(table)).map((row) => [row.key, row.published])).toEqual([['held', false]]);
    release();
  });

  it('KeyChains: the next task of a key starts once the previous one succeeded; after a failure the rest of that key is skipped', async () => {
    const chains = new KeyChains();
    const log: string[] = [];
    const gates = new Map<string, () => void>();
    /** A task that logs its start, then waits to be settled with `ok` by `settle(name)`. */
    const task = (name: string, ok: boolean) => () => {
      log.push(`start ${name}`);
      return new Promise<boolean>((resolve) => gates.set(name, () => resolve(ok)));
    };
    const settle = async (name: string) => {
      gates.get(name)!();
      await sleep(0);
    };
    const results = [
      chains.after('a', task('a1', true)),
      chains.after('b', task('b1', false)),
      chains.after('a', task('a2', true)),
      chains.after(null, task('x', true)),
      chains.after('b', task('b2', true)),
      chains.after('a', task('a3', true)),
    ];
    // The first of each key and the keyless one at once; nothing behind an unsettled task.
    expect(log).toEqual(['start a1', 'start b1', 'start x']);
    await settle('a1');
    expect(log).toEqual(['start a1', 'start b1', 'start x', 'start a2']);
    await settle('b1'); // refused: b2 never starts
    await settle('a2');
    await settle('x');
    await settle('a3');
    expect(log).toEqual(['start a1', 'start b1', 'start x', 'start a2', 'start a3']);
    expect(await Promise.all(results)).toEqual([true, false, true, true, false, true]);
    expect(chains.size).toBe(0);
    // A task that throws counts as failed.
    const thrown = chains.after('c', () => Promise.reject(new Error('no')));
    const next = chains.after('c', task('c2', true));
    expect(await Promise.all([thrown, next])).toEqual([false, false]);
  });

  it('is an OutboxRelay and the store carries a PostgresOutbox', () => {
    const store = createPostgresStore({ outbox: { table: 'eventform_outbox' } });
    expect(store.outbox).toBeInstanceOf(PostgresOutbox);
    expect(createPostgresStore({ outbox: false }).outbox).toBeUndefined();
    expect(OutboxRelay.name).toBe('OutboxRelay');
  });
});
