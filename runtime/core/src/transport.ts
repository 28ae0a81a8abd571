/**
 * The one interface every broker binding implements (memory, RabbitMQ, Kafka).
 *
 * A transport moves bytes and schedules redelivery; it knows nothing about payload schemas,
 * idempotency or correlation. The runtime (runtime/core) decides what happens to each delivery
 * and hands the transport a {@link Disposition}; the transport carries it out durably before it
 * acknowledges the original message. That split is what makes retries, dead letters and
 * idempotency behave the same on every broker.
 *
 * Headers: transports receive and return *logical* headers — CloudEvents attribute names
 * without prefix (`id`, `type`, `source`, ...) and the runtime's own `ef-*` headers. Mapping to a
 * binding's wire names (`ce_` for Kafka, `cloudEvents_` for AMQP) is done by the transport with
 * the helpers in runtime/core/headers.ts, so the mapping lives in one place.
 */
import type { ConsumerIR, EventIR, TopologyIR } from './ir.js';

/** Logical headers: string values only. */
export type Headers = Record<string, string>;

/** A message as the runtime asks a transport to publish it. */
export interface OutgoingMessage {
  body: Buffer;
  headers: Headers;
  /** Ordering/partition key; absent when the event declares none. */
  key?: string | undefined;
}

/** A message as a transport hands it to the runtime. */
export interface Delivery {
  body: Buffer;
  /** Logical headers as decoded from the wire; may be incomplete or wrong for poison messages. */
  headers: Headers;
  key?: string | undefined;
  /** Where the message was originally published: RabbitMQ exchange + routing key, or Kafka topic. */
  origin: string;
  /** True when the broker says this message was delivered before and not acknowledged. */
  redelivered: boolean;
  /**
   * How many earlier deliveries of this very message ended without an outcome (the consumer crashed,
   * lost its connection or released it), from a count the sender cannot forge: RabbitMQ quorum
   * queues' `x-delivery-count` (on redeliveries only, across processes), the memory broker's own
   * count, the Kafka consumer loop's count per partition and offset (in this process: a restart or a
   * rebalance starts it again). Absent where nothing counts (RabbitMQ classic queues). The runtime
   * dead-letters a message past `maxDeliveries` so one that crashes its consumer every time cannot
   * loop forever.
   */
  deliveryCount?: number | undefined;
  /**
   * Set by a transport that received a message it could not decode as the broker framed it (a
   * header table nested or sized beyond the binding's bounds, a header the client library could not
   * parse): `headers` then holds what could be read, possibly nothing. The runtime dead-letters such
   * a message at once with reason `invalid-headers` and this text as the error; no handler runs.
   */
  undecodable?: string | undefined;
}

/**
 * What to do with a delivery once the runtime is done with it. The transport must make the
 * outcome durable (the retry or dead-letter copy confirmed by the broker) before it acknowledges
 * or commits the original, so a crash in between duplicates a message but never loses one.
 */
export type Disposition =
  /** Processed (or a duplicate that was skipped): acknowledge / commit. */
  | { kind: 'ack' }
  /**
   * Deliver the same body again to this consumer only — not to other consumers of the event —
   * no earlier than `delayMs` from now, with exactly these headers (the attempt count updated).
   * The delay must be waited for by the broker side (TTL queue, retry topic, timer), never by
   * blocking the consumer's other messages.
   */
  | { kind: 'retry'; delayMs: number; headers: Headers }
  /**
   * Publish the original body to this consumer's dead-letter destination with exactly these
   * headers (original ones plus the dead-letter record), then acknowledge the original.
   */
  | { kind: 'dead-letter'; headers: Headers }
  /**
   * Do not acknowledge: the process is shutting down or lost its lease. The broker redelivers it
   * later (RabbitMQ: nack with requeue; Kafka: offset not committed; memory: put back).
   */
  | { kind: 'release' };

/** Called by the transport for each delivery; never rejects (the runtime turns errors into dispositions). */
export type DeliveryHandler = (delivery: Delivery) => Promise<Disposition>;

export interface Subscription {
  /**
   * Stop fetching new messages, wait for in-flight handlers (up to `timeoutMs`), carry out their
   * dispositions, and leave everything not yet handled to the broker for redelivery.
   */
  stop(options?: { timeoutMs?: number | undefined }): Promise<void>;
}

/** What a transport can promise; the conformance suite skips a check only when a flag says so. */
export interface TransportCapabilities {
  /** Messages with the same key reach a consumer in publish order, even with concurrency > 1. */
  perKeyOrdering: boolean;
  /** Retry delays are honoured per message (not rounded up to a tier). */
  exactRetryDelays: boolean;
}

export interface Transport {
  /** `memory`, `rabbitmq` or `kafka`. */
  readonly name: string;
  readonly capabilities: TransportCapabilities;
  /**
   * Connect, and (when the transport was created with `assertResources`, the default) make sure
   * the broker resources this topology needs exist. Idempotent.
   */
  start(topology: TopologyIR): Promise<void>;
  /**
   * Publish one event. Resolves only once the broker has accepted the message durably
   * (publisher confirm, Kafka acks from all in-sync replicas); rejects on nack, timeout or when
   * the transport cannot reach the broker within its bound. Never drops a message silently.
   */
  publish(event: EventIR, message: OutgoingMessage): Promise<void>;
  /**
   * Start consuming for one consumer: its queue/group gets every event it subscribes to, its
   * retries and nothing else. The handler runs at most `consumer.concurrency` times at once and,
   * where `capabilities.perKeyOrdering` is true, never twice at once for the same key.
   */
  subscribe(consumer: ConsumerIR, handler: DeliveryHandler): Promise<Subscription>;
  /** Stop every subscription (see {@link Subscription.stop}) and close connections. */
  close(options?: { timeoutMs?: number | undefined }): Promise<void>;
}
