/**
 * The shop saga as a user runs it (`npm start` minus the generate step, which the golden tests
 * cover): a child process on the in-memory broker that must settle every order as expected,
 * dead-letter the poison message and exit 0.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const run = promisify(execFile);

describe('examples/shop on the memory broker', () => {
  it('runs the saga, shows correlation ids and exits 0', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'examples/shop/main.ts'], {
      cwd: root,
      env: { ...process.env, BROKER: 'memory', NO_COLOR: '1' },
      timeout: 60_000,
    });
    expect(stdout).toContain('the saga ended as expected');
    for (const line of [
      /✓ order_1001 .* completed/,
      /✓ order_1002 .* cancelled/,
      /✓ order_1003 .* completed/,
      /✓ order_1004 .* cancelled/,
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
