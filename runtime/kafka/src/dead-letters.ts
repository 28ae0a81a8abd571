/**
 * The dead letters of a topology's consumers on Kafka, for `eventform dlq` (see
 * {@link DeadLetterStore} in @eventform/runtime).
 *
 * - A pass reads the consumer's dead-letter topic from its low to its high watermark as they were
 *   when the pass began, with a throwaway consumer group (no offsets committed; the group is
 *   deleted afterwards), one message at a time.
 * - Replay produces the copy to the consumer's retry topic. Only that consumer's retry group reads
 *   it (see resources.ts), so the copy reaches the consumer it came from and no other consumer of
 *   the event, and it is handled at once (`ef-due-at` now) as attempt 1. A consumer without a
 *   retry topic (`retry.attempts: 1`) has no such path: its dead letters cannot be replayed to it
 *   alone, and {@link DeadLetterStore.replayBlocked} says so.
 * - A topic is a log: a replayed record stays in the dead-letter topic, and single records cannot
 *   be deleted. `truncate` deletes every record up to the high watermark (DeleteRecords).
 */
import { randomUUID } from 'node:crypto';
import type { Admin, Kafka, KafkaMessage, Producer, RetryOptions } from 'kafkajs';
import type { ConsumerIR, DeadLetterPassOptions, DecideDeadLetter, Logger } from '@eventform/runtime';
import type { DeadLetterStore, Headers, StoredDeadLetter } from '@eventform/runtime';
import {
  carryOutDecision,
  createJsonLogger,
  emptyPass,
  fromWireHeaders,
  requireDeadLetterLocation,
  retryPathBlocked,
  retryPathReplayHeaders,
  toWireHeaders,
} from '@eventform/runtime';
import { createKafkaClient, describeKafkaError, parseBrokers } from './client.js';
import { KAFKA_DEFAULTS, defaultKafkaBrokers } from './defaults.js';

export interface KafkaDeadLettersOptions {
  /** `host:port` list. @default $KAFKA_BROKERS, else 127.0.0.1:19092 */
  brokers?: string[] | string | undefined;
  /** @default 'eventform' */
  clientId?: string | undefined;
  /** @default JSON lines on stderr */
  logger?: Logger | undefined;
  /** kafkajs retry policy of every request. @default about 10 s of retries, like `eventform provision` */
  retry?: RetryOptions | undefined;
  /**
   * How long a pass waits for the next record of a partition it has not read to its end before it
   * gives up (a record that never comes: a transaction marker at the end). @default 30_000
   */
  stallTimeoutMs?: number | undefined;
}

/** Connects to Kafka and gives access to the dead letters of a topology's consumers. */
export async function openKafkaDeadLetters(options: KafkaDeadLettersOptions = {}): Promise<DeadLetterStore> {
  const brokers = parseBrokers(options.brokers ?? defaultKafkaBrokers());
  const logger = options.logger ?? createJsonLogger({ fields: { component: 'kafka-dlq' } });
  const kafka = createKafkaClient({
    brokers,
    clientId: options.clientId ?? KAFKA_DEFAULTS.clientId,
    logger,
    retry: options.retry ?? KAFKA_DEFAULTS.provisionRetry,
  });
  const admin = kafka.admin();
  await admin.connect().catch((error: unknown) => {
    throw new Error(`cannot connect to Kafka at ${brokers.join(',')}: ${describeKafkaError(error)}`);
  });
  return new KafkaDeadLetters(kafka, admin, options.stallTimeoutMs ?? 30_000);
}

interface PartitionRange {
  partition: number;
  low: bigint;
  high: bigint;
}

class KafkaDeadLetters implements DeadLetterStore {
  readonly broker = 'kafka';
  readonly locationKind = 'topic';
  readonly deletesSingle = false;
  private producer: Promise<Producer> | null = null;

  constructor(
    private readonly kafka: Kafka,
    private readonly admin: Admin,
    private readonly stallTimeoutMs: number,
  ) {}

  location(consumer: ConsumerIR): string | null {
    return consumer.kafka.deadLetterTopic;
  }

  replayBlocked(consumer: ConsumerIR): string | null {
    return retryPathBlocked(consumer, 'Kafka', consumer.kafka.retryTopic, 'topic');
  }

