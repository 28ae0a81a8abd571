/**
 * The test harness and `ctx.tx`: with the default in-memory store handlers get the labelled
 * stand-in (so a scaffolded contract test of a handler written for PostgreSQL passes without a
 * database); with a PostgreSQL store they get real transactions, and `deliver` waits for the
 * outbox relay to publish what they committed.
 */
import pg from 'pg';
import { afterAll, describe, expect, expectTypeOf, it } from 'vitest';
import { TransactionUnavailableError } from '@eventform/runtime';
import { createPostgresStore, type PostgresTx } from '@eventform/postgres';
import { STAND_IN_LABEL, StandInTransaction, createTestHarness, uniqueTopologyName } from '@eventform/runtime/testing';
import {
  registerInventoryService,
  topology as shopTopology,
  validators as shopValidators,
  type InventoryServiceHandlers,
} from '../../generated/index.js';
import { findPostgres, uniqueTable } from '../runtime/pg-helper.js';
import { topologyFromDocument } from '../../generator/src/spec/index.js';

const pgTarget = await findPostgres();

function topology() {
  return topologyFromDocument({
    topology: uniqueTopologyName('harness-outbox'),
    defaults: { retry: { attempts: 2, backoff: 'fixed', delay: '5ms' } },
    events: {
      Placed: { key: 'id', payload: { type: 'object', required: ['id'], properties: { id: { type: 'string' } } } },
      Confirmed: { key: 'id', payload: { type: 'object', required: ['id'], properties: { id: { type: 'string' } } } },
    },
    services: {
      shop: { produces: ['Placed'] },
      confirmer: { produces: ['Confirmed'], consumes: { confirm: { event: 'Placed' } } },
    },
  });
}

