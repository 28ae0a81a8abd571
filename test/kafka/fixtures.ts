/**
 * A small TopologyIR builder for the Kafka tests: real IR objects (as the spec loader would
 * produce them) with a random topology name, so parallel test files never share topics.
 */
import { randomBytes } from 'node:crypto';
import type { ConsumerIR, ContentMode, EventIR, RetryPolicyIR, TopologyIR } from '../../runtime/core/src/ir.js';

export interface EventSpec {
  name: string;
  contentMode?: ContentMode;
  key?: string | null;
  partitions?: number;
  replicationFactor?: number;
  configs?: Record<string, string>;
}

export interface ConsumerSpec {
  /** `service.handler` */
  id: string;
  events: string[];
  attempts?: number;
  delayMs?: number;
  deadLetter?: boolean;
  concurrency?: number;
}

export interface TopologySpec {
  name?: string;
  events: EventSpec[];
  consumers?: ConsumerSpec[];
  kafka?: Partial<TopologyIR['kafka']>;
}

export function uniqueName(prefix = 'kt'): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

const loc = { file: 'test.yaml', line: 1, col: 1 };

export function makeTopology(spec: TopologySpec): TopologyIR {
  const name = spec.name ?? uniqueName();
  const kafka = { partitions: 3, replicationFactor: 3, minInsyncReplicas: 2, ...spec.kafka };
  const consumers: ConsumerIR[] = (spec.consumers ?? []).map((c) => {
    const [service, handler] = c.id.split('.') as [string, string];
    const attempts = c.attempts ?? 3;
    const delayMs = c.delayMs ?? 200;
    const retry: RetryPolicyIR = {
      attempts,
      backoff: 'fixed',
      delayMs,
      maxDelayMs: delayMs,
      jitter: 0,
      delaysMs: Array.from({ length: Math.max(0, attempts - 1) }, () => delayMs),
    };
    const group = `${name}.${service}.${handler}`;
    const deadLetter = c.deadLetter ?? true;
    return {
      id: c.id,
      service,
      handler,
      events: [...c.events].sort(),
      retry,
      deadLetter,
      idempotency: { enabled: false, key: null, windowMs: 60_000 },
      concurrency: c.concurrency ?? 1,
      rabbitmq: {
        queue: group,
        queueType: 'quorum',
        retryQueues: [],
        deadLetterQueue: deadLetter ? `${group}.dlq` : null,
      },
      kafka: {
        groupId: group,
        retryTopic: attempts > 1 ? `${group}.retry` : null,
        deadLetterTopic: deadLetter ? `${group}.dlq` : null,
      },
      loc,
    };
  });
  const events: EventIR[] = spec.events.map((e) => ({
    name: e.name,
    description: null,
    version: 1,
    key: e.key === undefined ? 'id' : e.key,
    payload: { type: 'object' },
    refs: [],
    examples: [],
    compatibility: 'backward',
    contentMode: e.contentMode ?? 'binary',
    producers: ['producer'],
    consumers: consumers.filter((c) => c.events.includes(e.name)).map((c) => c.id),
    rabbitmq: { exchange: `${name}.events`, routingKey: e.name },
    kafka: {
      topic: `${name}.${e.name}`,
      partitions: e.partitions ?? kafka.partitions,
      replicationFactor: e.replicationFactor ?? kafka.replicationFactor,
      configs: e.configs ?? {},
    },
    loc,
  }));
  const services = [...new Set(consumers.map((c) => c.service))].sort().map((s) => ({
    name: s,
    description: null,
    store: 'memory' as const,
    produces: [],
    consumers: consumers.filter((c) => c.service === s).map((c) => c.id),
    loc,
  }));
  return {
    irVersion: 1,
    name,
    version: 1,
    sourceFile: 'test.yaml',
    sourceHash: '0'.repeat(64),
    schemas: [],
    events: events.sort((a, b) => a.name.localeCompare(b.name)),
    services,
    consumers: consumers.sort((a, b) => a.id.localeCompare(b.id)),
    rabbitmq: { exchange: `${name}.events`, queueType: 'quorum' },
    kafka,
  };
}