  async pass(consumer: ConsumerIR, decide: DecideDeadLetter, options: DeadLetterPassOptions = {}) {
    const result = emptyPass(this, consumer);
    const topic = result.location;
    const ranges = await this.ranges(topic);
    if (ranges === null) return { ...result, missing: true };
    const open = new Map(ranges.filter((r) => r.high > r.low).map((r) => [r.partition, r]));
    const total = [...open.values()].reduce((n, r) => n + Number(r.high - r.low), 0);
    options.onTotal?.(total);
    if (total === 0) return result;

    const groupId = `eventform-dlq-${randomUUID()}`;
    const reader = this.kafka.consumer({ groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 500 });
    let failure: unknown;
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    let stall: NodeJS.Timeout | undefined;
    const watch = (): void => {
      clearTimeout(stall);
      stall = setTimeout(() => {
        const where = [...open.values()].map((r) => `partition ${r.partition} (up to offset ${r.high})`).join(', ');
        failure ??= new Error(`no more records came from ${topic} ${where} within ${this.stallTimeoutMs}ms`);
        finish();
      }, this.stallTimeoutMs);
    };
    const settled = (partition: number): void => {
      open.delete(partition);
      if (open.size === 0) finish();
    };
    try {
      await reader.connect();
      await reader.subscribe({ topics: [topic], fromBeginning: true });
      watch();
      await reader.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          const range = open.get(partition);
          if (failure !== undefined || range === undefined) return;
          const offset = BigInt(message.offset);
          if (offset >= range.high) return settled(partition);
          watch();
          try {
            result.read++;
            const decision = await decide(stored(consumer.id, partition, message));
            // No `remove`: a topic is a log, a replayed record stays in it.
            await carryOutDecision(decision, { replay: (headers) => this.replay(consumer, message, headers) }, result);
          } catch (error) {
            failure = error;
            return finish();
          }
          if (offset + 1n >= range.high) settled(partition);
        },
      });
      await finished;
    } finally {
      clearTimeout(stall);
      await reader.disconnect().catch(() => {});
      await this.admin.deleteGroups([groupId]).catch(() => {});
    }
    if (failure !== undefined) throw failure;
    return result;
  }

  async truncate(consumer: ConsumerIR): Promise<number> {
    const topic = requireDeadLetterLocation(this, consumer);
    const ranges = await this.ranges(topic);
    if (ranges === null) return 0;
    const full = ranges.filter((r) => r.high > r.low);
    if (full.length === 0) return 0;
    await this.admin.deleteTopicRecords({
      topic,
      partitions: full.map((r) => ({ partition: r.partition, offset: String(r.high) })),
    });
    return full.reduce((n, r) => n + Number(r.high - r.low), 0);
  }

  async close(): Promise<void> {
    const producer = await this.producer?.catch(() => null);
    await producer?.disconnect().catch(() => {});
    await this.admin.disconnect().catch(() => {});
  }

  /** Each partition's low and high watermark, or null when the topic does not exist. */
  private async ranges(topic: string): Promise<PartitionRange[] | null> {
    const topics = await this.admin.listTopics();
    if (!topics.includes(topic)) return null;
    const offsets = await this.admin.fetchTopicOffsets(topic);
    return offsets.map((o) => ({ partition: o.partition, low: BigInt(o.low), high: BigInt(o.high) }));
  }

  /** Produces the copy to the consumer's retry topic; resolves once every in-sync replica has it. */
  private async replay(consumer: ConsumerIR, message: KafkaMessage, headers: Headers): Promise<void> {
    const blocked = this.replayBlocked(consumer);
    if (blocked !== null) throw new Error(blocked);
    const producer = await this.connectedProducer();
    await producer.send({
      topic: consumer.kafka.retryTopic!,
      acks: -1,
      messages: [
        {
          key: message.key,
          value: message.value ?? Buffer.alloc(0),
          headers: toWireHeaders(retryPathReplayHeaders(consumer, headers), 'kafka'),
        },
      ],
    });
  }

  private connectedProducer(): Promise<Producer> {
    this.producer ??= (async () => {
      const producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
      await producer.connect();
      return producer;
    })();
    return this.producer;
  }
}

function stored(consumer: string, partition: number, message: KafkaMessage): StoredDeadLetter {
  return {
    consumer,
    body: message.value ?? Buffer.alloc(0),
    headers: fromWireHeaders(message.headers as Record<string, unknown> | undefined, 'kafka'),
    key: message.key ? message.key.toString('utf8') : undefined,
    position: `partition ${partition} offset ${message.offset}`,
  };
}
