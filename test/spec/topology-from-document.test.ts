/**
 * topologyFromDocument: the generator's loader, fed a document object or YAML text. Tests, benches
 * and the conformance suite get every IR through it, so it must be the loader's IR, bit for bit.
 */
import { describe, expect, it } from 'vitest';
import { uniqueTopologyName } from '@eventform/runtime/testing';
import {
  TopologyDocumentError,
  loadTopology,
  topologyFromDocument,
  type TopologyDocument,
} from '../../generator/src/spec/index.js';

const shop: TopologyDocument = {
  topology: 'shop',
  schemas: {
    Money: { type: 'object', properties: { currency: { $ref: '#/schemas/Currency' } } },
    Currency: { type: 'string' },
  },
  events: {
    OrderCreated: {
      key: 'orderId',
      payload: {
        type: 'object',
        required: ['orderId'],
        properties: { orderId: { type: 'string' }, total: { $ref: '#/schemas/Money' } },
      },
    },
    OrderCancelled: { payload: { type: 'object', required: ['orderId'], properties: { orderId: { type: 'string' } } } },
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
};

const SHOP_YAML = `topology: shop
schemas:
  Money: { type: object, properties: { currency: { $ref: '#/schemas/Currency' } } }
  Currency: { type: string }
events:
  OrderCreated:
    key: orderId
    payload: { type: object, required: [orderId], properties: { orderId: { type: string }, total: { $ref: '#/schemas/Money' } } }
  OrderCancelled: { payload: { type: object, required: [orderId], properties: { orderId: { type: string } } } }
services:
  order-service: { produces: [OrderCreated, OrderCancelled] }
  inventory-service:
    consumes:
      reserveStock: { event: OrderCreated, retry: { attempts: 5, backoff: exponential, delay: 100ms, maxDelay: 300ms }, concurrency: 8 }
      audit: { event: [OrderCreated, OrderCancelled], deadLetter: false, idempotency: { key: orderId, window: 30d } }
`;

/** The IR without what depends on the spelling of the source (positions, file, hash). */
function semantic(ir: unknown): unknown {
  return JSON.parse(JSON.stringify(ir), (key, value: unknown) =>
    key === 'loc' || key === 'sourceFile' || key === 'sourceHash' ? undefined : value,
  );
}

describe('topologyFromDocument', () => {
  it("is the loader's IR: the document and the same topology as a YAML file agree", () => {
    const fromYaml = loadTopology('shop.yaml', { text: SHOP_YAML });
    expect(fromYaml.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(semantic(topologyFromDocument(shop))).toEqual(semantic(fromYaml.ir));
    expect(topologyFromDocument(SHOP_YAML, { file: 'shop.yaml' })).toEqual(fromYaml.ir);
  });

  it('builds a sorted, defaulted IR with the documented broker names', () => {
    const t = topologyFromDocument(shop);
    expect(t.sourceFile).toBe('<document>.yaml');
    expect(t.events.map((e) => e.name)).toEqual(['OrderCancelled', 'OrderCreated']);
    expect(t.consumers.map((c) => c.id)).toEqual(['inventory-service.audit', 'inventory-service.reserveStock']);
    expect(t.events[1]).toMatchObject({
      refs: ['Currency', 'Money'],
      rabbitmq: { exchange: 'shop.events', routingKey: 'OrderCreated' },
      kafka: { topic: 'shop.OrderCreated', partitions: 3 },
    });
    const reserve = t.consumers[1]!;
    expect(reserve.retry.delaysMs).toEqual([100, 200, 300, 300]);
    expect(reserve.rabbitmq.retryQueues.map((q) => q.name)).toEqual([
      'shop.inventory-service.reserveStock.retry.100ms',
      'shop.inventory-service.reserveStock.retry.200ms',
      'shop.inventory-service.reserveStock.retry.300ms',
    ]);
    expect(t.consumers[0]).toMatchObject({
      deadLetter: false,
      idempotency: { enabled: true, key: 'orderId', windowMs: 30 * 86_400_000 },
      rabbitmq: { deadLetterQueue: null },
    });
  });

  it.each([
    ['an unknown consumed event', { s: { consumes: { h: { event: 'Nope' } } } }, /EF\d{4}.*Nope/],
    ['a bare-number duration', { s: { consumes: { h: { event: 'ThingDone', retry: { delay: 100 } } } } }, /EF\d{4}/],
    ['a fractional duration', { s: { consumes: { h: { event: 'ThingDone', retry: { delay: '1.5s' } } } } }, /EF\d{4}/],
  ])('refuses %s with the diagnostics, formatted', (_name, services, message) => {
    const document = { topology: 'bad', events: { ThingDone: { payload: { type: 'object' } } }, services };
    expect(() => topologyFromDocument(document)).toThrow(TopologyDocumentError);
    expect(() => topologyFromDocument(document)).toThrow(message);
  });

  it('makes unique topology names', () => {
    expect(uniqueTopologyName('conf')).toMatch(/^conf-[0-9a-f]{8}$/);
    expect(uniqueTopologyName()).not.toBe(uniqueTopologyName());
  });
});
