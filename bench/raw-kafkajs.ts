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
 * costs rather than what batching saves.
 */
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { counter, envelopeLikeHeaders, pooled, samplePayload, within, type Measurement, type Side } from './support.js';

export type RawKafkaMode = 'per-message' | 'batched';

export interface RawKafkaOptions {
  brokers: string[];
  inFlight: number;
  partitions: number;
  /** @default 'per-message' */
  mode?: RawKafkaMode;
  /**
   * Also send headers like eventform's envelope (see `envelopeLikeHeaders`): a reference row that
   * shows what the wire format alone costs. @default false
   */
  envelopeHeaders?: boolean;
}

export async function rawKafkajsSide(options: RawKafkaOptions): Promise<Side & { close(): Promise<void> }> {
  const mode = options.mode ?? 'per-message';
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
  if (mode === 'per-message') {
    await consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: options.partitions,
      eachMessage: async ({ topic: t, partition, message }) => {
        JSON.parse(message.value!.toString('utf8'));
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
          JSON.parse(message.value!.toString('utf8'));
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
    const message: KafkaMessage = { key: payload.orderId, value: JSON.stringify(payload) };
    if (options.envelopeHeaders) message.headers = envelopeLikeHeaders('ce_', payload.orderId);
    return message;
  };
  const publishOne =
    mode === 'per-message'
      ? async (i: number) => {
          await producer.send({ topic, acks: -1, messages: [messageOf(i)] });
        }
      : batchingSend(messageOf, async (messages) => {
          await producer.sendBatch({ acks: -1, topicMessages: [{ topic, messages }] });
        });

  const name =
    (mode === 'per-message' ? 'raw kafkajs, per message' : 'raw kafkajs, batched') +
    (options.envelopeHeaders ? ' + CE headers' : '');
  return {
    name,
    async run(messages: number): Promise<Measurement> {
      seen = counter(messages);
      const started = performance.now();
      await pooled(messages, options.inFlight, publishOne);
      await within(seen.done, 60_000 + messages * 20, () => `${name} consumed ${seen.count}/${messages}`);
      return { messages, ms: performance.now() - started };
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
