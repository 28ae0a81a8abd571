/** The shared transport conformance suite, run against RabbitMQTransport on the real broker. */
import { describe, it } from 'vitest';
import { fromWireHeaders, toWireHeaders } from '@eventform/runtime';
import type { Transport } from '@eventform/runtime';
import { describeTransportConformance } from '@eventform/runtime/testing';
import { RabbitMQTransport } from '@eventform/rabbitmq';
import { adminConnection, deleteTopology, drainQueue } from './broker-admin.js';
import { uniqueName } from './fixtures.js';
import { collectingLogger } from './helpers.js';
import { requireRabbitmq } from '../support/brokers.js';

const rabbit = await requireRabbitmq();

describeTransportConformance(
  'rabbitmq',
  () =>
    new RabbitMQTransport({
      url: rabbit.url,
      connectionName: uniqueName('ef-test-conformance'),
      logger: collectingLogger(),
      reconnect: { initialDelayMs: 50, maxDelayMs: 1_000 },
    }),
  {
    test: { describe, it },
    skipIf: !rabbit.available,
    // Raw bytes + wire headers straight onto the events exchange, bypassing the transport.
    injectRaw: async (_transport: Transport, event, message) => {
      const conn = await adminConnection(rabbit.url);
      try {
        const ch = await conn.createConfirmChannel();
        const headers: Record<string, string> = toWireHeaders(message.headers, 'amqp');
        if (message.key !== undefined) headers['ef-key'] = message.key;
        ch.publish(event.rabbitmq.exchange, event.rabbitmq.routingKey, message.body, { persistent: true, headers });
        await ch.waitForConfirms();
        await ch.close();
      } finally {
        await conn.close().catch(() => {});
      }
    },
    readDeadLetters: async (_transport, _topology, consumer) => {
      const queue = consumer.rabbitmq.deadLetterQueue;
      if (queue === null) return [];
      const messages = await drainQueue(rabbit.url, queue);
      return messages.map((m) => ({
        body: m.content,
        headers: fromWireHeaders(m.properties.headers as Record<string, unknown> | undefined, 'amqp'),
      }));
    },
    cleanup: (topology) => deleteTopology(rabbit.url, topology),
  },
);
