/**
 * The shop saga as a user runs it (`npm start` minus the generate step, which the golden tests
 * cover): a child process that must settle every order as expected, dead-letter the poison message
 * and exit 0 — on the in-memory broker (`npm start`), and on the real RabbitMQ and Kafka
 * (`BROKER=rabbitmq npm start`, `BROKER=kafka npm start`).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { requireRabbitmq } from '../support/brokers.js';
import { requireKafka } from '../support/kafka.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const run = promisify(execFile);
const rabbit = await requireRabbitmq();
const kafka = await requireKafka();

/** Runs the example with `env` and returns what it printed; rejects unless it exits 0. */
async function shop(env: Record<string, string>): Promise<string> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'examples/shop/main.ts'], {
    cwd: root,
    env: { ...process.env, NO_COLOR: '1', ...env },
    timeout: 120_000,
  });
  return stdout;
}

/** What every run must show, whatever the broker. */
function expectSaga(stdout: string, broker: string): void {
  expect(stdout).toContain(`eventform shop saga on the ${broker} broker`);
  expect(stdout).toContain('the saga ended as expected');
  for (const line of [
    /✓ order_1001 .* completed/,
    /✓ order_1002 .* cancelled/,
    /✓ order_1003 .* completed/,
    /✓ order_1004 .* cancelled/,
    /✓ poison message dead-lettered: 1 dead letter/,
  ]) {
    expect(stdout).toMatch(line);
  }
}

describe.skipIf(!rabbit.available)('examples/shop on RabbitMQ', () => {
  it('runs the saga on the real broker and exits 0', async () => {
    expectSaga(await shop({ BROKER: 'rabbitmq', EVENTFORM_RABBITMQ_URL: rabbit.url }), 'rabbitmq');
  }, 150_000);
});

describe.skipIf(!kafka.available)('examples/shop on Kafka', () => {
  it('runs the saga on the real broker and exits 0', async () => {
    expectSaga(await shop({ BROKER: 'kafka', KAFKA_BROKERS: kafka.brokers }), 'kafka');
  }, 150_000);
});

describe('examples/shop on the memory broker', () => {
  it('runs the saga, shows correlation ids and exits 0', async () => {
    const stdout = await shop({ BROKER: 'memory' });
    expectSaga(stdout, 'memory');
    for (const line of [
      /inventory-service\.reserveStock ← memory:\/\/shop\/OrderCreated: invalid-json, 1 attempt/,
      /↻ inventory-service\.reserveStock\s+handler failed; retry scheduled: warehouse API timed out/,
      /✓ inventory-service\.reserveStock\s+handled OrderCreated \(attempt 2\)/,
    ]) {
      expect(stdout).toMatch(line);
    }
    // Every trace line of an order starts with that order's correlation id.
    const corr = /order_1002 .* corr ([0-9a-f]{8})/.exec(stdout)?.[1];
    expect(corr).toBeDefined();
    expect(stdout).toMatch(new RegExp(`^${corr}\\s+payment-service\\.chargePayment\\s+card declined`, 'm'));
    expect(stdout).toMatch(new RegExp(`^${corr}\\s+order-service\\.cancelOrder\\s+cancelling`, 'm'));
  }, 90_000);
});
