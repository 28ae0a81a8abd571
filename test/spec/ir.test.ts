/** The IR of the root topology and of a topology with external schema files. */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTopology } from '../../generator/src/spec/index.js';
import type { TopologyIR } from '../../runtime/core/src/ir.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
/** As a caller would pass it: relative to the working directory. */
const EXTERNAL_DIR = path.relative(process.cwd(), path.join(ROOT, 'test/fixtures/valid/external'));
const EXTERNAL = path.join(EXTERNAL_DIR, 'topology.yaml');

function rootIR(): TopologyIR {
  const { ir, diagnostics } = loadTopology('topology.yaml', {
    text: readFileSync(path.join(ROOT, 'topology.yaml'), 'utf8'),
  });
  expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  expect(ir).not.toBeNull();
  return ir!;
}

describe('IR of the root topology.yaml', () => {
  const ir = rootIR();
  const consumer = (id: string) => ir.consumers.find((c) => c.id === id)!;
  const event = (name: string) => ir.events.find((e) => e.name === name)!;

  it('carries the topology-level settings', () => {
    expect(ir.irVersion).toBe(1);
    expect(ir.name).toBe('shop');
    expect(ir.version).toBe(1);
    expect(ir.sourceFile).toBe('topology.yaml');
    expect(ir.rabbitmq).toEqual({ exchange: 'shop.events', queueType: 'quorum' });
    expect(ir.kafka).toEqual({ partitions: 3, replicationFactor: 3, minInsyncReplicas: 2 });
  });

  it('sorts every collection by name', () => {
    const sorted = (xs: string[]) => [...xs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    expect(ir.events.map((e) => e.name)).toEqual(sorted(ir.events.map((e) => e.name)));
    expect(ir.schemas.map((s) => s.name)).toEqual(['LineItem', 'Money']);
    expect(ir.services.map((s) => s.name)).toEqual([
      'inventory-service',
      'notification-service',
      'order-service',
      'payment-service',
    ]);
    expect(ir.consumers.map((c) => c.id)).toEqual([
      'inventory-service.releaseStock',
      'inventory-service.reserveStock',
      'notification-service.notifyCustomer',
      'order-service.cancelOrder',
      'payment-service.chargePayment',
    ]);
    expect(consumer('notification-service.notifyCustomer').events).toEqual([
      'OrderCancelled',
      'OrderCreated',
      'PaymentCompleted',
    ]);
    expect(ir.services.find((s) => s.name === 'order-service')!.produces).toEqual(['OrderCancelled', 'OrderCreated']);
  });

  it('cross-references producers and consumers', () => {
    expect(event('OrderCreated').producers).toEqual(['order-service']);
    expect(event('OrderCreated').consumers).toEqual([
      'inventory-service.reserveStock',
      'notification-service.notifyCustomer',
    ]);
    expect(event('PaymentFailed').consumers).toEqual(['inventory-service.releaseStock', 'order-service.cancelOrder']);
    expect(ir.services.find((s) => s.name === 'inventory-service')!.consumers).toEqual([
      'inventory-service.releaseStock',
      'inventory-service.reserveStock',
    ]);
  });

  it('rewrites shared-schema refs and lists their closure', () => {
    const e = event('OrderCreated');
    const props = (e.payload as { properties: Record<string, { $ref?: string; items?: { $ref: string } }> }).properties;
    expect(props.total!.$ref).toBe('#/$defs/Money');
    expect(props.items!.items!.$ref).toBe('#/$defs/LineItem');
    expect(e.refs).toEqual(['LineItem', 'Money']);
    expect(event('PaymentFailed').refs).toEqual([]);
    expect(ir.schemas.every((s) => s.origin === 'inline')).toBe(true);
  });

  it('fills event defaults and Kafka/RabbitMQ names', () => {
    const e = event('PaymentCompleted');
    expect(e.version).toBe(1);
    expect(e.compatibility).toBe('backward');
    expect(e.contentMode).toBe('binary');
    expect(e.key).toBe('orderId');
    expect(e.examples).toEqual([]);
    expect(e.rabbitmq).toEqual({ exchange: 'shop.events', routingKey: 'PaymentCompleted' });
    expect(e.kafka).toEqual({
      topic: 'shop.PaymentCompleted',
      partitions: 3,
      replicationFactor: 3,
      configs: { 'min.insync.replicas': '2' },
    });
    expect(event('OrderCreated').examples).toHaveLength(1);
    expect(event('OrderCreated').description).toMatch(/^A customer placed an order/);
  });

  it('inherits defaults and merges consumer overrides field by field', () => {
    const release = consumer('inventory-service.releaseStock');
    expect(release.retry).toEqual({
      attempts: 3,
      backoff: 'exponential',
      delayMs: 200,
      maxDelayMs: 5000,
      jitter: 0,
      delaysMs: [200, 400],
    });
    expect(release.deadLetter).toBe(true);
    expect(release.idempotency).toEqual({ enabled: true, key: null, windowMs: 7 * 86_400_000 });
    expect(release.concurrency).toBe(1);

    const reserve = consumer('inventory-service.reserveStock');
    expect(reserve.retry).toEqual({
      attempts: 5,
      backoff: 'exponential',
      delayMs: 100,
      maxDelayMs: 2000,
      jitter: 0,
      delaysMs: [100, 200, 400, 800],
    });
    expect(reserve.concurrency).toBe(8);

    const charge = consumer('payment-service.chargePayment');
    expect(charge.idempotency).toEqual({ enabled: true, key: 'orderId', windowMs: 30 * 86_400_000 });
  });

  it('derives broker resources per consumer', () => {
    const reserve = consumer('inventory-service.reserveStock');
    expect(reserve.rabbitmq).toEqual({
      queue: 'shop.inventory-service.reserveStock',
      queueType: 'quorum',
      retryQueues: [
        { name: 'shop.inventory-service.reserveStock.retry.100ms', delayMs: 100 },
        { name: 'shop.inventory-service.reserveStock.retry.200ms', delayMs: 200 },
        { name: 'shop.inventory-service.reserveStock.retry.400ms', delayMs: 400 },
        { name: 'shop.inventory-service.reserveStock.retry.800ms', delayMs: 800 },
      ],
      deadLetterQueue: 'shop.inventory-service.reserveStock.dlq',
    });
    expect(reserve.kafka).toEqual({
      groupId: 'shop.inventory-service.reserveStock',
      retryTopic: 'shop.inventory-service.reserveStock.retry',
      deadLetterTopic: 'shop.inventory-service.reserveStock.dlq',
    });
    const notify = consumer('notification-service.notifyCustomer');
    expect(notify.deadLetter).toBe(false);
    expect(notify.rabbitmq.deadLetterQueue).toBeNull();
    expect(notify.kafka.deadLetterTopic).toBeNull();
    expect(notify.kafka.retryTopic).toBe('shop.notification-service.notifyCustomer.retry');
  });

  it('records source locations', () => {
    const text = readFileSync(path.join(ROOT, 'topology.yaml'), 'utf8').split('\n');
    for (const e of ir.events) expect(text[e.loc.line - 1]!.slice(e.loc.col - 1)).toMatch(new RegExp(`^${e.name}:`));
    for (const c of ir.consumers)
      expect(text[c.loc.line - 1]!.slice(c.loc.col - 1)).toMatch(new RegExp(`^${c.handler}:`));
    for (const s of ir.services) expect(text[s.loc.line - 1]!.slice(s.loc.col - 1)).toMatch(new RegExp(`^${s.name}:`));
  });

  it('hashes the source', () => {
    const text = readFileSync(path.join(ROOT, 'topology.yaml'), 'utf8');
    expect(ir.sourceHash).toBe(createHash('sha256').update(text).digest('hex'));
  });

  it('is plain JSON data', () => {
    expect(JSON.parse(JSON.stringify(ir))).toEqual(ir);
  });

  it('matches the snapshot', () => {
    expect(ir).toMatchSnapshot();
  });
});

describe('determinism', () => {
  it('gives identical JSON for the same input, twice', () => {
    const a = JSON.stringify(loadTopology(path.join(ROOT, 'topology.yaml')));
    const b = JSON.stringify(loadTopology(path.join(ROOT, 'topology.yaml')));
    expect(a).toBe(b);
  });

  it('does not depend on the order of declarations', () => {
    const text = readFileSync(path.join(ROOT, 'topology.yaml'), 'utf8');
    // Swap the last two services and two events: same IR apart from locations and hash.
    const services = text.indexOf('  payment-service:');
    const reordered =
      text.slice(0, services) +
      text.slice(text.indexOf('  notification-service:')) +
      text.slice(services, text.indexOf('  notification-service:'));
    const strip = (ir: TopologyIR | null) =>
      JSON.stringify(ir, (k, v) => (k === 'loc' || k === 'sourceHash' ? undefined : v));
    const a = loadTopology('topology.yaml', { text });
    const b = loadTopology('topology.yaml', { text: reordered.endsWith('\n') ? reordered : reordered + '\n' });
    expect(b.ir).not.toBeNull();
    expect(strip(b.ir)).toBe(strip(a.ir));
  });
});

describe('IR with external schema files', () => {
  const { ir, diagnostics } = loadTopology(EXTERNAL);

  it('loads without diagnostics', () => {
    expect(diagnostics).toEqual([]);
    expect(ir).not.toBeNull();
  });

  it('registers each file once, named from its title or file name', () => {
    expect(ir!.schemas.map((s) => [s.name, s.origin])).toEqual([
      ['Customer', 'inline'],
      ['Id', './schemas/id.json'],
      ['Money', './schemas/money.json'],
      ['PostalAddress', './shared/postal-address.schema.yaml'],
      ['Region', './shared/region.yaml'],
    ]);
    const money = ir!.schemas.find((s) => s.name === 'Money')!;
    // `$schema` and `$id` of a standalone file are dropped: they would break embedded refs.
    expect(money.schema).not.toHaveProperty('$schema');
    expect(money.schema).not.toHaveProperty('$id');
    expect(money.loc).toEqual({ file: path.join(EXTERNAL_DIR, 'schemas/money.json'), line: 1, col: 1 });
  });

  it('rewrites refs between files (including cycles) relative to each file', () => {
    const region = ir!.schemas.find((s) => s.name === 'Region')!.schema as {
      properties: Record<string, { $ref: string }>;
    };
    expect(region.properties.parent!.$ref).toBe('#/$defs/Region');
    expect(region.properties.address!.$ref).toBe('#/$defs/PostalAddress');
    const e = ir!.events[0]!;
    expect(e.refs).toEqual(['Customer', 'Id', 'Money', 'PostalAddress', 'Region']);
  });

  it('hashes the topology and every external file in a stable order', () => {
    const dir = path.join(ROOT, 'test/fixtures/valid/external');
    const h = createHash('sha256').update(readFileSync(path.join(dir, 'topology.yaml'), 'utf8'));
    for (const rel of [
      './schemas/id.json',
      './schemas/money.json',
      './shared/postal-address.schema.yaml',
      './shared/region.yaml',
    ]) {
      h.update(`\u0000${rel}\u0000`).update(readFileSync(path.join(dir, rel), 'utf8'));
    }
    expect(ir!.sourceHash).toBe(h.digest('hex'));
  });

  it('applies topology and event overrides', () => {
    const e = ir!.events[0]!;
    expect(e.version).toBe(2);
    expect(e.compatibility).toBe('full');
    expect(e.kafka).toEqual({
      topic: 'ext.InvoiceIssued',
      partitions: 12,
      replicationFactor: 1,
      configs: { 'min.insync.replicas': '1', 'retention.ms': '604800000' },
    });
    expect(ir!.rabbitmq.queueType).toBe('classic');
    const c = ir!.consumers[0]!;
    expect(c.retry).toEqual({
      attempts: 1,
      backoff: 'fixed',
      delayMs: 1000,
      maxDelayMs: 5000,
      jitter: 0,
      delaysMs: [],
    });
    expect(c.rabbitmq).toEqual({
      queue: 'ext.billing.archiveInvoice',
      queueType: 'quorum',
      retryQueues: [],
      deadLetterQueue: 'ext.billing.archiveInvoice.dlq',
    });
    expect(c.kafka.retryTopic).toBeNull();
    expect(c.idempotency.key).toBe('invoiceId');
  });

  it('reads $ref files through options.readFile', () => {
    const read: string[] = [];
    const r = loadTopology(path.resolve(EXTERNAL), {
      readFile: (p) => {
        read.push(path.relative(ROOT, p));
        return readFileSync(p, 'utf8');
      },
    });
    expect(r.ir).not.toBeNull();
    expect(read.sort()).toEqual([
      'test/fixtures/valid/external/schemas/id.json',
      'test/fixtures/valid/external/schemas/money.json',
      'test/fixtures/valid/external/shared/postal-address.schema.yaml',
      'test/fixtures/valid/external/shared/region.yaml',
    ]);
  });
});

describe('content mode', () => {
  const modes = (defaults: string, event: string) =>
    loadTopology('t.yaml', {
      text: `topology: t\n${defaults}events:\n  ThingHappened: { payload: true${event} }\n  ThingDone: { payload: true }\n`,
    }).ir!.events.map((e) => [e.name, e.contentMode]);

  it.each([
    [
      '',
      '',
      [
        ['ThingDone', 'binary'],
        ['ThingHappened', 'binary'],
      ],
    ],
    [
      'defaults: { contentMode: structured }\n',
      '',
      [
        ['ThingDone', 'structured'],
        ['ThingHappened', 'structured'],
      ],
    ],
    [
      '',
      ', contentMode: structured',
      [
        ['ThingDone', 'binary'],
        ['ThingHappened', 'structured'],
      ],
    ],
    [
      'defaults: { contentMode: structured }\n',
      ', contentMode: binary',
      [
        ['ThingDone', 'structured'],
        ['ThingHappened', 'binary'],
      ],
    ],
  ])('defaults %j, event %j', (defaults, event, expected) => {
    expect(modes(defaults, event)).toEqual(expected);
  });
});

describe('retry delays', () => {
  const policy = (retry: string) =>
    loadTopology('t.yaml', {
      text: `topology: t\nevents:\n  ThingHappened: { payload: true }\nservices:\n  s:\n    produces: [ThingHappened]\n    consumes:\n      h: { event: ThingHappened, retry: ${retry} }\n`,
    }).ir!.consumers[0]!;

  it.each([
    ['{ attempts: 5, delay: 1s, maxDelay: 5s }', [1000, 2000, 4000, 5000], ['1s', '2s', '4s', '5s']],
    ['{ attempts: 4, backoff: fixed, delay: 250ms }', [250, 250, 250], ['250ms']],
    ['{ attempts: 6, delay: 1m, maxDelay: 2m }', [60000, 120000, 120000, 120000, 120000], ['1m', '2m']],
    ['false', [], []],
    ['{ attempts: 1 }', [], []],
    ['{ attempts: 2, jitter: 0.2 }', [200], ['200ms']],
  ])('retry %s', (retry, delays, queueSuffixes) => {
    const c = policy(retry);
    expect(c.retry.delaysMs).toEqual(delays);
    expect(c.retry.delaysMs).toHaveLength(c.retry.attempts - 1);
    expect(c.rabbitmq.retryQueues.map((q) => q.name)).toEqual(queueSuffixes.map((s) => `t.s.h.retry.${s}`));
  });
});
