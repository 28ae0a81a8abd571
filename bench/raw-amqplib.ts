/**
 * The baseline for the RabbitMQ bench: plain amqplib with the settings the eventform transport uses —
 * a quorum queue bound to a topic exchange, persistent messages, publisher confirms, manual acks,
 * the same prefetch and the same number of publishes in flight.
 */
import amqp from 'amqplib';
import { counter, envelopeLikeHeaders, pooled, samplePayload, within, type Measurement, type Side } from './support.js';

export interface RawAmqpOptions {
  url: string;
  prefetch: number;
  inFlight: number;
  /**
   * Also send headers like eventform's envelope (see `envelopeLikeHeaders`): a reference row that
   * shows what the wire format alone costs. @default false
   */
  envelopeHeaders?: boolean;
}

export async function rawAmqplibSide(options: RawAmqpOptions): Promise<Side & { close(): Promise<void> }> {
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

  const publishOne = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const payload = samplePayload(i);
      const body = Buffer.from(JSON.stringify(payload));
      const properties: amqp.Options.Publish = {
        persistent: true,
        contentType: 'application/json',
        messageId: `m-${suffix}-${i}`,
      };
      if (options.envelopeHeaders) properties.headers = envelopeLikeHeaders('cloudEvents_', payload.orderId);
      pub.publish(exchange, 'OrderPlaced', body, properties, (err) => (err ? reject(err) : resolve()));
    });

  return {
    name: options.envelopeHeaders ? 'raw amqplib + CE headers' : 'raw amqplib',
    async run(messages: number): Promise<Measurement> {
      const seen = counter(messages);
      const { consumerTag } = await sub.consume(queue, (msg) => {
        if (!msg) return;
        JSON.parse(msg.content.toString('utf8'));
        sub.ack(msg);
        seen.tick();
      });
      const started = performance.now();
      await pooled(messages, options.inFlight, publishOne);
      await within(seen.done, 60_000 + messages * 5, () => `raw amqplib consumed ${seen.count}/${messages}`);
      const ms = performance.now() - started;
      await sub.cancel(consumerTag);
      return { messages, ms };
    },
    async close() {
      await pub.deleteQueue(queue).catch(() => undefined);
      await pub.deleteExchange(exchange).catch(() => undefined);
      await connection.close();
    },
  };
}
