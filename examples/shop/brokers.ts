/**
 * Puts a raw, malformed message on the demo's broker — the poison message, sent the way a buggy
 * producer would, bypassing eventform's validation.
 */
import { toWireHeaders, type BrokerName, type EventIR, type MemoryTransport, type Transport } from '@eventform/runtime';

/** Publishes `body` with `headers` (logical names) straight to the event's exchange or topic. */
export async function publishRaw(
  broker: BrokerName,
  transport: Transport,
  event: EventIR,
  body: Buffer,
  headers: Record<string, string>,
) {
  switch (broker) {
    case 'memory':
      (transport as MemoryTransport).injectRaw(event.name, { body, headers });
      return;
    case 'rabbitmq': {
      const amqp = (await import('amqplib')).default;
      const connection = await amqp.connect(process.env.EVENTFORM_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672');
      const channel = await connection.createConfirmChannel();
      channel.publish(event.rabbitmq.exchange, event.rabbitmq.routingKey, body, {
        persistent: true,
        headers: toWireHeaders(headers, 'amqp'),
      });
      await channel.waitForConfirms();
      await connection.close();
      return;
    }
    case 'kafka': {
      const { Kafka, logLevel } = await import('kafkajs');
      const kafka = new Kafka({
        clientId: 'eventform-shop-raw',
        brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(','),
        logLevel: logLevel.NOTHING,
      });
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({
        topic: event.kafka.topic,
        messages: [{ value: body, headers: toWireHeaders(headers, 'kafka') }],
      });
      await producer.disconnect();
      return;
    }
  }
}
