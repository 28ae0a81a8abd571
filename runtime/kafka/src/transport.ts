/**
 * The Kafka binding of the {@link Transport} interface (kafkajs).
 *
 * - publish: one idempotent producer, acks from all in-sync replicas, micro-batched (see
 *   {@link BatchingPublisher}); message key = `OutgoingMessage.key`; the logical headers mapped by
 *   runtime/core/headers.ts (CloudEvents attributes as `ce_` headers, the content type as
 *   `content-type`). Resolves once acknowledged, rejects with {@link KafkaPublishError}.
 * - subscribe: one consumer group per consumer (`ConsumerIR.kafka.groupId`) on the topics of its
 *   events, plus a second group (`<groupId>.retry`) on its retry topic. Offsets are committed
 *   manually and only up to the highest contiguous offset whose disposition is durable.
 * - retry: the message is produced to the consumer's retry topic with `ef-due-at` and
 *   `ef-retry-for`; the retry group pauses a partition until its head message is due (at most the
 *   consumer's longest delay plus `retryDueMarginMs` ahead), so delays never block the event
 *   topics (see README.md).
 * - delivery count: Kafka keeps none, so each consumer loop counts the deliveries of an offset
 *   that ended without an outcome and hands the count to the runtime as `deliveryCount`
 *   (in this process only; see README.md).
 * - dead letter: produced to the consumer's dead-letter topic, original body and key, the
 *   runtime's headers (original ones plus the `ef-dl-*` record).
 */
import { withDefaults } from '@eventform/runtime';
import kafkajs from 'kafkajs';
import type { Kafka, KafkaMessage, RetryOptions } from 'kafkajs';
import type {
  ConsumerIR,
  Delivery,
  DeliveryHandler,
  Disposition,
  EventIR,
  Logger,
  OutgoingMessage,
  Subscription,
  TopologyIR,
  Transport,
  TransportCapabilities,
} from '@eventform/runtime';
import {
  createJsonLogger,
  EF,
  EventformError,
  fromWireHeaders,
  KeyScheduler,
  retryCopyHeaders,
  toWireHeaders,
  TransportLifecycle,
} from '@eventform/runtime';
import { createKafkaClient, parseBrokers } from './client.js';
import {
  ConsumerLoop,
  type ConsumerLoopSettings,
  type MessageOutcome,
  type PartitionMessage,
} from './consumer-loop.js';
import { KAFKA_DEFAULTS, type KafkaLogLevel } from './defaults.js';
import { provisionKafka, type KafkaPlanItem } from './provision.js';
import { BatchingPublisher, recordingPartitioner } from './publisher.js';
import { kafkajsFastPaths, reportFastPaths, type KafkajsFastPaths } from './kafkajs-internals.js';

const { Partitioners } = kafkajs;

export interface KafkaTransportOptions {
  /** `host:port` list, as an array or a comma-separated string. */
  brokers: string[] | string;
  /** @default 'eventform' */
  clientId?: string | undefined;
  /**
   * Create missing topics and grow partitions on `start()` (see `provisionKafka`); a conflict
   * (a topic that would shrink, a differing config) makes `start()` fail.
   * @default true
   */
  assertResources?: boolean | undefined;
  /** @default JSON lines on stderr (runtime/core/logger.ts) */
  logger?: Logger | undefined;
  /** Level of kafkajs' own log lines passed to `logger`. @default 'warn' */
  kafkaLogLevel?: KafkaLogLevel | undefined;
  /** kafkajs retry policy for every request. @default 20 retries, 300ms doubling to 5s */
  retry?: RetryOptions | undefined;
  /** Consumer group session timeout in ms (the broker allows 6s..30min by default). @default 30_000 */
  sessionTimeout?: number | undefined;
  /** @default 3_000 */
  heartbeatInterval?: number | undefined;
  /** @default 60_000 */
  rebalanceTimeout?: number | undefined;
  /** Longest fetch long-poll, ms; also the latency of a resumed partition. @default 1_000 */
  maxWaitTimeInMs?: number | undefined;
  /** Fetch long-poll of the retry consumer, ms: bounds how late a due retry is handled. @default 250 */
  retryMaxWaitTimeInMs?: number | undefined;
  /** Where a consumer group without committed offsets starts. @default 'earliest' */
  startFrom?: 'earliest' | 'latest' | undefined;
  /** @default 3_000 */
  connectionTimeoutMs?: number | undefined;
  /** @default 30_000 */
  requestTimeoutMs?: number | undefined;
  /** Broker-side ack timeout of a produce request. @default 30_000 */
  produceTimeoutMs?: number | undefined;
  /** @default 1_000 */
  maxBatchMessages?: number | undefined;
  /** @default 524_288 */
  maxBatchBytes?: number | undefined;
  /** Pause after a `release` or a failed disposition before the partition is fetched again. @default 1_000 */
  releaseBackoffMs?: number | undefined;
  /**
   * How much further ahead than the consumer's longest retry delay a retry copy's `ef-due-at` may
   * lie (clock skew between instances); a later one, forged or skewed, is clamped to now + that
   * delay + this margin. @default 30_000
   */
  retryDueMarginMs?: number | undefined;
}

