/**
 * Per-key order on RabbitMQ (`rabbitmq.partitions`): the IR the generator builds for it and the
 * resources the binding derives from that IR. The broker-side behaviour is tested by test/cluster.
 */
import { describe, expect, it } from 'vitest';
import { loadTopology } from '../../generator/src/spec/index.js';
import { rabbitmqResources } from '../../runtime/rabbitmq/src/resources.js';

function ir(partitions: string) {
  const text = `topology: t
events:
  OrderPlaced: { key: id, payload: { type: object, required: [id], properties: { id: { type: string } } } }
services:
  orders:
    produces: [OrderPlaced]
    consumes:
      audit: { event: OrderPlaced, retry: { attempts: 2, delay: 1s }${partitions} }
      plain: { event: OrderPlaced }
`;
  const result = loadTopology('topology.yaml', { text });
  expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return result.ir!;
}

describe('rabbitmq.partitions', () => {
  it('puts the partition exchange and queues into the IR, and nothing for handlers without it', () => {
    const topology = ir(', rabbitmq: { partitions: 3 }');
    const [audit, plain] = topology.consumers;
    expect(audit!.rabbitmq.partitions).toEqual({
      exchange: 't.orders.audit.partitions',
      queues: ['t.orders.audit.p0', 't.orders.audit.p1', 't.orders.audit.p2'],
    });
    expect('partitions' in plain!.rabbitmq).toBe(false);
    expect('partitions' in ir('').consumers[0]!.rabbitmq).toBe(false);
  });

  it('derives a consistent-hash exchange over single-active-consumer queues in place of the main queue', () => {
    const r = rabbitmqResources(ir(', rabbitmq: { partitions: 2 }'));
    expect(r.exchanges).toContainEqual({
      name: 't.orders.audit.partitions',
      type: 'x-consistent-hash',
      durable: true,
      arguments: { 'hash-header': 'cloudEvents_partitionkey' },
    });
    const audit = r.queues.filter((q) => q.consumer === 'orders.audit');
    expect(audit.map((q) => [q.name, q.role])).toEqual([
      ['t.orders.audit.dlq', 'dead-letter'],
      ['t.orders.audit.p0', 'partition'],
      ['t.orders.audit.p1', 'partition'],
      ['t.orders.audit.retry.1s', 'retry'],
    ]);
    expect(audit.find((q) => q.role === 'partition')!.arguments).toEqual({
      'x-queue-type': 'quorum',
      'x-single-active-consumer': true,
    });
    // An expired retry goes back through the hash exchange: to its key's partition.
    expect(audit.find((q) => q.role === 'retry')!.arguments).toMatchObject({
      'x-dead-letter-exchange': 't.orders.audit.partitions',
    });
    expect(audit.find((q) => q.role === 'retry')!.arguments).not.toHaveProperty('x-dead-letter-routing-key');
    expect(r.exchangeBindings).toEqual([
      { source: 't.events', destination: 't.orders.audit.partitions', routingKey: 'OrderPlaced' },
    ]);
    expect(r.bindings).toEqual([
      { exchange: 't.orders.audit.partitions', queue: 't.orders.audit.p0', routingKey: '1' },
      { exchange: 't.orders.audit.partitions', queue: 't.orders.audit.p1', routingKey: '1' },
      { exchange: 't.events', queue: 't.orders.plain', routingKey: 'OrderPlaced' },
    ]);
    expect(r.queues.map((q) => q.name)).not.toContain('t.orders.audit');
  });

  it('leaves a topology without partitions as it was', () => {
    const r = rabbitmqResources(ir(''));
    expect(r.exchangeBindings).toEqual([]);
    expect(r.exchanges.map((e) => e.type)).toEqual(['topic']);
    expect(r.queues.find((q) => q.name === 't.orders.audit')!.arguments).toEqual({ 'x-queue-type': 'quorum' });
  });
});
