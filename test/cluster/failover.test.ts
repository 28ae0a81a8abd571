/**
 * Failover at scale (issue 18), on a private three-node RabbitMQ cluster and a three-broker KRaft
 * Kafka cluster started by scripts/cluster/*.sh: 10,000 events from two producers into three
 * instances of a consuming service while (a) the node leading the queue / partition is killed,
 * (b) every node restarts in turn, (c) a service instance is SIGKILLed. Zero lost, zero doubled,
 * per-key order — see cluster-run.ts. `npm run test:cluster`; never skipped.
 */
import amqp from 'amqplib';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TopologyIR } from '@eventform/runtime';
import { RabbitMQTransport, rabbitmqResources } from '@eventform/rabbitmq';
import { KafkaTransport } from '@eventform/kafka';
import { clusterRun, clusterScript, type ClusterOps } from './cluster-run.js';

const NODES = [1, 2, 3];
const rotate = <T>(list: T[], first: number): T[] => [...list.slice(first - 1), ...list.slice(0, first - 1)];

// ---- RabbitMQ ------------------------------------------------------------------------------------

const AMQP = NODES.map((n) => `amqp://guest:guest@127.0.0.1:${5690 + n}`);
const MANAGEMENT = NODES.map((n) => `http://127.0.0.1:${15690 + n}`);