describe('ctx.tx in the test harness', () => {
  it('is typed as the pg client once @eventform/postgres is imported', () => {
    const harness = createTestHarness({ topology: topology() });
    harness.handle('confirmer.confirm', async (_e, ctx) => {
      expectTypeOf(ctx.tx).toEqualTypeOf<PostgresTx>();
    });
  });

  it('is a labelled in-memory stand-in that records statements, with the commit or rollback', async () => {
    const harness = createTestHarness({ topology: topology() });
    harness.handle('confirmer.confirm', async (event, ctx) => {
      const id = (event.data as { id: string }).id;
      const { rows } = await ctx.tx.query('SELECT stock FROM items WHERE id = $1', [id]);
      expect(rows).toEqual([]);
      await ctx.tx.query({ text: 'INSERT INTO confirmations (id) VALUES ($1)', values: [id] });
      if (ctx.attempt === 1) throw new Error('first attempt fails after writing');
      await ctx.publish('Confirmed', { id });
    });
    await harness.deliver('Placed', { id: 'p1' });
    expect(harness.published.map((e) => e.type)).toEqual(['Confirmed']);
    expect(harness.transactions.map((t) => t.outcome)).toEqual(['rolled-back', 'committed']);
    const tx = harness.transactions[1]!;
    expect(tx).toBeInstanceOf(StandInTransaction);
    expect(tx.consumer).toMatch(/confirmer\.confirm$/);
    expect(String(tx)).toContain(STAND_IN_LABEL);
    expect(tx.statements).toEqual([
      { text: 'SELECT stock FROM items WHERE id = $1', values: ['p1'] },
      { text: 'INSERT INTO confirmations (id) VALUES ($1)', values: ['p1'] },
    ]);
    expect(harness.logs.some((l) => l.message.includes(STAND_IN_LABEL))).toBe(true);
    await harness.stop();
  });

  it('answers with the rows `respond` gives', async () => {
    const harness = createTestHarness({
      topology: topology(),
      transaction: { respond: (s) => (s.text.startsWith('SELECT') ? [{ stock: 3 }] : undefined) },
    });
    let seen: unknown;
    harness.handle('confirmer.confirm', async (_e, ctx) => {
      seen = (await ctx.tx.query('SELECT stock FROM items')).rows;
    });
    await harness.deliver('Placed', { id: 'p2' });
    expect(seen).toEqual([{ stock: 3 }]);
    await harness.stop();
  });

  it('with transaction: false, reading ctx.tx fails as it does on the memory store in production', async () => {
    const harness = createTestHarness({ topology: topology(), transaction: false });
    let error: unknown;
    harness.handle('confirmer.confirm', async (_e, ctx) => {
      try {
        void ctx.tx;
      } catch (e) {
        error = e;
      }
    });
    await harness.deliver('Placed', { id: 'p3' });
    expect(error).toBeInstanceOf(TransactionUnavailableError);
    expect(harness.transactions).toEqual([]);
    await harness.stop();
  });

  it('lets a scaffolded contract test pass for a handler that writes through ctx.tx', async () => {
    // What `eventform scaffold` writes, for the shop's inventory-service with a handler using ctx.tx.
    const handlers: InventoryServiceHandlers = {
      async reserveStock(event, ctx) {
        for (const item of event.data.items) {
          await ctx.tx.query('UPDATE stock SET held = held + $2 WHERE sku = $1', [item.sku, item.quantity]);
        }
        await ctx.publish('InventoryReserved', {
          orderId: event.data.orderId,
          userId: event.data.userId,
          total: event.data.total,
        });
      },
      async releaseStock(event, ctx) {
        await ctx.tx.query('DELETE FROM holds WHERE order_id = $1', [event.data.orderId]);
      },
    };
    const consumer = shopTopology.consumers.find((c) => c.id === 'inventory-service.reserveStock')!;
    const examples = shopTopology.events.find((e) => e.name === 'OrderCreated')!.examples;
    expect(examples.length).toBeGreaterThan(0);
    for (const example of examples) {
      const harness = createTestHarness({ topology: shopTopology, validators: shopValidators });
      registerInventoryService(harness.runtime, handlers);
      await harness.deliver('OrderCreated', example, { consumer: consumer.id });
      expect(harness.runtime.health().consumers.find((c) => c.id === consumer.id)?.handled).toBe(1);
      expect(harness.deadLetters).toEqual([]);
      expect(harness.published.map((e) => e.type)).toEqual(['InventoryReserved']);
      await harness.stop();
    }
  });
});

describe.skipIf(pgTarget.unavailable !== null)('the test harness with a PostgreSQL store', () => {
  const table = uniqueTable('ef_harness_outbox');
  const processed = uniqueTable('ef_harness_processed');
  const admin = new pg.Pool({ ...pgTarget.config, max: 2 });

  afterAll(async () => {
    await admin.query(`DROP TABLE IF EXISTS ${table}, ${processed}`);
    await admin.end();
  });

  it('gives handlers a real transaction and waits for the relay to publish what they committed', async () => {
    const store = createPostgresStore({
      poolConfig: { ...pgTarget.config, max: 4 },
      table: processed,
      outbox: { table },
      purgeIntervalMs: 0,
    });
    const harness = createTestHarness({ topology: topology(), idempotencyStore: store });
    harness.handle('confirmer.confirm', async (event, ctx) => {
      const { rows } = await ctx.tx.query<{ one: number }>('SELECT 1 AS one');
      expect(rows).toEqual([{ one: 1 }]);
      await ctx.publish('Confirmed', { id: (event.data as { id: string }).id });
    });
    await harness.deliver('Placed', { id: 'p4' });
    // Published by the relay after the commit, not by the handler: the row is in the outbox table.
    expect(harness.published.map((e) => e.type)).toEqual(['Confirmed']);
    const rows = await admin.query(`SELECT event_type, published_at IS NOT NULL AS published FROM ${table}`);
    expect(rows.rows).toEqual([{ event_type: 'Confirmed', published: true }]);
    expect(harness.transactions).toEqual([]);
    await harness.stop();
  });
});
