/**
 * Puts a raw, malformed message on the demo's broker — the poison message, sent the way a buggy
 * producer would, bypassing eventform's validation.
 */
import { toWireHeaders, type BrokerName, type EventIR, type MemoryTransport, type Transport } from '@eventform/runtime';

/** Publishes `body` with `headers` (logical names) straight to the event's exchange, topic or subject. */
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
      const { defaultRabbitmqUrl, nodeUrls } = await import('@eventform/rabbitmq');
      // The transport's own default and environment variable; the first node of a cluster list.
      const connection = await amqp.connect(nodeUrls(defaultRabbitmqUrl())[0]!);
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
      const { defaultKafkaBrokers } = await import('@eventform/kafka');
      const kafka = new Kafka({
        clientId: 'eventform-shop-raw',
        brokers: defaultKafkaBrokers().split(','),
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
    default:
      // Any other binding: its transport's publish sends the bytes and headers as they are.
      await transport.publish(event, { body, headers });
  }
}