/** A management API GET on the first node that answers. */
async function management<T>(apiPath: string): Promise<T> {
  let last: unknown;
  for (const base of MANAGEMENT) {
    try {
      const res = await fetch(`${base}/api/${apiPath}`, {
        headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` },
        signal: AbortSignal.timeout(10_000),
      });
      if (res.ok) return (await res.json()) as T;
      last = new Error(`${res.status} ${await res.text()}`);
    } catch (error) {
      last = error;
    }
  }
  throw new Error(`no management API answered for ${apiPath}: ${String(last)}`);
}

const nodeNumber = (name: string): number => {
  const n = Number(/^ef(\d)/.exec(name)?.[1]);
  if (!NODES.includes(n)) throw new Error(`not a cluster node: ${name}`);
  return n;
};

const rabbitmq: ClusterOps = {
  broker: 'rabbitmq',
  nodes: (first) => rotate(AMQP, first),
  transport: (urls, connectionName, logger) =>
    new RabbitMQTransport({ urls, connectionName, logger, publishTimeoutMs: 30_000 }),
  kill: async (n) => void (await clusterScript('rabbitmq-cluster.sh', ['kill', String(n)])),
  start: async (n) => void (await clusterScript('rabbitmq-cluster.sh', ['start', String(n)])),
  restart: async (n) => void (await clusterScript('rabbitmq-cluster.sh', ['restart', String(n)])),
  leader: async (ir) => {
    const queue = ir.consumers[0]!.rabbitmq.partitions!.queues[0]!;
    const info = await management<{ leader: string }>(`queues/%2F/${encodeURIComponent(queue)}`);
    return nodeNumber(info.leader);
  },
  checkReplication: async (ir) => {
    const lines: string[] = [];
    for (const queue of ir.consumers[0]!.rabbitmq.partitions!.queues) {
      const info = await management<{ type: string; leader: string; members: string[] }>(
        `queues/%2F/${encodeURIComponent(queue)}`,
      );
      expect(info.type, `${queue} type`).toBe('quorum');
      expect([...info.members].sort(), `${queue} members`).toEqual(['ef1@localhost', 'ef2@localhost', 'ef3@localhost']);
      lines.push(`${queue.split('.').pop()} leader ${info.leader}, ${info.members.length} members`);
    }
    return `quorum queues: ${lines.join('; ')}`;
  },
};

async function deleteRabbitResources(ir: TopologyIR): Promise<void> {
  const connection = await amqp.connect(AMQP[0]!);
  try {
    const channel = await connection.createChannel();
    const resources = rabbitmqResources(ir);
    for (const queue of resources.queues) await channel.deleteQueue(queue.name);
    for (const exchange of resources.exchanges) await channel.deleteExchange(exchange.name);
  } finally {
    await connection.close().catch(() => {});
  }
}

// ---- Kafka ---------------------------------------------------------------------------------------

const KAFKA = NODES.map((n) => `127.0.0.1:${19190 + n}`);
const admin = () =>
  new kafkajs.Kafka({ clientId: 'cluster-test-admin', brokers: KAFKA, logLevel: kafkajs.logLevel.NOTHING }).admin();

const kafka: ClusterOps = {
  broker: 'kafka',
  nodes: (first) => rotate(KAFKA, first),
  transport: (brokers, clientId, logger) => new KafkaTransport({ brokers, clientId, logger }),
  kill: async (n) => void (await clusterScript('kafka-cluster.sh', ['kill', String(n)])),
  start: async (n) => void (await clusterScript('kafka-cluster.sh', ['start', String(n)])),
  restart: async (n) => void (await clusterScript('kafka-cluster.sh', ['restart', String(n)])),
  leader: async (ir) => {
    const a = admin();
    await a.connect();
    try {
      const { topics } = await a.fetchTopicMetadata({ topics: [ir.events[0]!.kafka.topic] });
      return topics[0]!.partitions.find((p) => p.partitionId === 0)!.leader;
    } finally {
      await a.disconnect();
    }
  },
  checkReplication: async (ir) => {
    const topic = ir.events[0]!.kafka.topic;
    const a = admin();
    await a.connect();
    try {
      const { topics } = await a.fetchTopicMetadata({ topics: [topic] });
      for (const p of topics[0]!.partitions) expect(p.replicas.length, `${topic}/${p.partitionId} replicas`).toBe(3);
      const configs = await a.describeConfigs({
        resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: topic }],
        includeSynonyms: false,
      });
      const isr = configs.resources[0]!.configEntries.find((e) => e.configName === 'min.insync.replicas');
      expect(isr?.configValue, 'min.insync.replicas').toBe('2');
      return `topic ${topic}: ${topics[0]!.partitions.length} partitions × 3 replicas, min.insync.replicas 2; leaders ${topics[0]!.partitions
        .map((p) => `p${p.partitionId}→${p.leader}`)
        .join(' ')}`;
    } finally {
      await a.disconnect();
    }
  },
};

async function deleteKafkaTopics(ir: TopologyIR): Promise<void> {
  const a = admin();
  await a.connect();
  try {
    const existing = new Set(await a.listTopics());
    const mine = existing.size > 0 ? [...existing].filter((t) => t.startsWith(`${ir.name}.`)) : [];
    if (mine.length > 0) await a.deleteTopics({ topics: mine, timeout: 30_000 });
  } finally {
    await a.disconnect();
  }
}

// ---- the runs -------------------------------------------------------------------------------------

describe('three-node RabbitMQ cluster: quorum queues, partitions with single active consumers', () => {
  beforeAll(() => clusterScript('rabbitmq-cluster.sh', ['start'], 400_000), 420_000);
  afterAll(() => clusterScript('rabbitmq-cluster.sh', ['stop'], 300_000), 320_000);

  it('loses nothing, doubles nothing and keeps per-key order through node and instance failures', async () => {
    const { ir } = await clusterRun(rabbitmq);
    await deleteRabbitResources(ir).catch(() => {});
  });
});

describe('three-broker Kafka cluster: replication factor 3, min.insync.replicas 2', () => {
  beforeAll(() => clusterScript('kafka-cluster.sh', ['start'], 400_000), 420_000);
  afterAll(() => clusterScript('kafka-cluster.sh', ['stop'], 300_000), 320_000);

  it('loses nothing, doubles nothing and keeps per-key order through broker and instance failures', async () => {
    const { ir } = await clusterRun(kafka);
    await deleteKafkaTopics(ir).catch(() => {});
  });
});
