/**
 * Micro-batching on top of one idempotent kafkajs producer.
 *
 * kafkajs serialises produce requests per broker for an idempotent producer, so sending each
 * message in its own request caps throughput at one round trip per message. Here every `send`
 * joins a queue; while one produce request is in flight the queue grows, and the next request
 * carries all of it (bounded by message count and bytes). Each `send` settles once the request
 * holding its message is acknowledged by all in-sync replicas (acks = -1), or rejects with that
 * request's error: a message is never dropped silently.
 *
 * Order: requests are sent one at a time and kafkajs keeps the order of messages within a
 * partition, so two sends of the same key reach the partition in call order.
 */
import type { ICustomPartitioner, IHeaders, Producer, RecordMetadata } from 'kafkajs';
import { EventformError } from '@eventform/runtime';
import { describeKafkaError } from './client.js';
import { EVENTFORM_RECORD } from './record-encoder.js';

export interface OutgoingRecord {
  key?: string | undefined;
  value: Buffer;
  headers: IHeaders;
}

export interface BatchingPublisherOptions {
  maxBatchMessages: number;
  maxBatchBytes: number;
  /** Broker-side time to collect acks. */
  produceTimeoutMs: number;
}

/** A publish the broker did not confirm. `cause` is the kafkajs error. */
export class KafkaPublishError extends EventformError {
  readonly code = 'EF_KAFKA_PUBLISH';
  constructor(
    message: string,
    readonly topic: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Where the partitioner put a message of the current request (set by {@link recordingPartitioner}). */
const PARTITION = Symbol('eventform.partition');

/**
 * Wraps the producer's partitioner so that each message remembers the partition it was sent to.
 *
 * Why: kafkajs 2.2.4's produce retry skips every broker that already answered the request's first
 * try. When a partition's leader dies and leadership moves to a broker that had answered for other
 * partitions, the dead leader's messages are never sent again, yet the send resolves (the cluster
 * test, test/cluster, lost 6 of 2,000 events that way). With the partition of each message known,
 * {@link BatchingPublisher} checks the response covers it and rejects the messages it does not.
 */
export function recordingPartitioner(create: ICustomPartitioner): ICustomPartitioner {
  return () => {
    const inner = create();
    return (args) => {
      const partition = inner(args);
      (args.message as { [PARTITION]?: number })[PARTITION] = partition;
      return partition;
    };
  };
}

interface Pending {
  topic: string;
  record: OutgoingRecord;
  size: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

export class BatchingPublisher {
  private queue: Pending[] = [];
  private flushing: Promise<void> | null = null;
  private scheduled = false;
  private closed = false;
  private producer: Producer | null = null;

  /**
   * @param createProducer makes a new idempotent producer. After a failed request the current
   * producer is dropped and the next request uses a fresh one: kafkajs rolls sequence numbers
   * back on failure, and reusing them for other messages could make the broker discard those as
   * duplicates of a write that did land. A new producer id starts a new sequence.
   */
  constructor(
    private readonly createProducer: () => Producer,
    private readonly options: BatchingPublisherOptions,
  ) {}

  /** Connect the first producer (so `start()` fails early when the cluster is unreachable). */
  async connect(): Promise<void> {
    await this.currentProducer();
  }

  /** Queue one record; resolves when Kafka acknowledged it. */
  send(topic: string, record: OutgoingRecord): Promise<void> {
    if (this.closed) {
      return Promise.reject(new KafkaPublishError(`cannot publish to ${topic}: the Kafka transport is closed`, topic));
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ topic, record, size: sizeOf(record), resolve, reject });
      this.schedule();
    });
  }