/** `start()` found topics it must not change; `conflicts` lists them. */
export class KafkaResourceConflictError extends EventformError {
  readonly code = 'EF_KAFKA_CONFLICT';
  constructor(readonly conflicts: KafkaPlanItem[]) {
    super(
      `Kafka topics differ from the topology and were left unchanged:\n` +
        conflicts.map((c) => `  - ${c.name}: ${c.detail}`).join('\n') +
        `\nFix the topics (or the topology), or start the transport with assertResources: false.`,
    );
  }
}

/** A call that needs `start()` first, or a subscription for something the topology lacks. */
export class KafkaTransportStateError extends EventformError {
  readonly code = 'EF_KAFKA_STATE';
}

export class KafkaTransport implements Transport {
  readonly name = 'kafka';
  readonly capabilities: TransportCapabilities = { perKeyOrdering: true, exactRetryDelays: true };

  private readonly brokers: string[];
  private readonly logger: Logger;
  private readonly kafka: Kafka;
  private readonly retry: RetryOptions;
  private topology: TopologyIR | null = null;
  private publisher: BatchingPublisher | null = null;
  private readonly lifecycle = new TransportLifecycle<KafkaSubscription>('KafkaTransport', KafkaTransportStateError);
  /** Which of kafkajs' internals the process uses (version gate, self-check, environment). */
  readonly fastPaths: KafkajsFastPaths;

  constructor(private readonly options: KafkaTransportOptions) {
    this.brokers = parseBrokers(options.brokers);
    this.logger = options.logger ?? createJsonLogger();
    // Before this transport (or anything after it) produces or fetches: see kafkajs-internals.ts.
    this.fastPaths = kafkajsFastPaths();
    reportFastPaths(this.fastPaths, this.logger);
    this.retry = withDefaults<RetryOptions>({ ...KAFKA_DEFAULTS.retry }, options.retry);
    this.kafka = createKafkaClient({
      brokers: this.brokers,
      clientId: options.clientId ?? KAFKA_DEFAULTS.clientId,
      logger: this.logger,
      logLevel: options.kafkaLogLevel ?? 'warn',
      retry: this.retry,
      connectionTimeoutMs: options.connectionTimeoutMs ?? KAFKA_DEFAULTS.connectionTimeoutMs,
      requestTimeoutMs: options.requestTimeoutMs ?? KAFKA_DEFAULTS.requestTimeoutMs,
    });
  }

  start(topology: TopologyIR): Promise<void> {
    return this.lifecycle.start(topology, this.topology, () => this.doStart(topology));
  }

