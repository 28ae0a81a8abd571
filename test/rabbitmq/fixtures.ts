/**
 * Hand-built topology IR for the RabbitMQ tests, so they do not depend on the spec loader.
 * Follows the broker mapping of docs/topology-format.md.
 */
import { randomBytes } from 'node:crypto';
import type {
  ConsumerIR,
  ContentMode,
  EventIR,
  QueueType,
  RetryPolicyIR,
  TopologyIR,
} from '../../runtime/core/src/ir.js';

export interface ConsumerSpec {
  service: string;
  handler: string;
  events: string[];
  attempts?: number;
  delayMs?: number;
  maxDelayMs?: number;
  backoff?: 'fixed' | 'exponential';
  concurrency?: number;
  deadLetter?: boolean;
  queueType?: QueueType;
}

export interface TopologySpec {
  /** Prefix; a random suffix is appended so parallel tests never share resources. */
  name: string;
  events: { name: string; key?: string; producers?: string[]; contentMode?: ContentMode }[];
  consumers: ConsumerSpec[];
  queueType?: QueueType;
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

const loc = { file: 'test.yaml', line: 1, col: 1 };

export function retryPolicy(
  attempts: number,
  delayMs: number,
  maxDelayMs: number,
  backoff: 'fixed' | 'exponential',
): RetryPolicyIR {
  const delaysMs: number[] = [];
  for (let n = 0; n < attempts - 1; n++) {
    const raw = backoff === 'fixed' ? delayMs : delayMs * 2 ** n;
    delaysMs.push(Math.min(raw, maxDelayMs));
  }
  return { attempts, backoff, delayMs, maxDelayMs, jitter: 0, delaysMs };
}

export function buildTopology(spec: TopologySpec, options: { unique?: boolean } = {}): TopologyIR {
  const name = options.unique === false ? spec.name : uniqueName(spec.name);
  const exchange = `${name}.events`;
  const topologyQueueType = spec.queueType ?? 'quorum';

  const consumers: ConsumerIR[] = spec.consumers
    .map((c) => {
      const id = `${c.service}.${c.handler}`;
      const queue = `${name}.${id}`;
      const queueType = c.queueType ?? topologyQueueType;
      const retry = retryPolicy(c.attempts ?? 3, c.delayMs ?? 200, c.maxDelayMs ?? 5_000, c.backoff ?? 'exponential');
      const tiers = [...new Set(retry.delaysMs)].sort((a, b) => a - b);
      const deadLetter = c.deadLetter ?? true;
      return {
        id,
        service: c.service,
        handler: c.handler,
        events: [...c.events].sort(),
        retry,
        deadLetter,
        idempotency: { enabled: true, key: null, windowMs: 7 * 24 * 3600_000 },
        concurrency: c.concurrency ?? 1,
        rabbitmq: {
          queue,
          queueType,
          retryQueues: tiers.map((delayMs) => ({ name: `${queue}.retry.${delayMs}ms`, delayMs })),
          deadLetterQueue: deadLetter ? `${queue}.dlq` : null,
        },
        kafka: { groupId: queue, retryTopic: `${queue}.retry`, deadLetterTopic: deadLetter ? `${queue}.dlq` : null },
        loc,
      } satisfies ConsumerIR;
    })
    .sort((a, b) => (a.id < b.id ? -1 : 1));

  const events: EventIR[] = spec.events
    .map((e) => ({
      name: e.name,
      description: null,
      version: 1,
      key: e.key ?? null,
      payload: { type: 'object' },
      refs: [],
      examples: [],
      compatibility: 'backward' as const,
      contentMode: e.contentMode ?? ('binary' as const),
      producers: [...(e.producers ?? ['producer'])].sort(),
      consumers: consumers.filter((c) => c.events.includes(e.name)).map((c) => c.id),
      rabbitmq: { exchange, routingKey: e.name },
      kafka: { topic: `${name}.${e.name}`, partitions: 3, replicationFactor: 1, configs: {} },
      loc,
    }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));

  const serviceNames = new Set<string>(['producer']);
  for (const c of consumers) serviceNames.add(c.service);
  for (const e of spec.events) for (const p of e.producers ?? []) serviceNames.add(p);

  return {
    irVersion: 1,
    name,
    version: 1,
    sourceFile: 'test.yaml',
    sourceHash: '0'.repeat(64),
    schemas: [],
    events,
    services: [...serviceNames].sort().map((s) => ({
      name: s,
      description: null,
      store: 'memory' as const,
      produces: events.filter((e) => e.producers.includes(s)).map((e) => e.name),
      consumers: consumers.filter((c) => c.service === s).map((c) => c.id),
      loc,
    })),
    consumers,
    rabbitmq: { exchange, queueType: topologyQueueType },
    kafka: { partitions: 3, replicationFactor: 1, minInsyncReplicas: 1 },
  };
}