  /** Wait until everything queued so far is sent (or failed), then refuse new sends. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.flushing || this.queue.length > 0) {
      if (!this.flushing) this.flushing = this.flush();
      await this.flushing;
    }
    await this.dropProducer();
  }

  private async currentProducer(): Promise<Producer> {
    if (this.producer) return this.producer;
    const producer = this.createProducer();
    try {
      await producer.connect();
    } catch (error) {
      await producer.disconnect().catch(() => undefined);
      throw error;
    }
    this.producer = producer;
    return producer;
  }

  private async dropProducer(): Promise<void> {
    const producer = this.producer;
    this.producer = null;
    await producer?.disconnect().catch(() => undefined);
  }

  private schedule(): void {
    if (this.scheduled || this.flushing) return;
    this.scheduled = true;
    // setImmediate: let every send issued in the current turn join the same request.
    setImmediate(() => {
      this.scheduled = false;
      if (!this.flushing) this.flushing = this.flush();
    });
  }

  private async flush(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.take();
        const byTopic = new Map<string, Pending[]>();
        for (const p of batch) {
          const list = byTopic.get(p.topic) ?? [];
          list.push(p);
          byTopic.set(p.topic, list);
        }
        try {
          const producer = await this.currentProducer();
          // Each message given to kafkajs, in the order of `batch`'s topics (the partitioner records its partition on it).
          const sent: Pending[] = [];
          const messages: SentMessage[] = [];
          const topicMessages = [...byTopic].map(([topic, pendings]) => ({
            topic,
            messages: pendings.map((pending) => {
              const message: SentMessage = {
                key: pending.record.key ?? null,
                value: pending.record.value,
                headers: pending.record.headers,
                [EVENTFORM_RECORD]: true as const,
              };
              sent.push(pending);
              messages.push(message);
              return message;
            }),
          }));
          const acknowledged = await producer.sendBatch({
            acks: -1,
            timeout: this.options.produceTimeoutMs,
            topicMessages,
          });
          const missing = unacknowledged(sent, messages, acknowledged);
          if (missing.size > 0) await this.dropProducer(); // a fresh producer id for what is sent again
          for (const pending of sent) {
            const partition = missing.get(pending);
            if (partition === undefined) pending.resolve();
            else {
              pending.reject(
                new KafkaPublishError(
                  `Kafka did not acknowledge the message to ${pending.topic} (partition ${partition} is not in the response: its leader changed during the request); it may or may not have been stored`,
                  pending.topic,
                ),
              );
            }
          }
        } catch (error) {
          await this.dropProducer();
          const topics = [...byTopic.keys()].join(', ');
          const text = describeKafkaError(error);
          for (const p of batch) {
            p.reject(
              new KafkaPublishError(
                `Kafka did not acknowledge the message to ${p.topic} (request to ${topics}): ${text}`,
                p.topic,
                {
                  cause: error,
                },
              ),
            );
          }
        }
      }
    } finally {
      this.flushing = null;
    }
  }

  private take(): Pending[] {
    let count = 0;
    let bytes = 0;
    while (count < this.queue.length && count < this.options.maxBatchMessages) {
      const size = (this.queue[count] as Pending).size;
      if (count > 0 && bytes + size > this.options.maxBatchBytes) break;
      bytes += size;
      count++;
    }
    return this.queue.splice(0, count);
  }
}

/** A message as the publisher hands it to kafkajs' `sendBatch`. */
interface SentMessage {
  key: string | null;
  value: Buffer;
  headers: IHeaders;
  [EVENTFORM_RECORD]: true;
  [PARTITION]?: number;
}

/**
 * The sends whose message's partition, as the partitioner chose it, has no entry in
 * the response, with that partition. A message without a recorded partition (a producer without
 * {@link recordingPartitioner}) is taken as acknowledged, as kafkajs reports it. `messages[i]` is
 * what was sent for `sent[i]`.
 */
function unacknowledged(sent: Pending[], messages: SentMessage[], response: RecordMetadata[]): Map<Pending, number> {
  // Topic → acknowledged partitions: looked up per message without building a string for each.
  const acknowledged = new Map<string, Set<number>>();
  for (const r of response) {
    if (r.errorCode !== 0) continue;
    let partitions = acknowledged.get(r.topicName);
    if (!partitions) acknowledged.set(r.topicName, (partitions = new Set()));
    partitions.add(r.partition);
  }
  const missing = new Map<Pending, number>();
  for (let i = 0; i < sent.length; i++) {
    const pending = sent[i]!;
    const partition = messages[i]![PARTITION];
    if (partition !== undefined && !acknowledged.get(pending.topic)?.has(partition)) missing.set(pending, partition);
  }
  return missing;
}

/** About the bytes a record takes in a request, for `maxBatchBytes`. */
function sizeOf(record: OutgoingRecord): number {
  let size = record.value.length + (record.key ? Buffer.byteLength(record.key) : 0) + 64;
  const headers = record.headers;
  for (const name in headers) {
    const value = headers[name];
    size +=
      Buffer.byteLength(name) +
      (typeof value === 'string' ? Buffer.byteLength(value) : Buffer.isBuffer(value) ? value.length : 16);
  }
  return size;
}
