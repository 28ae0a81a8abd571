/**
 * The Kafka part of the topology IR (`TopologyBrokerParts` and its kin, runtime/core): what this
 * package's topology section builds from `kafka:` and the names it derives, typed here and merged
 * into `@eventform/runtime`'s IR types wherever this package is loaded.
 */

/** The topology's `kafka:` settings, defaulted. */
export interface KafkaTopologyIR {
  partitions: number;
  replicationFactor: number;
  minInsyncReplicas: number;
}

export interface KafkaEventIR {
  topic: string;
  partitions: number;
  replicationFactor: number;
  /** Topic configs, e.g. `min.insync.replicas`, `retention.ms`; values are strings as Kafka wants. */
  configs: Record<string, string>;
}

export interface KafkaConsumerIR {
  groupId: string;
  retryTopic: string | null;
  deadLetterTopic: string | null;
}

declare module '@eventform/runtime' {
  interface TopologyBrokerParts {
    kafka: KafkaTopologyIR;
  }
  interface EventBrokerParts {
    kafka: KafkaEventIR;
  }
  interface ConsumerBrokerParts {
    kafka: KafkaConsumerIR;
  }
}
