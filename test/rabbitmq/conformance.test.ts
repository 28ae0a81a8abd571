/** The shared transport conformance suite, run against RabbitMQTransport on the real broker. */
import { describe, it } from 'vitest';
import { CONTENT_TYPE_HEADER, fromWireHeaders } from '@eventform/runtime';
import type { Transport } from '@eventform/runtime';
import { describeTransportConformance } from '@eventform/runtime/testing';
import { topologyFromDocument } from '../../generator/src/spec/index.js';
import { RabbitMQTransport } from '@eventform/rabbitmq';
import { publishProperties } from '../../runtime/rabbitmq/src/wire.js';
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
    topology: topologyFromDocument,
    test: { describe, it },
    skipIf: !rabbit.available,
    // Raw bytes + wire headers straight onto the events exchange, bypassing the transport.
    injectRaw: async (_transport: Transport, event, message) => {
      const conn = await adminConnection(rabbit.url);
      try {
        const ch = await conn.createConfirmChannel();
        // The binding's own mapping (content type as the property, cloudEvents_ headers, the key as partitionkey).
        const properties = publishProperties(message.headers, message.key);
        ch.publish(event.rabbitmq.exchange, event.rabbitmq.routingKey, message.body, properties);
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
      return messages.map((m) => {
        const headers = fromWireHeaders(m.properties.headers as Record<string, unknown> | undefined, 'amqp');
        if (typeof m.properties.contentType === 'string') headers[CONTENT_TYPE_HEADER] = m.properties.contentType;
        return { body: m.content, headers };
      });
    },
    cleanup: (topology) => deleteTopology(rabbit.url, topology),
  },
);
