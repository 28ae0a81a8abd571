/**
 * The generated code runs: validators compiled at generation time accept every example of the
 * topology and reject broken payloads (with the same verdicts as the runtime's own ajv
 * compilation), load under plain Node ESM without compiling anything, and generated/index.ts
 * works end to end under tsx.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { compileValidators } from '../../runtime/core/validation.js';
import type { ValidateFn } from '../../runtime/core/api.js';
import { goldenCases, loadValid, REPO_ROOT } from './support/cases.js';

const run = promisify(execFile);

async function importValidators(outDir: string): Promise<Record<string, ValidateFn>> {
  const url = pathToFileURL(path.join(REPO_ROOT, outDir, 'validators.js')).href;
  return ((await import(url)) as { validators: Record<string, ValidateFn> }).validators;
}

describe.each(goldenCases())('validators: $name', (c) => {
  it('accept every example, reject broken payloads, agree with runtime-compiled ajv', async () => {
    const ir = loadValid(c.topology);
    const generated = await importValidators(c.out);
    const compiled = compileValidators(ir);
    expect(Object.keys(generated).sort()).toEqual(ir.events.map((e) => e.name).sort());
    let examples = 0;
    for (const event of ir.events) {
      const validate = generated[event.name]!;
      for (const example of event.examples) {
        examples++;
        expect(validate(example), `${event.name} example: ${JSON.stringify(validate.errors)}`).toBe(true);
      }
      const broken: unknown[] = [42, 'text', null, [], { unexpected: { deeply: [1, 2, 3] } }];
      for (const payload of broken) {
        const verdict = validate(payload);
        expect(verdict, `${event.name} on ${JSON.stringify(payload)}`).toBe(compiled[event.name]!(payload));
        if (!verdict) expect(validate.errors?.length, event.name).toBeGreaterThan(0);
      }
      if (event.payload !== true) expect(validate(42), `${event.name} accepted 42`).toBe(false);
    }
    if (c.name === 'root' || c.name === 'ledger' || c.name === 'rides') expect(examples).toBeGreaterThan(0);
  });
});

describe('validators: targeted shop payloads', () => {
  const good = {
    orderId: 'order_888',
    userId: 'user_9527',
    items: [{ sku: 'BOOK-1', quantity: 1 }],
    total: { amount: 199, currency: 'CNY' },
  };
  it.each([
    ['a missing required field', { ...good, total: undefined }, '', 'required'],
    ['a value outside a shared enum', { ...good, total: { amount: 1, currency: 'GBP' } }, '/total/currency', 'enum'],
    ['an empty items array (minItems)', { ...good, items: [] }, '/items', 'minItems'],
    ['a wrong nested type', { ...good, items: [{ sku: 'A', quantity: 'one' }] }, '/items/0/quantity', 'type'],
    ['a quantity below the minimum', { ...good, items: [{ sku: 'A', quantity: 0 }] }, '/items/0/quantity', 'minimum'],
  ])('OrderCreated rejects %s', async (_label, payload, instancePath, keyword) => {
    const { OrderCreated } = await importValidators('generated');
    expect(OrderCreated!(JSON.parse(JSON.stringify(payload)))).toBe(false);
    expect(OrderCreated!.errors).toEqual(expect.arrayContaining([expect.objectContaining({ instancePath, keyword })]));
    expect(OrderCreated!(good)).toBe(true);
  });

  it('ledger formats and oneOf are enforced (date-time, email, discriminated counterparty)', async () => {
    const v = await importValidators('test/fixtures/generator/ledger/generated');
    const transfer = {
      transferId: 't',
      from: { iban: 'DE89370400440532013000' },
      to: { kind: 'internal', account: { iban: 'NL91ABNA0417164300' } },
      amount: { amount: '1.00', currency: 'EUR' },
    };
    expect(v['TransferInitiated']!(transfer)).toBe(true);
    expect(v['TransferInitiated']!({ ...transfer, scheduledFor: 'tomorrow' })).toBe(false);
    expect(v['TransferInitiated']!({ ...transfer, scheduledFor: '2024-05-01T10:00:00Z' })).toBe(true);
    expect(v['TransferInitiated']!({ ...transfer, to: { kind: 'external', name: 'x' } })).toBe(false);
    expect(v['TransferInitiated']!({ ...transfer, extra: 1 })).toBe(false);
    expect(v['CategoryTreeChanged']!({ root: { code: 'a', name: 'A' }, changedBy: 'not-an-email' })).toBe(false);
    expect(v['CategoryTreeChanged']!({ root: { code: 'a', name: 'A', children: [{ code: 'b' }] } })).toBe(false);
  });
});

describe('generated code at run time', () => {
  it('validators.js loads under plain Node ESM (no transpiler, no schema compilation)', async () => {
    const file = pathToFileURL(path.join(REPO_ROOT, 'generated/validators.js')).href;
    const code = `const t = performance.now(); const m = await import(${JSON.stringify(file)}); const ms = performance.now() - t; console.log(JSON.stringify({ ms, events: Object.keys(m.validators), ok: m.validators.PaymentFailed({ orderId: 'o', reason: 'r' }) }));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', code], {
      cwd: REPO_ROOT,
      timeout: 30_000,
    });
    const result = JSON.parse(stdout) as { ms: number; events: string[]; ok: boolean };
    expect(result.ok).toBe(true);
    expect(result.events).toContain('OrderCreated');
    // A generous bound: the point is "no compilation at start-up" (ajv compile of the topology takes far longer).
    expect(result.ms).toBeLessThan(1_000);
    console.info(`generated/validators.js import: ${result.ms.toFixed(1)} ms`);
  });

  it('generated/index.ts imports under tsx and runs a publish → handle round trip', async () => {
    const index = pathToFileURL(path.join(REPO_ROOT, 'generated/index.ts')).href;
    const code = `
      const g = await import(${JSON.stringify(index)});
      const runtime = g.createShopRuntime({ logger: { debug() {}, info() {}, warn() {}, error() {} } });
      const seen = [];
      g.registerOrderService(runtime, { cancelOrder: async (event, ctx) => {
        seen.push(event.type);
        await ctx.publish('OrderCancelled', { orderId: event.data.orderId, reason: event.type });
      } });
      g.registerNotificationService(runtime, { notifyCustomer: async (event) => { seen.push('notify:' + event.type); } });
      await runtime.start();
      const payments = g.createPaymentServiceProducer(runtime);
      const sent = await payments.paymentFailed({ orderId: 'order_1', reason: 'declined' });
      for (let i = 0; i < 100 && seen.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
      let rejected = 'no';
      try { await payments.publish('PaymentFailed', { orderId: 'order_1' }); } catch (err) { rejected = err.name; }
      await runtime.stop();
      console.log(JSON.stringify({ seen, type: sent.type, source: sent.source, rejected, events: Object.keys(g.EventNames).length }));
    `;
    const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      cwd: REPO_ROOT,
      timeout: 60_000,
    });
    const result = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    expect(result).toEqual({
      seen: ['PaymentFailed', 'notify:OrderCancelled'],
      type: 'PaymentFailed',
      source: 'payment-service',
      rejected: 'PublishValidationError',
      events: 6,
    });
  }, 90_000);
});
