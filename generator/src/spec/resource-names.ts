/**
 * Broker resource names, in one place: how a topology's events and handlers become exchanges,
 * queues, topics and consumer groups (docs/topology-format.md, "Broker resources"). The IR carries
 * the results, so transports never derive a name themselves.
 */
import { DEFAULTS } from './defaults.js';
import { formatDuration } from './duration.js';
import type { RawConsumer, RawEvent, RawTopology } from './raw-topology.js';

/** `<topology>.<service>.<handler>`: a handler's queue and consumer group unless overridden. */
const consumerName = (topologyName: string, c: RawConsumer): string => `${topologyName}.${c.service}.${c.handler}`;

/** The RabbitMQ retry queue of a handler for one delay: `<queue>.retry.<delay>` (`.retry.1s`, `.retry.250ms`). */
export const retryQueueName = (queue: string, delayMs: number): string => `${queue}.retry.${formatDuration(delayMs)}`;

/** The Kafka retry topic of a handler: `<group>.retry`. */
export const retryTopicName = (group: string): string => `${group}.retry`;

/** The dead-letter queue (RabbitMQ) or topic (Kafka) of a handler: `<queue or group>.dlq`. */
export const deadLetterName = (queueOrGroup: string): string => `${queueOrGroup}.dlq`;

/** The broker resource names of a topology, honouring its overrides; the IR and the collision checks use them. */
export function resourceNames(raw: RawTopology, topologyName: string) {
  const kafkaTop = {
    partitions: raw.kafka.partitions?.value ?? DEFAULTS.kafka.partitions,
    replicationFactor: raw.kafka.replicationFactor?.value ?? DEFAULTS.kafka.replicationFactor,
    minInsyncReplicas: raw.kafka.minInsyncReplicas?.value ?? DEFAULTS.kafka.minInsyncReplicas,
  };
  return {
    exchange: raw.rabbitmq.exchange?.value ?? `${topologyName}.events`,
    queueType: raw.rabbitmq.queueType?.value ?? DEFAULTS.rabbitmq.queueType,
    kafka: kafkaTop,
    eventTopic: (e: RawEvent): string => e.kafka.topic?.value ?? `${topologyName}.${e.name}`,
    consumerQueue: (c: RawConsumer): string => c.rabbitmq.queue?.value ?? consumerName(topologyName, c),
    consumerGroup: (c: RawConsumer): string => c.kafka.groupId?.value ?? consumerName(topologyName, c),
    /** The partition exchange and queues of a handler with `rabbitmq.partitions`, else undefined. */
    partitions: (c: RawConsumer): { exchange: string; queues: string[] } | undefined => {
      const count = c.rabbitmq.partitions?.value;
      if (count === undefined) return undefined;
      const queue = c.rabbitmq.queue?.value ?? consumerName(topologyName, c);
      return { exchange: `${queue}.partitions`, queues: Array.from({ length: count }, (_, i) => `${queue}.p${i}`) };
    },
  };
}