  private async doStart(topology: TopologyIR): Promise<void> {
    if (this.options.assertResources ?? true) {
      const plan = await provisionKafka(topology, {
        brokers: this.brokers,
        logger: this.logger,
        clientId: this.options.clientId ?? KAFKA_DEFAULTS.clientId,
        retry: this.retry,
      });
      const conflicts = plan.filter((item) => item.action === 'conflict');
      if (conflicts.length > 0) throw new KafkaResourceConflictError(conflicts);
      const changed = plan.filter((item) => item.action !== 'unchanged');
      if (changed.length > 0) {
        this.logger.info('kafka topics provisioned', { changes: changed.map((c) => `${c.action} ${c.name}`) });
      }
    }
    const publisher = new BatchingPublisher(
      () =>
        this.kafka.producer({
          idempotent: true,
          // kafkajs requires 1 in flight for the idempotent producer to keep order on retries.
          maxInFlightRequests: 1,
          allowAutoTopicCreation: false,
          // Records each message's partition: see recordingPartitioner (a kafkajs retry can skip some).
          createPartitioner: recordingPartitioner(Partitioners.DefaultPartitioner),
          retry: this.retry,
        }),
      {
        maxBatchMessages: this.options.maxBatchMessages ?? KAFKA_DEFAULTS.maxBatchMessages,
        maxBatchBytes: this.options.maxBatchBytes ?? KAFKA_DEFAULTS.maxBatchBytes,
        produceTimeoutMs: this.options.produceTimeoutMs ?? KAFKA_DEFAULTS.produceTimeoutMs,
      },
    );
    await publisher.connect();
    this.publisher = publisher;
    this.topology = topology;
  }

  publish(event: EventIR, message: OutgoingMessage): Promise<void> {
    // Not async: the publisher's promise is the only one a publish makes here.
    let publisher: BatchingPublisher;
    try {
      publisher = this.lifecycle.require('publish', this.publisher);
    } catch (error) {
      return Promise.reject(error);
    }
    return publisher.send(event.kafka.topic, {
      key: message.key,
      value: message.body,
      headers: toWireHeaders(message.headers, 'kafka'),
    });
  }

  async subscribe(consumer: ConsumerIR, handler: DeliveryHandler): Promise<Subscription> {
    const publisher = this.lifecycle.require('subscribe', this.publisher);
    const topology = this.topology as TopologyIR;
    const topics = consumer.events.map((name) => {
      const event = topology.events.find((e) => e.name === name);
      if (!event) {
        throw new KafkaTransportStateError(
          `consumer ${consumer.id} consumes ${name}, which topology ${topology.name} lacks`,
        );
      }
      return event.kafka.topic;
    });
    const subscription = new KafkaSubscription({
      kafka: this.kafka,
      consumer,
      topics,
      handler,
      publisher,
      logger: this.logger,
      settings: this.loopSettings(),
      retryMaxWaitTimeInMs: this.options.retryMaxWaitTimeInMs ?? KAFKA_DEFAULTS.retryMaxWaitTimeMs,
      retryDueMarginMs: this.options.retryDueMarginMs ?? KAFKA_DEFAULTS.retryDueMarginMs,
      onStopped: (s) => this.lifecycle.subscriptions.delete(s),
    });
    return this.lifecycle.subscribe(subscription);
  }

  close(options: { timeoutMs?: number } = {}): Promise<void> {
    return this.lifecycle.close(options.timeoutMs ?? KAFKA_DEFAULTS.stopTimeoutMs, async () => {
      await this.publisher?.close();
    });
  }

  private loopSettings(): ConsumerLoopSettings {
    const o = this.options;
    const rebalanceTimeout = o.rebalanceTimeout ?? KAFKA_DEFAULTS.rebalanceTimeoutMs;
    return {
      sessionTimeout: o.sessionTimeout ?? KAFKA_DEFAULTS.sessionTimeoutMs,
      heartbeatInterval: o.heartbeatInterval ?? KAFKA_DEFAULTS.heartbeatIntervalMs,
      rebalanceTimeout,
      maxWaitTimeInMs: o.maxWaitTimeInMs ?? KAFKA_DEFAULTS.maxWaitTimeMs,
      retry: this.retry,
      fromBeginning: (o.startFrom ?? KAFKA_DEFAULTS.startFrom) === 'earliest',
      releaseBackoffMs: o.releaseBackoffMs ?? KAFKA_DEFAULTS.releaseBackoffMs,
      crashRestartDelayMs: KAFKA_DEFAULTS.crashRestartDelayMs,
      // Leave half of the rebalance window for committing and rejoining.
      revokeTimeoutMs: Math.floor(rebalanceTimeout / 2),
    };
  }
}

interface KafkaSubscriptionOptions {
  kafka: Kafka;
  consumer: ConsumerIR;
  topics: string[];
  handler: DeliveryHandler;
  publisher: BatchingPublisher;
  logger: Logger;
  settings: ConsumerLoopSettings;
  retryMaxWaitTimeInMs: number;
  retryDueMarginMs: number;
  onStopped: (subscription: KafkaSubscription) => void;
}

