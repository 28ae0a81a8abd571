import { describe, expect, it } from 'vitest';
import type { TopologyIR } from '../../runtime/core/src/ir.js';
import { planTopic } from '../../runtime/kafka/src/provision.js';
import { kafkaResources, type KafkaTopicDescriptor } from '../../runtime/kafka/src/resources.js';
import { makeTopology } from './fixtures.js';

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

const shop = (): TopologyIR =>
  makeTopology({
    name: 'shop',
    events: [
      { name: 'OrderCreated', partitions: 6 },
      { name: 'PaymentFailed', configs: { 'retention.ms': '86400000' } },
      { name: 'Audit', partitions: 1, configs: { 'min.insync.replicas': '3' } },
    ],
    consumers: [
      { id: 'inventory.reserve', events: ['OrderCreated', 'PaymentFailed'] },
      { id: 'mail.notify', events: ['PaymentFailed'], attempts: 1 },
      { id: 'audit.log', events: ['Audit'], deadLetter: false },
    ],
  });

describe('kafkaResources', () => {
  it('lists one topic per event plus retry and dead-letter topics per consumer, sorted', () => {
    const { topics, notes } = kafkaResources(shop());
    expect(notes).toEqual([]);
    expect(topics.map((t) => [t.name, t.role, t.owner])).toEqual([
      ['shop.Audit', 'event', 'Audit'],
      ['shop.OrderCreated', 'event', 'OrderCreated'],
      ['shop.PaymentFailed', 'event', 'PaymentFailed'],
      ['shop.audit.log.retry', 'retry', 'audit.log'],
      ['shop.inventory.reserve.dlq', 'dead-letter', 'inventory.reserve'],
      ['shop.inventory.reserve.retry', 'retry', 'inventory.reserve'],
      ['shop.mail.notify.dlq', 'dead-letter', 'mail.notify'],
    ]);
  });

  it.each<[string, Partial<KafkaTopicDescriptor>]>([
    ['shop.OrderCreated', { partitions: 6, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } }],
    [
      'shop.PaymentFailed',
      { partitions: 3, replicationFactor: 3, configs: { 'min.insync.replicas': '2', 'retention.ms': '86400000' } },
    ],
    // the event's own min.insync.replicas wins over the topology default
    ['shop.Audit', { partitions: 1, configs: { 'min.insync.replicas': '3' } }],
    // side topics as wide as the widest consumed event
    ['shop.inventory.reserve.retry', { partitions: 6, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } }],
    ['shop.inventory.reserve.dlq', { partitions: 6, configs: { 'min.insync.replicas': '2', 'retention.ms': '-1' } }],
    ['shop.audit.log.retry', { partitions: 1 }],
  ])('%s has the declared shape', (name, expected) => {
    const topic = kafkaResources(shop()).topics.find((t) => t.name === name);
    expect(topic).toMatchObject(expected);
  });

  it('is pure and deterministic: frozen input, same output, independent of input order', () => {
    const ir = deepFreeze(shop());
    const a = kafkaResources(ir, { brokerCount: 1 });
    const b = kafkaResources(ir, { brokerCount: 1 });
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    const shuffled = { ...ir, events: [...ir.events].reverse(), consumers: [...ir.consumers].reverse() };
    expect(JSON.stringify(kafkaResources(shuffled, { brokerCount: 1 }))).toBe(JSON.stringify(a));
    expect(Object.keys(a.topics[1]?.configs ?? {})).toEqual([...Object.keys(a.topics[1]?.configs ?? {})].sort());
  });

  it.each([
    // brokers, expected RF, expected min ISR for a topic declared 3/2, notes
    [1, 1, '1', 1],
    [2, 2, '1', 1],
    [3, 3, '2', 0],
    [5, 3, '2', 0],
  ])('clamps replication to %i broker(s)', (brokerCount, rf, isr, noteCount) => {
    const { topics, notes } = kafkaResources(shop(), { brokerCount });
    const order = topics.find((t) => t.name === 'shop.OrderCreated');
    expect(order?.replicationFactor).toBe(rf);
    expect(order?.configs['min.insync.replicas']).toBe(isr);
    expect(notes.length).toBeGreaterThanOrEqual(noteCount);
    if (noteCount === 0) expect(notes).toEqual([]);
    else expect(notes.join('\n')).toMatch(new RegExp(`${brokerCount} broker.*replication factor 3 → ${rf}`));
  });

  it('keeps a min.insync.replicas that is already low enough when clamping', () => {
    const ir = makeTopology({
      name: 'x',
      events: [{ name: 'E', configs: { 'min.insync.replicas': '1' } }],
      kafka: { replicationFactor: 3 },
    });
    const [event] = kafkaResources(ir, { brokerCount: 2 }).topics;
    expect(event).toMatchObject({ replicationFactor: 2, configs: { 'min.insync.replicas': '1' } });
  });

  it('rejects a topic name used for two different purposes', () => {
    const ir = makeTopology({ name: 'x', events: [{ name: 'E' }], consumers: [{ id: 's.h', events: ['E'] }] });
    const consumer = ir.consumers[0];
    if (!consumer) throw new Error('fixture');
    consumer.kafka.retryTopic = 'x.E';
    expect(() => kafkaResources(ir)).toThrow(/x\.E.*event E.*retry topic of s\.h/);
  });

  it('rejects a nonsensical broker count', () => {
    expect(() => kafkaResources(shop(), { brokerCount: 0 })).toThrow(/positive integer/);
  });
});

describe('planTopic', () => {
  const topic: KafkaTopicDescriptor = {
    name: 't',
    role: 'event',
    owner: 'E',
    partitions: 3,
    replicationFactor: 1,
    configs: { 'min.insync.replicas': '1', 'retention.ms': '1000' },
  };
  const same = { partitions: 3, replicationFactor: 1, configs: { 'min.insync.replicas': '1', 'retention.ms': '1000' } };

  it.each([
    ['missing', undefined, 'create', /3 partitions, replication 1/],
    ['identical', same, 'unchanged', /3 partitions/],
    ['fewer partitions', { ...same, partitions: 2 }, 'update', /partitions 2 → 3/],
    ['more partitions', { ...same, partitions: 4 }, 'conflict', /4 partitions, 3 declared/],
    [
      'other config',
      { ...same, configs: { ...same.configs, 'retention.ms': '5' } },
      'conflict',
      /retention\.ms is "5", "1000" declared/,
    ],
    ['other replication', { ...same, replicationFactor: 2 }, 'conflict', /replication factor is 2, 1 declared/],
    // a conflict wins over a possible partition increase: nothing is changed on a conflicting topic
    [
      'grow and conflict',
      { ...same, partitions: 1, configs: { ...same.configs, 'retention.ms': '5' } },
      'conflict',
      /retention/,
    ],
  ] as const)('%s → %s', (_label, existing, action, detail) => {
    const item = planTopic(topic, existing);
    expect(item.action).toBe(action);
    expect(item.detail).toMatch(detail);
  });

  it('mentions a replication clamp', () => {
    const item = planTopic(topic, undefined, { ...topic, replicationFactor: 3 });
    expect(item.detail).toMatch(/clamped from 3/);
  });
});
