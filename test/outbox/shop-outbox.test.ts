/**
 * The shop saga with PostgreSQL configured (DATABASE_URL): order-service writes each order row and
 * its OrderCreated in one transaction, every handler publishes through the outbox, and the saga ends
 * as it does in memory — on the memory broker and on the real RabbitMQ and Kafka. (Without
 * DATABASE_URL the same example runs in memory: test/examples/shop.test.ts.)
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { requireRabbitmq } from '../support/brokers.js';
import { requireKafka } from '../support/kafka.js';
import { findPostgres } from '../runtime/pg-helper.js';

const root = path.resolve(import.meta.dirname, '../..');
const run = promisify(execFile);
const pgTarget = await findPostgres();
const rabbit = await requireRabbitmq();
const kafka = await requireKafka();
const c = pgTarget.config;
// A database of its own would be cleaner, but `test` is what CI provides; the example resets its own orders.
const databaseUrl = `postgres://${c.user}@${c.host}:${c.port}/${c.database}`;

async function shop(env: Record<string, string>): Promise<string> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'examples/shop/main.ts'], {
    cwd: root,
    env: { ...process.env, NO_COLOR: '1', DATABASE_URL: databaseUrl, ...env },
    timeout: 120_000,
  });
  return stdout;
}

function expectSaga(stdout: string, broker: string): void {
  expect(stdout).toContain(`eventform shop saga on the ${broker} broker`);
  expect(stdout).toContain('PostgreSQL store and outbox');
  expect(stdout).toMatch(/✓ 4 order row\(s\) committed with their OrderCreated; the outbox relay published \d+ event/);
  // With a database each run suffixes the order ids: the stores remember processed orders.
  for (const line of [
    /✓ order_1001-\w+ .* completed/,
    /✓ order_1002-\w+ .* cancelled/,
    /✓ order_1003-\w+ .* completed/,
    /✓ order_1004-\w+ .* cancelled/,
  ]) {
    expect(stdout).toMatch(line);
  }
  expect(stdout).toContain('the saga ended as expected');
}

describe.skipIf(pgTarget.unavailable !== null)('examples/shop with PostgreSQL (DATABASE_URL)', () => {
  const admin = new pg.Pool({ ...c, max: 1 });
  afterAll(() => admin.end());

  it('on the memory broker: order rows and OrderCreated committed together, published by the relay', async () => {
    const stdout = await shop({ BROKER: 'memory' });
    expectSaga(stdout, 'memory');
    const run = /order_1001-(\w+)/.exec(stdout)![1]!;
    const ids = [1, 2, 3, 4].map((i) => `order_100${i}-${run}`);
    const { rows } = await admin.query<{ order_id: string }>(
      'SELECT order_id FROM shop_orders WHERE order_id = ANY($1::text[]) ORDER BY order_id',
      [ids],
    );
    expect(rows.map((r) => r.order_id)).toEqual(ids);
    // Each order's OrderCreated went through the outbox (in the order row's transaction) and was published.
    const created = await admin.query<{ key: string; published: boolean }>(
      `SELECT key, published_at IS NOT NULL AS published FROM eventform_outbox
       WHERE topology = 'shop' AND event_type = 'OrderCreated' AND key = ANY($1::text[]) ORDER BY key`,
      [ids],
    );
    expect(created.rows).toEqual(ids.map((key) => ({ key, published: true })));
  }, 90_000);

  it.skipIf(!rabbit.available)(
    'on RabbitMQ',
    async () => {
      expectSaga(await shop({ BROKER: 'rabbitmq', EVENTFORM_RABBITMQ_URL: rabbit.url }), 'rabbitmq');
    },
    150_000,
  );

  it.skipIf(!kafka.available)(
    'on Kafka',
    async () => {
      expectSaga(await shop({ BROKER: 'kafka', KAFKA_BROKERS: kafka.brokers }), 'kafka');
    },
    150_000,
  );
});
