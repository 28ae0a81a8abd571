/**
 * The RabbitMQ part of the topology IR (`TopologyBrokerParts` and its kin, runtime/core): what this
 * package's topology section builds from `rabbitmq:` and the names it derives, typed here and merged
 * into `@eventform/runtime`'s IR types wherever this package is loaded.
 */

export type QueueType = 'quorum' | 'classic';

/** The topology's `rabbitmq:` settings, defaulted. */
export interface RabbitTopologyIR {
  exchange: string;
  queueType: QueueType;
}

export interface RabbitEventIR {
  exchange: string;
  routingKey: string;
}

export interface RabbitConsumerIR {
  queue: string;
  queueType: QueueType;
  /** One retry queue per distinct delay, in ascending delay order. */
  retryQueues: { name: string; delayMs: number }[];
  deadLetterQueue: string | null;
  /**
   * Present when the handler keeps per-key order across several instances (topology
   * `rabbitmq.partitions`): then its events reach these partition queues instead of `queue`.
   */
  partitions?: RabbitPartitionsIR | undefined;
}

/**
 * Per-key order on RabbitMQ: a consistent-hash exchange spreads the handler's events over partition
 * queues by the event's key (the same key, the same queue), and each partition queue has a single
 * active consumer among all instances, so the events of one key are handled one at a time, in order.
 */
export interface RabbitPartitionsIR {
  /** The `x-consistent-hash` exchange, bound to each consumed event's exchange and routing key. */
  exchange: string;
  /** The partition queues, in partition order; each is declared with `x-single-active-consumer`. */
  queues: string[];
}

declare module '@eventform/runtime' {
  interface TopologyBrokerParts {
    rabbitmq: RabbitTopologyIR;
  }
  interface EventBrokerParts {
    rabbitmq: RabbitEventIR;
  }
  interface ConsumerBrokerParts {
    rabbitmq: RabbitConsumerIR;
  }
}