/** The main and the retry consumer of one eventform consumer, sharing one {@link KeyScheduler}. */
class KafkaSubscription implements Subscription {
  private readonly loops: ConsumerLoop[] = [];
  private stopping: Promise<void> | null = null;

  constructor(private readonly o: KafkaSubscriptionOptions) {
    const { consumer } = o;
    const scheduler = new KeyScheduler(consumer.concurrency);
    const common = {
      kafka: o.kafka,
      scheduler,
      partitionsConcurrently: consumer.concurrency,
      handle: (m: PartitionMessage) => this.handle(m),
      logger: o.logger,
      settings: o.settings,
    };
    this.loops.push(new ConsumerLoop({ ...common, groupId: consumer.kafka.groupId, topics: o.topics, mode: 'main' }));
    if (consumer.kafka.retryTopic) {
      this.loops.push(
        new ConsumerLoop({
          ...common,
          groupId: `${consumer.kafka.groupId}.retry`,
          topics: [consumer.kafka.retryTopic],
          mode: 'retry',
          settings: { ...o.settings, maxWaitTimeInMs: o.retryMaxWaitTimeInMs },
          maxDueAheadMs: Math.max(consumer.retry.maxDelayMs, ...consumer.retry.delaysMs) + o.retryDueMarginMs,
        }),
      );
    }
  }

  async start(): Promise<void> {
    await Promise.all(this.loops.map((loop) => loop.start()));
  }

  stop(options: { timeoutMs?: number } = {}): Promise<void> {
    this.stopping ??= (async () => {
      const timeoutMs = options.timeoutMs ?? KAFKA_DEFAULTS.stopTimeoutMs;
      await Promise.all(this.loops.map((loop) => loop.stop(timeoutMs)));
      this.o.onStopped(this);
    })();
    return this.stopping;
  }

  /** Not async, nor is `carryOut` for an ack: every promise costs the process's async hooks. */
  private handle(m: PartitionMessage): Promise<MessageOutcome> {
    const delivery = toDelivery(m);
    return this.o.handler(delivery).then((disposition) => this.carryOut(disposition, m.message, delivery));
  }

  /** Make the disposition durable; `done` only once the broker acknowledged any copy. */
  private carryOut(
    disposition: Disposition,
    message: KafkaMessage,
    delivery: Delivery,
  ): MessageOutcome | Promise<MessageOutcome> {
    const { consumer, publisher } = this.o;
    switch (disposition.kind) {
      case 'ack':
        return 'done';
      case 'release':
        return 'release';
      case 'retry': {
        const topic = consumer.kafka.retryTopic;
        if (!topic) throw new Error(`consumer ${consumer.id} has no retry topic, yet the runtime asked for a retry`);
        return publisher
          .send(topic, {
            key: delivery.key,
            value: message.value ?? Buffer.alloc(0),
            headers: toWireHeaders(retryCopyHeaders(disposition, consumer.id, delivery), 'kafka'),
          })
          .then((): MessageOutcome => 'done');
      }
      case 'dead-letter': {
        const topic = consumer.kafka.deadLetterTopic;
        if (!topic) {
          throw new Error(`consumer ${consumer.id} has no dead-letter topic, yet the runtime asked to dead-letter`);
        }
        return publisher
          .send(topic, {
            key: delivery.key,
            value: message.value ?? Buffer.alloc(0),
            headers: toWireHeaders(disposition.headers, 'kafka'),
          })
          .then((): MessageOutcome => 'done');
      }
    }
  }
}

/** A kafkajs message as the runtime sees it. */
function toDelivery(m: PartitionMessage): Delivery {
  const headers = fromWireHeaders(m.message.headers as Record<string, unknown> | undefined, 'kafka');
  const delivery: Delivery = {
    body: m.message.value ?? Buffer.alloc(0),
    headers,
    origin: headers[EF.origin] ?? m.topic,
    redelivered: m.redelivered,
    deliveryCount: m.deliveryCount,
  };
  if (m.key !== undefined) delivery.key = m.key;
  return delivery;
}
