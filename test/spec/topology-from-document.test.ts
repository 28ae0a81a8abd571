import { describe, expect, it } from 'vitest';
import { buildTopology, formatDuration, parseDuration, uniqueTopologyName } from '@eventform/runtime/testing';

describe('topology builder', () => {
  it.each([
    ['250ms', 250],
    ['5s', 5_000],
    ['1m', 60_000],
    ['2h', 7_200_000],
    ['7d', 604_800_000],
    ['1.5s', 1_500],
    [42, 42],
  ])('parseDuration(%j) = %i', (input, ms) => expect(parseDuration(input)).toBe(ms));

  it.each([
    [250, '250ms'],
    [1_000, '1s'],
    [1_500, '1500ms'],
    [120_000, '2m'],
    [7_200_000, '2h'],
    [86_400_000, '1d'],
  ])('formatDuration(%i) = %s', (ms, text) => expect(formatDuration(ms)).toBe(text));

  it.each(['5', '5 sec', '-1s', ''])('parseDuration rejects %j', (input) =>
    expect(() => parseDuration(input)).toThrow(RangeError),
  );

  it('builds a sorted, defaulted IR with the documented broker names', () => {
    const t = buildTopology({
      name: 'shop',
      schemas: {
        Money: { type: 'object', properties: { currency: { $ref: '#/schemas/Currency' } } },
        Currency: { type: 'string' },
      },
      events: {
        OrderCreated: {
          key: 'orderId',
          payload: { type: 'object', properties: { orderId: { type: 'string' }, total: { $ref: '#/schemas/Money' } } },
        },
        OrderCancelled: { payload: { type: 'object' } },
      },
      services: {
        'order-service': { produces: ['OrderCreated', 'OrderCancelled'] },
        'inventory-service': {
          consumes: {
            reserveStock: {
              event: 'OrderCreated',
              retry: { attempts: 5, backoff: 'exponential', delay: '100ms', maxDelay: '300ms' },
              concurrency: 8,
            },
            audit: {
              event: ['OrderCreated', 'OrderCancelled'],
              deadLetter: false,
              idempotency: { key: 'orderId', window: '30d' },
            },
          },
        },
      },
    });
    expect(t.events.map((e) => e.name)).toEqual(['OrderCancelled', 'OrderCreated']);
    expect(t.services.map((s) => s.name)).toEqual(['inventory-service', 'order-service']);
    expect(t.consumers.map((c) => c.id)).toEqual(['inventory-service.audit', 'inventory-service.reserveStock']);
    const created = t.events[1]!;
    expect(created).toMatchObject({
      key: 'orderId',
      refs: ['Currency', 'Money'],
      producers: ['order-service'],
      consumers: ['inventory-service.audit', 'inventory-service.reserveStock'],
      rabbitmq: { exchange: 'shop.events', routingKey: 'OrderCreated' },
      kafka: { topic: 'shop.OrderCreated', partitions: 3 },
    });
    expect(JSON.stringify(created.payload)).toContain('#/$defs/Money');
    expect(JSON.stringify(t.schemas)).toContain('#/$defs/Currency');
    const reserve = t.consumers[1]!;
    expect(reserve.retry).toEqual({
      attempts: 5,
      backoff: 'exponential',
      delayMs: 100,
      maxDelayMs: 300,
      jitter: 0,
      delaysMs: [100, 200, 300, 300],
    });
    expect(reserve.rabbitmq).toEqual({
      queue: 'shop.inventory-service.reserveStock',
      queueType: 'quorum',
      retryQueues: [
        { name: 'shop.inventory-service.reserveStock.retry.100ms', delayMs: 100 },
        { name: 'shop.inventory-service.reserveStock.retry.200ms', delayMs: 200 },
        { name: 'shop.inventory-service.reserveStock.retry.300ms', delayMs: 300 },
      ],
      deadLetterQueue: 'shop.inventory-service.reserveStock.dlq',
    });
    expect(reserve.kafka).toEqual({
      groupId: 'shop.inventory-service.reserveStock',
      retryTopic: 'shop.inventory-service.reserveStock.retry',
      deadLetterTopic: 'shop.inventory-service.reserveStock.dlq',
    });
    const audit = t.consumers[0]!;
    expect(audit).toMatchObject({
      deadLetter: false,
      idempotency: { enabled: true, key: 'orderId', windowMs: 30 * 86_400_000 },
      concurrency: 1,
    });
    expect(audit.rabbitmq.deadLetterQueue).toBeNull();
    expect(JSON.parse(JSON.stringify(t))).toEqual(t); // plain data
  });

  it('is deterministic for the same spec', () => {
    const spec = { name: 'same', events: { A: { payload: true } }, services: { s: { produces: ['A'] } } };
    expect(buildTopology(spec)).toEqual(buildTopology(spec));
  });

  it.each([
    ['unknown consumed event', { s: { consumes: { h: { event: 'Nope' } } } }, /unknown event "Nope"/],
    ['unknown produced event', { s: { produces: ['Nope'] } }, /unknown event "Nope"/],
  ])('rejects an %s', (_name, services, message) => {
    expect(() => buildTopology({ name: 'bad', events: { A: { payload: true } }, services })).toThrow(message);
  });

  it('rejects unknown schema references and bad names', () => {
    expect(() =>
      buildTopology({ name: 'bad', events: { A: { payload: { $ref: '#/schemas/Missing' } } }, services: {} }),
    ).toThrow(/unknown schema "Missing"/);
    expect(() => buildTopology({ name: 'Bad Name', events: {}, services: {} })).toThrow(/kebab-case/);
  });

  it('makes unique names', () => {
    expect(uniqueTopologyName('conf')).toMatch(/^conf-[0-9a-f]{8}$/);
    expect(uniqueTopologyName()).not.toBe(uniqueTopologyName());
  });
});
