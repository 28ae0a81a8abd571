/**
 * The `rabbitmq:` sections of topology.yaml (`TopologySection`, runtime/core): the exchange and the
 * queue type at the root; a handler's queue type, queue name and partitions. Also the one place
 * RabbitMQ resource names are derived from the topology (docs/topology-format.md, "Broker resources").
 */
import { formatDuration } from '@eventform/runtime';
import type { QueueType, RabbitConsumerIR, RabbitEventIR, RabbitTopologyIR } from './ir.js';
import type {
  ResourceNameClaim,
  SectionChange,
  SectionConsumerInput,
  SectionInput,
  SectionProblem,
  TopologyIR,
  TopologySection,
} from '@eventform/runtime';

/** Queue and exchange names: letters, digits and `.`, `_`, `-`, `:`. */
const RABBIT_NAME = /^[A-Za-z0-9._:-]+$/;
const NAME = { type: 'name', pattern: RABBIT_NAME, allowed: "'.', '_', '-', ':'" } as const;
const QUEUE_TYPES: readonly QueueType[] = ['quorum', 'classic'];

export const RABBITMQ_SECTION_LIMITS = {
  /** Queue and exchange names (bytes; names here are ASCII). */
  maxName: 255,
  /** Partition queues of one handler (`rabbitmq.partitions`); each is a replicated queue. */
  maxPartitions: 256,
} as const;

export const RABBITMQ_SECTION_DEFAULTS = {
  /** Of every handler's queues unless the handler says otherwise. */
  queueType: 'quorum' as QueueType,
} as const;

/** The RabbitMQ retry queue of a handler for one delay: `<queue>.retry.<delay>` (`.retry.1s`, `.retry.250ms`). */
export const retryQueueName = (queue: string, delayMs: number): string => `${queue}.retry.${formatDuration(delayMs)}`;

/** The dead-letter queue of a handler: `<queue>.dlq`. */
export const deadLetterQueueName = (queue: string): string => `${queue}.dlq`;

const exchangeOf = (input: SectionInput): string =>
  (input.values['exchange'] as string | undefined) ?? `${input.topology}.events`;
const queueOf = (input: SectionInput, c: SectionConsumerInput): string =>
  (c.values['queue'] as string | undefined) ?? `${input.topology}.${c.service}.${c.handler}`;
const distinctDelays = (c: SectionConsumerInput): number[] => [...new Set(c.retry.delaysMs)];

function consumerPart(input: SectionInput, c: SectionConsumerInput): RabbitConsumerIR {
  const queue = queueOf(input, c);
  const count = c.values['partitions'] as number | undefined;
  const queueType =
    (c.values['queueType'] as QueueType | undefined) ??
    (input.values['queueType'] as QueueType | undefined) ??
    RABBITMQ_SECTION_DEFAULTS.queueType;
  return {
    queue,
    queueType,
    retryQueues: distinctDelays(c)
      .sort((a, b) => a - b)
      .map((delayMs) => ({ name: retryQueueName(queue, delayMs), delayMs })),
    deadLetterQueue: c.deadLetter ? deadLetterQueueName(queue) : null,
    // Only when set, so the IR of every other topology stays as it was.
    ...(count !== undefined
      ? {
          partitions: {
            exchange: `${queue}.partitions`,
            queues: Array.from({ length: count }, (_, i) => `${queue}.p${i}`),
          },
        }
      : {}),
  };
}

