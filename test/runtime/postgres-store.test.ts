import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createMemoryTransport, createRuntime } from '@eventform/runtime';
import type { Runtime } from '@eventform/runtime';
import { PostgresIdempotencyStore, type PostgresTx } from '@eventform/postgres';
import { captureLogger, sleep, uniqueTopologyName, waitFor } from '@eventform/runtime/testing';
import { findPostgres, uniqueTable } from './pg-helper.js';
import { topologyFromDocument } from '../../generator/src/spec/index.js';

// Real server only. Locally a missing server skips (with the reason); under CI=true findPostgres throws.
const target = await findPostgres();
if (target.unavailable) console.warn(`[postgres-store.test] skipped: ${target.unavailable}`);

describe.skipIf(target.unavailable !== null)('PostgreSQL idempotency store (real server)', () => {
  const table = uniqueTable('ef_processed');
  const effects = uniqueTable('ef_effects');
  let admin: pg.Pool;
  const stores: PostgresIdempotencyStore[] = [];

  /** A store with its own pool — a separate "instance" of a service. */
  const newStore = async (options: { purgeIntervalMs?: number } = {}) => {
    const store = new PostgresIdempotencyStore({
      poolConfig: { ...target.config, max: 5 },
      table,
      purgeIntervalMs: options.purgeIntervalMs ?? 0,
    });
    stores.push(store);
    await store.init();
    return store;
  };
  const effectRows = async (key: string) =>
    (await admin.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${effects} WHERE key = $1`, [key])).rows[0]!.n;
  const writeEffect = (tx: unknown, key: string, by: string) =>
    (tx as PostgresTx).query(`INSERT INTO ${effects} (key, by_instance) VALUES ($1, $2)`, [key, by]);

  beforeAll(async () => {
    admin = new pg.Pool({ ...target.config, max: 3 });
    await admin.query(
      `CREATE TABLE ${effects} (key text NOT NULL, by_instance text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())`,
    );
  });

  afterAll(async () => {
    await Promise.allSettled(stores.map((s) => s.close()));
    await admin.query(`DROP TABLE IF EXISTS ${table}`);
    await admin.query(`DROP TABLE IF EXISTS ${effects}`);
    await admin.end();
  });

  it('creates its table on init (concurrently, idempotently) with the documented columns', async () => {
    await Promise.all([newStore(), newStore(), newStore()]);
    const columns = await admin.query<{ column_name: string }>(
      `SELECT column_name FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position`,
      [table],
    );
    expect(columns.rows.map((r) => r.column_name)).toEqual(['consumer', 'key', 'processed_at', 'expires_at']);
  });

  it('runs a key once per consumer, with side effects committed through tx', async () => {
    const store = await newStore();
    const key = uniqueTable('k');
    expect(await store.run('shop.a.h', key, 60_000, async (tx) => (await writeEffect(tx, key, 'a'), 'done'))).toEqual({
      duplicate: false,
      value: 'done',
    });
    expect(await store.run('shop.a.h', key, 60_000, async (tx) => writeEffect(tx, key, 'again'))).toEqual({
      duplicate: true,
    });
    expect(await store.run('shop.b.h', key, 60_000, async () => 'other consumer')).toEqual({
      duplicate: false,
      value: 'other consumer',
    });
    expect(await effectRows(key)).toBe('1');
  });

  it('rolls back the mark and the effects when fn throws', async () => {
    const store = await newStore();
    const key = uniqueTable('k');
    await expect(
      store.run('c', key, 60_000, async (tx) => {
        await writeEffect(tx, key, 'failing');
        throw new Error('handler failed');
      }),
    ).rejects.toThrow('handler failed');
    expect(await effectRows(key)).toBe('0');
    expect(await store.run('c', key, 60_000, async (tx) => writeEffect(tx, key, 'retry'))).toMatchObject({
      duplicate: false,
    });
    expect(await effectRows(key)).toBe('1');
  });

  it('treats a transaction aborted by a failed statement as a failure, not a success', async () => {
    const store = await newStore();
    const key = uniqueTable('k');
    await expect(
      store.run('c', key, 60_000, async (tx) => {
        await writeEffect(tx, key, 'lost');
        await (tx as PostgresTx).query('SELECT * FROM no_such_table_anywhere').catch(() => {}); // swallowed by the handler
      }),
    ).rejects.toThrow(/aborted/);
    expect(await effectRows(key)).toBe('0');
    expect(await store.run('c', key, 60_000, async () => 1)).toMatchObject({ duplicate: false });
  });

  it('two instances with the same event at once: the second waits for the first, then sees a duplicate', async () => {
    const [one, two] = await Promise.all([newStore(), newStore()]);
    const key = uniqueTable('k');
    let firstDone = 0;
    const first = one!.run('c', key, 60_000, async (tx) => {
      await writeEffect(tx, key, 'one');
      await sleep(200);
      firstDone = Date.now();
      return 'one';
    });
    await sleep(50); // the first holds the row lock now
    const second = two!.run('c', key, 60_000, async (tx) => writeEffect(tx, key, 'two'));
    const [r1, r2] = await Promise.all([first, second.then((r) => ({ r, at: Date.now() }))]);
    expect(r1).toEqual({ duplicate: false, value: 'one' });
    expect(r2.r).toEqual({ duplicate: true });
    expect(r2.at).toBeGreaterThanOrEqual(firstDone);
    expect(await effectRows(key)).toBe('1');
  });

  it('two instances at once, the first fails: the second runs', async () => {
    const [one, two] = await Promise.all([newStore(), newStore()]);
    const key = uniqueTable('k');
    const first = one!.run('c', key, 60_000, async (tx) => {
      await writeEffect(tx, key, 'one');
      await sleep(150);
      throw new Error('instance one failed');
    });
    await sleep(50);
    const second = two!.run('c', key, 60_000, async (tx) => (await writeEffect(tx, key, 'two'), 'two'));
    await expect(first).rejects.toThrow('instance one failed');
    expect(await second).toEqual({ duplicate: false, value: 'two' });
    const rows = await admin.query(`SELECT by_instance FROM ${effects} WHERE key = $1`, [key]);
    expect(rows.rows).toEqual([{ by_instance: 'two' }]);
  });

  it('a connection killed mid-transaction (process crash) leaves the event unmarked; the redelivery runs it', async () => {
    const [one, two] = await Promise.all([newStore(), newStore()]);
    const key = uniqueTable('k');
    await expect(
      one!.run('c', key, 60_000, async (tx) => {
        await writeEffect(tx, key, 'crashed');
        const { rows } = await (tx as PostgresTx).query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        await admin.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
        await (tx as PostgresTx).query('SELECT 1'); // the dead connection fails here
      }),
    ).rejects.toThrow();
    expect(await effectRows(key)).toBe('0');
    // The first instance's pool recovers: a broken client is discarded, not reused.
    expect(await one!.run('c', uniqueTable('k'), 60_000, async () => 'pool ok')).toEqual({
      duplicate: false,
      value: 'pool ok',
    });
    expect(await two!.run('c', key, 60_000, async (tx) => writeEffect(tx, key, 'redelivered'))).toMatchObject({
      duplicate: false,
    });
    const rows = await admin.query(`SELECT by_instance FROM ${effects} WHERE key = $1`, [key]);
    expect(rows.rows).toEqual([{ by_instance: 'redelivered' }]);
  });

  it('claims a key again once its window has passed', async () => {
    const store = await newStore();
    const key = uniqueTable('k');
    expect(await store.run('c', key, 300, async () => 1)).toMatchObject({ duplicate: false });
    expect(await store.run('c', key, 300, async () => 2)).toEqual({ duplicate: true });
    await sleep(400);
    expect(await store.run('c', key, 300, async () => 3)).toEqual({ duplicate: false, value: 3 });
  });

  it('purges expired rows, on demand and on its timer', async () => {
    const store = await newStore();
    const consumer = uniqueTable('purge');
    await store.run(consumer, 'short-1', 100, async () => 0);
    await store.run(consumer, 'short-2', 100, async () => 0);
    await store.run(consumer, 'long', 3_600_000, async () => 0);
    await sleep(200);
    expect(await store.purgeExpired()).toBeGreaterThanOrEqual(2);
    const left = await admin.query(`SELECT key FROM ${table} WHERE consumer = $1`, [consumer]);
    expect(left.rows).toEqual([{ key: 'long' }]);

    const timed = await newStore({ purgeIntervalMs: 50 });
    await timed.run(consumer, 'short-3', 50, async () => 0);
    await waitFor(
      async () =>
        (await admin.query(`SELECT 1 FROM ${table} WHERE consumer = $1 AND key = 'short-3'`, [consumer])).rowCount ===
        0,
      {
        timeoutMs: 3_000,
        what: 'the cleanup timer',
      },
    );
  });

  it('uses a pool it is given and leaves it open on close()', async () => {
    const pool = new pg.Pool({ ...target.config, max: 2 });
    const store = new PostgresIdempotencyStore({ pool, table, purgeIntervalMs: 0 });
    await store.init();
    expect(await store.run('c', uniqueTable('k'), 60_000, async () => 'shared pool')).toEqual({
      duplicate: false,
      value: 'shared pool',
    });
    await store.close();
    expect((await pool.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
    await store.init(); // usable again after close
    expect(await store.run('c', uniqueTable('k'), 60_000, async () => 'again')).toMatchObject({ duplicate: false });
    await store.close();
    await pool.end();
  });

  it('rejects unsafe table names', () => {
    expect(() => new PostgresIdempotencyStore({ table: 'x; DROP TABLE y' })).toThrow(/Invalid table name/);
    expect(() => new PostgresIdempotencyStore({ table: 'public.ok_name' })).not.toThrow();
  });

  describe('through two runtimes', () => {
    const topology = topologyFromDocument({
      topology: uniqueTopologyName('pgrt'),
      defaults: { retry: { attempts: 3, backoff: 'fixed', delay: '30ms' } },
      events: {
        Paid: {
          key: 'orderId',
          payload: {
            type: 'object',
            required: ['orderId'],
            properties: { orderId: { type: 'string' }, crash: { type: 'boolean' } },
          },
        },
      },
      services: { pay: { produces: ['Paid'] }, mail: { consumes: { send: { event: 'Paid', concurrency: 4 } } } },
    });
    const runtimes: Runtime[] = [];
    afterAll(async () => {
      await Promise.allSettled(runtimes.map((r) => r.stop()));
    });

    const instance = async (
      name: string,
      behaviour: (orderId: string, attempt: number, tx: PostgresTx) => Promise<void>,
    ) => {
      const transport = createMemoryTransport(); // its own broker: each instance receives its own copy
      const store = new PostgresIdempotencyStore({
        poolConfig: { ...target.config, max: 6 },
        table,
        purgeIntervalMs: 0,
      });
      const runtime = createRuntime({ topology, transport, idempotencyStore: store, logger: captureLogger() });
      runtime.handle('mail.send', async (event, ctx) => {
        const { orderId } = event.data as { orderId: string };
        await writeEffect(ctx.tx, orderId, name);
        await behaviour(orderId, ctx.attempt, ctx.tx as PostgresTx);
      });
      await runtime.start();
      runtimes.push(runtime);
      return { runtime, transport };
    };

    it('the same events delivered to both at once take effect exactly once', async () => {
      const a = await instance('a', () => sleep(80));
      const b = await instance('b', () => sleep(80));
      const ids = Array.from({ length: 12 }, (_, i) => ({ id: crypto.randomUUID(), orderId: uniqueTable(`o${i}`) }));
      await Promise.all(
        ids.flatMap(({ id, orderId }) => [
          a.runtime.publish('pay', 'Paid', { orderId }, { id }),
          b.runtime.publish('pay', 'Paid', { orderId }, { id }),
        ]),
      );
      await Promise.all([a.transport.whenIdle(undefined, 20_000), b.transport.whenIdle(undefined, 20_000)]);
      for (const { orderId } of ids) expect(await effectRows(orderId), orderId).toBe('1');
      const stats = [a, b].map((x) => x.runtime.health().consumers[0]!);
      expect(stats[0]!.handled + stats[1]!.handled).toBe(ids.length);
      expect(stats[0]!.duplicates + stats[1]!.duplicates).toBe(ids.length);
    });

    it('a handler whose connection dies mid-transaction is retried, and its effect lands once', async () => {
      const c = await instance('c', async (_orderId, attempt, tx) => {
        if (attempt === 1) {
          await tx.query('SELECT pg_terminate_backend(pg_backend_pid())').catch(() => {});
          throw new Error('connection lost');
        }
      });
      const orderId = uniqueTable('crash');
      await c.runtime.publish('pay', 'Paid', { orderId });
      await c.transport.whenIdle(undefined, 10_000);
      expect(c.runtime.health().consumers[0]).toMatchObject({ handled: 1, retried: 1, deadLettered: 0 });
      expect(await effectRows(orderId)).toBe('1');
    });
  });
});
