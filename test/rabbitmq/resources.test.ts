/** rabbitmqResources: the pure topology → RabbitMQ layout function. */
import { describe, expect, it } from 'vitest';
import { consumerQueues, rabbitmqResources, retryTierFor } from '../../runtime/rabbitmq/src/resources.js';
import { loadTopology } from '../../generator/src/spec/index.js';
import { buildTopology } from './fixtures.js';

const ir = buildTopology(
  {
    name: 'shop',
    events: [{ name: 'OrderCreated' }, { name: 'PaymentFailed' }, { name: 'Unconsumed' }],
    consumers: [
      {
        service: 'inventory',
        handler: 'reserve',
        events: ['OrderCreated'],
        attempts: 5,
        delayMs: 100,
        maxDelayMs: 300,
      },
      { service: 'order', handler: 'cancel', events: ['PaymentFailed', 'OrderCreated'], attempts: 1 },
      {
        service: 'mail',
        handler: 'notify',
        events: ['OrderCreated'],
        deadLetter: false,
        queueType: 'classic',
        attempts: 2,
      },
    ],
  },
  { unique: false },
);

describe('rabbitmqResources', () => {
  it('lays out one exchange, per-consumer queues, retry tiers and DLQs', () => {
    expect(rabbitmqResources(ir)).toEqual({
      exchanges: [{ name: 'shop.events', type: 'topic', durable: true, arguments: {} }],
      queues: [
        {
          name: 'shop.inventory.reserve',
          role: 'main',
          consumer: 'inventory.reserve',
          queueType: 'quorum',
          durable: true,
          arguments: { 'x-queue-type': 'quorum' },
        },
        {
          name: 'shop.inventory.reserve.dlq',
          role: 'dead-letter',
          consumer: 'inventory.reserve',
          queueType: 'quorum',
          durable: true,
          arguments: { 'x-queue-type': 'quorum' },
        },
        ...[100, 200, 300].map((delayMs) => ({
          name: `shop.inventory.reserve.retry.${delayMs}ms`,
          role: 'retry',
          consumer: 'inventory.reserve',
          queueType: 'quorum',
          durable: true,
          delayMs,
          arguments: {
            'x-dead-letter-exchange': '',
            'x-dead-letter-routing-key': 'shop.inventory.reserve',
            'x-dead-letter-strategy': 'at-least-once',
            'x-message-ttl': delayMs,
            'x-overflow': 'reject-publish',
            'x-queue-type': 'quorum',
          },
        })),
        {
          name: 'shop.mail.notify',
          role: 'main',
          consumer: 'mail.notify',
          queueType: 'classic',
          durable: true,
          arguments: { 'x-queue-type': 'classic' },
        },
        {
          name: 'shop.mail.notify.retry.200ms',
          role: 'retry',
          consumer: 'mail.notify',
          queueType: 'classic',
          durable: true,
          delayMs: 200,
          // Classic queues dead-letter at most once; no strategy argument.
          arguments: {
            'x-dead-letter-exchange': '',
            'x-dead-letter-routing-key': 'shop.mail.notify',
            'x-message-ttl': 200,
            'x-queue-type': 'classic',
          },
        },
        {
          name: 'shop.order.cancel',
          role: 'main',
          consumer: 'order.cancel',
          queueType: 'quorum',
          durable: true,
          arguments: { 'x-queue-type': 'quorum' },
        },
        {
          name: 'shop.order.cancel.dlq',
          role: 'dead-letter',
          consumer: 'order.cancel',
          queueType: 'quorum',
          durable: true,
          arguments: { 'x-queue-type': 'quorum' },
        },
      ],
      bindings: [
        { exchange: 'shop.events', queue: 'shop.inventory.reserve', routingKey: 'OrderCreated' },
        { exchange: 'shop.events', queue: 'shop.mail.notify', routingKey: 'OrderCreated' },
        { exchange: 'shop.events', queue: 'shop.order.cancel', routingKey: 'OrderCreated' },
        { exchange: 'shop.events', queue: 'shop.order.cancel', routingKey: 'PaymentFailed' },
      ],
      // No consumer declares rabbitmq.partitions here, so no exchange-to-exchange binding.
      exchangeBindings: [],
    });
  });

  it('never binds retry or dead-letter queues to the exchange (a retry reaches one consumer only)', () => {
    const res = rabbitmqResources(ir);
    const bound = new Set(res.bindings.map((b) => b.queue));
    for (const q of res.queues) expect(bound.has(q.name)).toBe(q.role === 'main');
    for (const q of res.queues.filter((q) => q.role === 'retry')) {
      const owner = ir.consumers.find((c) => c.id === q.consumer)!;
      expect(q.arguments['x-dead-letter-routing-key']).toBe(owner.rabbitmq.queue);
      expect(q.arguments['x-dead-letter-exchange']).toBe('');
    }
  });

  it('is deterministic: same IR, same bytes, whatever the input order', () => {
    const shuffled = { ...ir, consumers: [...ir.consumers].reverse(), events: [...ir.events].reverse() };
    expect(JSON.stringify(rabbitmqResources(shuffled))).toBe(JSON.stringify(rabbitmqResources(ir)));
    expect(Object.keys(consumerQueues(ir.consumers[0]!)[1]!.arguments)).toEqual(
      [...Object.keys(consumerQueues(ir.consumers[0]!)[1]!.arguments)].sort(),
    );
  });

  it('picks the smallest tier not shorter than the delay, or the longest', () => {
    const reserve = ir.consumers.find((c) => c.id === 'inventory.reserve')!;
    expect(retryTierFor(reserve, 1)?.delayMs).toBe(100);
    expect(retryTierFor(reserve, 100)?.delayMs).toBe(100);
    expect(retryTierFor(reserve, 101)?.delayMs).toBe(200);
    expect(retryTierFor(reserve, 250)?.delayMs).toBe(300);
    expect(retryTierFor(reserve, 60_000)?.delayMs).toBe(300);
    expect(
      retryTierFor(
        ir.consumers.find((c) => c.id === 'order.cancel')!,
        100,
      ),
    ).toBeUndefined();
  });

  it('works on the IR the spec loader builds from the demo topology', () => {
    const loaded = loadTopology('topology.yaml');
    expect(loaded.ir, JSON.stringify(loaded.diagnostics)).not.toBeNull();
    const res = rabbitmqResources(loaded.ir!);
    expect(res.exchanges.map((e) => e.name)).toEqual([loaded.ir!.rabbitmq.exchange]);
    const reserve = loaded.ir!.consumers.find((c) => c.id === 'inventory-service.reserveStock')!;
    const retry = res.queues.filter((q) => q.consumer === reserve.id && q.role === 'retry');
    expect(retry.map((q) => q.delayMs)).toEqual([...new Set(reserve.retry.delaysMs)].sort((a, b) => a - b));
    // notifyCustomer has deadLetter: false → no DLQ.
    expect(
      res.queues.some((q) => q.consumer === 'notification-service.notifyCustomer' && q.role === 'dead-letter'),
    ).toBe(false);
    expect(
      res.bindings.filter((b) => b.queue === 'shop.notification-service.notifyCustomer').map((b) => b.routingKey),
    ).toEqual(['OrderCancelled', 'OrderCreated', 'PaymentCompleted']);
  });
});
