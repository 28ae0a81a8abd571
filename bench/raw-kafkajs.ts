/**
 * The baselines for the Kafka bench: plain kafkajs with the settings the eventform transport uses —
 * an idempotent producer with acks from all in-sync replicas, keyed messages, one consumer group
 * consuming every partition at once, offsets committed only after the message was handled, the
 * same publishes in flight.
 *
 * Two ways to write that with kafkajs:
 * - `per-message` (the textbook one): `producer.send` per message — one produce request each, and
 *   kafkajs serialises the requests of an idempotent producer — and `eachMessage` with a commit
 *   after each message;
 * - `batched`, the strategy the eventform transport uses, written by hand: sends issued while a
 *   request is in flight are queued and go out together in the next `sendBatch`, and `eachBatch`
 *   commits once per fetched batch after handling all of it.
 * The bench measures the runtime against `batched`, so the ratio shows what the runtime itself
 * costs rather than what batching saves. Each side sends its messages as `wire` says: the bare
 * payload, or eventform's own wire format (CloudEvents binary or structured mode), so the ratio
 * against the same format is the framework's own cost.
 */
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import {
  STRUCTURED_CONTENT_TYPE,
  atFixedRate,
  binaryHeaders,
  counter,
  eventAttributes,
  latencyRecorder,
  payloadOf,
  pooled,
  rawSideName,
  samplePayload,
  structuredBody,
  within,
  type LatencySide,
  type Measurement,
  type RawWire,
  type Side,
} from './support.js';

export type RawKafkaMode = 'per-message' | 'batched';

export interface RawKafkaOptions {
  brokers: string[];
  inFlight: number;
  partitions: number;
  /** @default 'per-message' */
  mode?: RawKafkaMode;
  /**
   * What each message carries: the payload alone, or eventform's wire format in binary or
   * structured mode (support.ts builds it per message as the runtime does). @default 'bare'
   */
  wire?: RawWire;
}

export async function rawKafkajsSide(
  options: RawKafkaOptions,
): Promise<Side & LatencySide & { close(): Promise<void> }> {
  const mode = options.mode ?? 'per-message';
  const wire = options.wire ?? 'bare';
  const suffix = Math.random().toString(36).slice(2, 8);
  const topic = `bench-raw-${suffix}.OrderPlaced`;
  const groupId = `bench-raw-${suffix}`;
  const kafka = new Kafka({ clientId: `bench-raw-${suffix}`, brokers: options.brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic, numPartitions: options.partitions, replicationFactor: 1 }],
    waitForLeaders: true,
  });
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  const consumer = kafka.consumer({ groupId, heartbeatInterval: 500, sessionTimeout: 10_000 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = counter(0);
  let latency = latencyRecorder(0);
  // The handler: parse the payload (eventform's handler gets it parsed) and count it.
  const handle = (value: Buffer | null): void => {
    const payload = payloadOf(value!.toString('utf8'), wire);
    latency.handled(payload.orderId);
  };
  if (mode === 'per-message') {
    await consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: options.partitions,
      eachMessage: async ({ topic: t, partition, message }) => {
        handle(message.value);
        await consumer.commitOffsets([{ topic: t, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
        seen.tick();
      },
    });
  } else {
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: options.partitions,
      eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary, uncommittedOffsets }) => {
        for (const message of batch.messages) {
          handle(message.value);
          resolveOffset(message.offset);
        }
        // Committed before the messages count as handled, like the eventform side.
        await commitOffsetsIfNecessary(uncommittedOffsets());
        for (let i = 0; i < batch.messages.length; i++) seen.tick();
      },
    });
  }

  const messageOf = (i: number): KafkaMessage => {
    const payload = samplePayload(i);
    if (wire === 'bare') return { key: payload.orderId, value: JSON.stringify(payload) };
    const attributes = eventAttributes(i);
    if (wire === 'binary') {
      return { key: payload.orderId, value: JSON.stringify(payload), headers: binaryHeaders('ce_', attributes) };
    }
    return {
      key: payload.orderId,
      value: structuredBody(attributes, payload),
      headers: { 'content-type': STRUCTURED_CONTENT_TYPE },
    };
  };
  const publishOne =
    mode === 'per-message'
      ? async (i: number) => {
          await producer.send({ topic, acks: -1, messages: [messageOf(i)] });
        }
      : batchingSend(messageOf, async (messages) => {
          await producer.sendBatch({ acks: -1, topicMessages: [{ topic, messages }] });
        });

  const name = rawSideName(mode === 'per-message' ? 'kafkajs per message' : 'kafkajs', wire);
  return {
    name,
    async run(messages: number): Promise<Measurement> {
      seen = counter(messages);
      const started = performance.now();
      await pooled(messages, options.inFlight, publishOne);
      await within(seen.done, 60_000 + messages * 20, () => `${name} consumed ${seen.count}/${messages}`);
      return { messages, ms: performance.now() - started };
    },
    async atRate(count: number, ratePerSecond: number): Promise<number[]> {
      seen = counter(count);
      latency = latencyRecorder(count);
      const recorder = latency;
      await atFixedRate(count, ratePerSecond, (i) => {
        recorder.mark(i);
        return publishOne(i);
      });
      return within(recorder.done, 60_000 + count * 20, () => `${name} handled too few at a fixed rate`);
    },
    async close() {
      await consumer.disconnect();
      await producer.disconnect();
      await admin.deleteGroups([groupId]).catch(() => undefined);
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    },
  };
}

type KafkaMessage = { key: string; value: string; headers?: Record<string, string> };

/**
 * `send(i)` that resolves once the request holding message `i` is acknowledged; messages sent while
 * a request is in flight wait and go together in the next one (at most 1000 per request).
 */
function batchingSend(
  messageOf: (i: number) => KafkaMessage,
  sendBatch: (messages: KafkaMessage[]) => Promise<void>,
): (i: number) => Promise<void> {
  let queue: { message: KafkaMessage; resolve: () => void; reject: (e: unknown) => void }[] = [];
  let flushing = false;
  const flush = async (): Promise<void> => {
    flushing = true;
    while (queue.length > 0) {
      const batch = queue.slice(0, 1000);
      queue = queue.slice(batch.length);
      try {
        await sendBatch(batch.map((p) => p.message));
        for (const p of batch) p.resolve();
      } catch (error) {
        for (const p of batch) p.reject(error);
      }
    }
    flushing = false;
  };
  return (i) =>
    new Promise<void>((resolve, reject) => {
      queue.push({ message: messageOf(i), resolve, reject });
      // Let every send issued in this turn join the request.
      if (!flushing && queue.length === 1) setImmediate(() => void (flushing || flush()));
    });
}