export const topologySection: TopologySection = {
  key: 'rabbitmq',
  title: 'RabbitMQ',
  fields: {
    root: { exchange: NAME, queueType: { type: 'oneOf', values: QUEUE_TYPES } },
    consumer: {
      queueType: { type: 'oneOf', values: QUEUE_TYPES },
      queue: NAME,
      partitions: { type: 'int', min: 1, max: RABBITMQ_SECTION_LIMITS.maxPartitions },
    },
  },
  defaults: { root: RABBITMQ_SECTION_DEFAULTS },

  build(input) {
    const exchange = exchangeOf(input);
    const queueType = (input.values['queueType'] as QueueType | undefined) ?? RABBITMQ_SECTION_DEFAULTS.queueType;
    return {
      root: { exchange, queueType } satisfies RabbitTopologyIR,
      events: new Map(input.events.map((e) => [e.name, { exchange, routingKey: e.name } satisfies RabbitEventIR])),
      consumers: new Map(input.consumers.map((c) => [c.id, consumerPart(input, c)])),
    };
  },

  check(input) {
    const problems: SectionProblem[] = [];
    // Per-key order needs a key: without one every event would hash to the same partition.
    const keyed = new Map(input.events.map((e) => [e.name, e.key !== null]));
    for (const c of input.consumers) {
      const partitions = c.values['partitions'] as number | undefined;
      if (partitions === undefined) continue;
      for (const e of c.events) {
        if (keyed.get(e) !== false) continue;
        problems.push({
          kind: 'needs-key',
          at: { level: 'consumer', owner: c.id, fields: ['partitions'] },
          message: `handler '${c.id}' keeps per-key order over ${partitions} partitions, but event '${e}' declares no key`,
          hint: `give '${e}' a \`key:\` (a required string property of its payload), or drop \`rabbitmq.partitions\``,
        });
      }
    }
    const exchange = exchangeOf(input);
    if (exchange.length > RABBITMQ_SECTION_LIMITS.maxName) {
      problems.push({
        kind: 'name-too-long',
        at: { level: 'root', fields: ['exchange'] },
        message: `RabbitMQ exchange name is ${exchange.length} characters; the limit is ${RABBITMQ_SECTION_LIMITS.maxName}`,
      });
    }
    return problems;
  },

  names(input) {
    const claims: ResourceNameClaim[] = [];
    for (const c of input.consumers) {
      const queue = queueOf(input, c);
      const at = { level: 'consumer', owner: c.id, fields: ['queue'] } as const;
      const claim = (name: string) =>
        claims.push({ pool: 'queue', kind: 'queue', name, maxLength: RABBITMQ_SECTION_LIMITS.maxName, at });
      claim(queue);
      for (const d of distinctDelays(c)) claim(retryQueueName(queue, d));
      if (c.deadLetter) claim(deadLetterQueueName(queue));
      for (const p of consumerPart(input, c).partitions?.queues ?? []) claim(p);
    }
    return claims;
  },

  compat(before: TopologyIR, after: TopologyIR) {
    const changes: SectionChange[] = [];
    const oldEvents = new Map(before.events.map((e) => [e.name, e]));
    for (const e of after.events) {
      const old = oldEvents.get(e.name);
      if (old && old.rabbitmq.exchange !== e.rabbitmq.exchange) {
        changes.push({
          kind: 'event-moved',
          event: e.name,
          message: `event '${e.name}' moves from RabbitMQ exchange ${old.rabbitmq.exchange} to ${e.rabbitmq.exchange}: producers still on the old code publish to the old one`,
        });
      }
    }
    const oldConsumers = new Map(before.consumers.map((c) => [c.id, c]));
    for (const c of after.consumers) {
      const old = oldConsumers.get(c.id);
      if (!old) continue;
      if (old.rabbitmq.queue !== c.rabbitmq.queue) {
        changes.push({
          kind: 'consumer-moved',
          consumer: c.id,
          message: `queue of '${c.id}' changes from ${old.rabbitmq.queue} to ${c.rabbitmq.queue}: messages in the old queue stay there`,
        });
      }
      if (old.rabbitmq.queueType !== c.rabbitmq.queueType) {
        changes.push({
          kind: 'queue-type-changed',
          consumer: c.id,
          message: `queue ${c.rabbitmq.queue} changes type from ${old.rabbitmq.queueType} to ${c.rabbitmq.queueType}: RabbitMQ cannot convert a queue, so it must be drained, deleted and recreated`,
        });
      }
    }
    return changes;
  },

  leftovers: {
    event: (e) => `any messages still queued under routing key ${e.rabbitmq.routingKey}`,
    consumer: (c) =>
      `RabbitMQ queues ${[c.rabbitmq.queue, ...c.rabbitmq.retryQueues.map((q) => q.name), c.rabbitmq.deadLetterQueue]
        .filter((x): x is string => x !== null)
        .join(', ')}`,
    deadLetters: (c) => (c.rabbitmq.deadLetterQueue === null ? [] : [c.rabbitmq.deadLetterQueue]),
    retries: (c) => c.rabbitmq.retryQueues.map((q) => q.name),
    waiting: (c) => c.rabbitmq.queue,
  },
};
