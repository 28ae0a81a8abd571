import kafkajs from 'kafkajs';
import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TopologyIR } from '../../runtime/core/src/ir.js';
import { KafkaResourceConflictError, provisionKafka } from '@eventform/kafka';
import { requireKafka } from '../support/kafka.js';
import { makeTopology, type TopologySpec } from './fixtures.js';
import { cleanupTopology, testLogger, testTransport } from './helpers.js';

const kafka = await requireKafka();

describe.skipIf(!kafka.available)('provisionKafka against a real broker', () => {
  const brokers = kafka.brokers;
  const made: TopologyIR[] = [];
  let admin: Admin;

  const topology = (spec: Omit<TopologySpec, 'name'>, name?: string): TopologyIR => {
    const ir = makeTopology({ ...spec, name });
    made.push(ir);
    return ir;
  };
  const describeTopic = async (topic: string) => {
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    const configs = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [
        { type: kafkajs.ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms', 'min.insync.replicas'] },
      ],
    });
    const entries = Object.fromEntries(
      (configs.resources[0]?.configEntries ?? []).map((e) => [e.configName, e.configValue]),
    );
    return { partitions: meta.topics[0]?.partitions.length, configs: entries };
  };

  beforeAll(async () => {
    admin = new kafkajs.Kafka({ brokers: brokers.split(','), logLevel: kafkajs.logLevel.NOTHING }).admin();
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.disconnect();
    for (const ir of made) await cleanupTopology(brokers, ir);
  });

  it('creates every topic, then reports them unchanged on a second run', async () => {
    const ir = topology({
      events: [{ name: 'A', partitions: 2, configs: { 'retention.ms': '3600000' } }, { name: 'B' }],
      consumers: [{ id: 's.h', events: ['A', 'B'] }],
    });
    const logger = testLogger();
    const first = await provisionKafka(ir, { brokers, logger });
    expect(first.map((i) => [i.name, i.action])).toEqual([
      [`${ir.name}.A`, 'create'],
      [`${ir.name}.B`, 'create'],
      [`${ir.name}.s.h.dlq`, 'create'],
      [`${ir.name}.s.h.retry`, 'create'],
    ]);
    // the test broker is a single node: replication is clamped, and said so
    expect(first[0]?.detail).toMatch(/replication 1.*clamped from 3/);
    expect(logger.lines.join('\n')).toMatch(/1 broker: replication factor 3 → 1/);
    expect(await describeTopic(`${ir.name}.A`)).toEqual({
      partitions: 2,
      configs: { 'retention.ms': '3600000', 'min.insync.replicas': '1' },
    });
    expect((await describeTopic(`${ir.name}.s.h.dlq`)).configs['retention.ms']).toBe('-1');
    expect((await describeTopic(`${ir.name}.s.h.retry`)).partitions).toBe(3);

    const second = await provisionKafka(ir, { brokers });
    expect(second.map((i) => i.action)).toEqual(['unchanged', 'unchanged', 'unchanged', 'unchanged']);
  });

  it('grows partitions (update), refuses to shrink (conflict, no change)', async () => {
    const base = topology({ events: [{ name: 'A', partitions: 2 }] });
    await provisionKafka(base, { brokers });

    const grown = makeTopology({ name: base.name, events: [{ name: 'A', partitions: 4 }] });
    const update = await provisionKafka(grown, { brokers });
    expect(update).toEqual([expect.objectContaining({ action: 'update', detail: expect.stringMatching(/2 → 4/) })]);
    expect((await describeTopic(`${base.name}.A`)).partitions).toBe(4);

    const shrunk = makeTopology({ name: base.name, events: [{ name: 'A', partitions: 1 }] });
    const conflict = await provisionKafka(shrunk, { brokers });
    expect(conflict).toEqual([
      expect.objectContaining({ action: 'conflict', detail: expect.stringMatching(/4 partitions, 1 declared/) }),
    ]);
    expect((await describeTopic(`${base.name}.A`)).partitions).toBe(4);
  });

  it('reports a differing config as a conflict and leaves it alone', async () => {
    const base = topology({ events: [{ name: 'A', configs: { 'retention.ms': '3600000' } }] });
    await provisionKafka(base, { brokers });
    // plus a new event: with a conflict anywhere, nothing at all is changed
    const changed = makeTopology({
      name: base.name,
      events: [{ name: 'A', configs: { 'retention.ms': '7200000' } }, { name: 'B' }],
    });
    const plan = await provisionKafka(changed, { brokers });
    expect(plan).toEqual([
      expect.objectContaining({
        action: 'conflict',
        detail: expect.stringMatching(/retention\.ms is "3600000", "7200000" declared/),
      }),
      expect.objectContaining({
        name: `${base.name}.B`,
        action: 'create',
        detail: expect.stringMatching(/not applied: conflicts/),
      }),
    ]);
    expect((await describeTopic(`${base.name}.A`)).configs['retention.ms']).toBe('3600000');
    expect(await admin.listTopics()).not.toContain(`${base.name}.B`);

    // the transport refuses to start on a conflicting cluster, naming the topic
    made.push(changed);
    const transport = testTransport(brokers);
    await expect(transport.start(changed)).rejects.toThrow(KafkaResourceConflictError);
    await expect(transport.start(changed)).rejects.toThrow(new RegExp(`${base.name}\\.A: config retention\\.ms`));
    await transport.close();
  });

  it('changes nothing in dry-run mode', async () => {
    const ir = topology({ events: [{ name: 'A' }], consumers: [{ id: 's.h', events: ['A'] }] });
    const plan = await provisionKafka(ir, { brokers, dryRun: true });
    expect(plan.map((i) => i.action)).toEqual(['create', 'create', 'create']);
    expect(plan[0]?.detail).toMatch(/\(dry run\)$/);
    const topics = new Set(await admin.listTopics());
    expect(plan.filter((i) => topics.has(i.name))).toEqual([]);
  });

  it('fails clearly when the cluster cannot be reached', async () => {
    const ir = makeTopology({ events: [{ name: 'A' }] });
    const started = Date.now();
    await expect(provisionKafka(ir, { brokers: '127.0.0.1:1', logger: testLogger() })).rejects.toThrow(
      /cannot connect to Kafka at 127\.0\.0\.1:1/,
    );
    // the default admin retry policy gives up within seconds
    expect(Date.now() - started).toBeLessThan(30_000);
  }, 40_000);
});
