/**
 * The generated code runs: validators compiled at generation time accept every example of the
 * topology and reject broken payloads (with the same verdicts as the runtime's own ajv
 * compilation); generated/ compiles with tsc under the strictest flags and runs end to end under
 * plain Node, on the built packages.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileValidators } from '../../runtime/core/src/validation.js';
import type { ValidateFn } from '../../runtime/core/src/api.js';
import { goldenCases, loadValid, REPO_ROOT } from './support/cases.js';
import { compileTo } from './support/tsc.js';

const run = promisify(execFile);

async function importValidators(outDir: string): Promise<Record<string, ValidateFn>> {
  const url = pathToFileURL(path.join(REPO_ROOT, outDir, 'validators.ts')).href;
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
  let built: string;
  beforeAll(() => {
    // generated/ compiled as a user's own tsc build would (strictest flags, NodeNext, ESM), into a
    // folder inside the repository so `@eventform/runtime` resolves to the built package.
    built = path.join(REPO_ROOT, 'test/.tmp', `generated-build-${randomBytes(4).toString('hex')}`);
    const errors = compileTo(path.join(REPO_ROOT, 'generated'), built);
    expect(errors).toEqual([]);
    fs.writeFileSync(path.join(built, 'package.json'), JSON.stringify({ type: 'module' }));
  });
  afterAll(() => fs.rmSync(built, { recursive: true, force: true }));

  it('compiles with tsc, without allowJs or a copy step, into a folder plain Node runs', () => {
    expect(fs.readdirSync(built).sort()).toEqual(
      ['handlers.js', 'index.js', 'package.json', 'producers.js', 'topology.js', 'types.js', 'validators.js']
        .concat(['handlers', 'index', 'producers', 'topology', 'types', 'validators'].map((f) => `${f}.d.ts`))
        .sort(),
    );
  });

  it('validators load under plain Node and validate', async () => {
    const file = pathToFileURL(path.join(built, 'validators.js')).href;
    const code = `const m = await import(${JSON.stringify(file)}); console.log(JSON.stringify({ events: Object.keys(m.validators), ok: m.validators.PaymentFailed({ orderId: 'o', reason: 'r' }), bad: m.validators.OrderCreated({ orderId: 'o' }) }));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', code], {
      cwd: REPO_ROOT,
      timeout: 30_000,
    });
    const result = JSON.parse(stdout) as { events: string[]; ok: boolean; bad: boolean };
    expect(result).toMatchObject({ ok: true, bad: false });
    expect(result.events).toContain('OrderCreated');
  });

  it('the compiled index runs a publish → handle round trip under plain Node', async () => {
    const index = pathToFileURL(path.join(built, 'index.js')).href;
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
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', code], {
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
