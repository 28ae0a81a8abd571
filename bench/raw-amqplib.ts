/**
 * The baselines for the RabbitMQ bench: plain amqplib with the settings the eventform transport uses —
 * a quorum queue bound to a topic exchange, persistent messages, publisher confirms, manual acks,
 * the same prefetch and the same number of publishes in flight. Each side sends its messages as
 * `wire` says: the bare payload, or eventform's own wire format (CloudEvents binary or structured
 * mode, with the AMQP properties the transport sets), so the ratio against the same format is the
 * framework's own cost.
 */
import amqp from 'amqplib';
import {
  JSON_CONTENT_TYPE,
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

export interface RawAmqpOptions {
  url: string;
  prefetch: number;
  inFlight: number;
  /** What each message carries: the payload alone, or eventform's wire format. @default 'bare' */
  wire?: RawWire;
}

export async function rawAmqplibSide(
  options: RawAmqpOptions,
): Promise<Side & LatencySide & { close(): Promise<void> }> {
  const wire = options.wire ?? 'bare';
  const suffix = Math.random().toString(36).slice(2, 8);
  const exchange = `bench-raw-${suffix}.events`;
  const queue = `bench-raw-${suffix}.consumer`;
  const connection = await amqp.connect(options.url);
  const pub = await connection.createConfirmChannel();
  const sub = await connection.createChannel();
  await pub.assertExchange(exchange, 'topic', { durable: true });
  await pub.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  await pub.bindQueue(queue, exchange, 'OrderPlaced');
  await sub.prefetch(options.prefetch);

  const messageOf = (i: number): { body: Buffer; properties: amqp.Options.Publish } => {
    const payload = samplePayload(i);
    if (wire === 'bare') {
      const properties = { persistent: true, contentType: JSON_CONTENT_TYPE, messageId: `m-${suffix}-${i}` };
      return { body: Buffer.from(JSON.stringify(payload)), properties };
    }
    // What the transport sets: content type, the attributes as cloudEvents_ headers, and the AMQP
    // message-id, type, app-id and timestamp.
    const a = eventAttributes(i);
    const properties: amqp.Options.Publish = {
      persistent: true,
      headers: wire === 'binary' ? binaryHeaders('cloudEvents_', a) : {},
      timestamp: Math.floor(Date.parse(a.time!) / 1000),
      contentType: wire === 'binary' ? JSON_CONTENT_TYPE : STRUCTURED_CONTENT_TYPE,
    };
    if (wire === 'binary') Object.assign(properties, { messageId: a.id, type: a.type, appId: a.source });
    const body = wire === 'binary' ? JSON.stringify(payload) : structuredBody(a, payload);
    return { body: Buffer.from(body), properties };
  };
  const publishOne = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const { body, properties } = messageOf(i);
      pub.publish(exchange, 'OrderPlaced', body, properties, (err) => (err ? reject(err) : resolve()));
    });

  const name = rawSideName('amqplib', wire);
  /** Consume until `seen` is done: parse each payload (eventform's handler gets it parsed), ack it. */
  const consume = async (seen: ReturnType<typeof counter>, handled?: (orderId: string) => void) =>
    sub.consume(queue, (msg) => {
      if (!msg) return;
      const payload = payloadOf(msg.content.toString('utf8'), wire);
      handled?.(payload.orderId);
      sub.ack(msg);
      seen.tick();
    });
  return {
    name,
    async run(messages: number): Promise<Measurement> {
      const seen = counter(messages);
      const { consumerTag } = await consume(seen);
      const started = performance.now();
      await pooled(messages, options.inFlight, publishOne);
      await within(seen.done, 60_000 + messages * 5, () => `${name} consumed ${seen.count}/${messages}`);
      const ms = performance.now() - started;
      await sub.cancel(consumerTag);
      return { messages, ms };
    },
    async atRate(count: number, ratePerSecond: number): Promise<number[]> {
      const latency = latencyRecorder(count);
      const { consumerTag } = await consume(counter(count), (orderId) => latency.handled(orderId));
      await atFixedRate(count, ratePerSecond, (i) => {
        latency.mark(i);
        return publishOne(i);
      });
      const latencies = await within(latency.done, 60_000 + count * 5, () => `${name} handled too few at a fixed rate`);
      await sub.cancel(consumerTag);
      return latencies;
    },
    async close() {
      await pub.deleteQueue(queue).catch(() => undefined);
      await pub.deleteExchange(exchange).catch(() => undefined);
      await connection.close();
    },
  };
}
