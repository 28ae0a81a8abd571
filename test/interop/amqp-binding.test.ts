/**
 * The CloudEvents AMQP protocol binding on the real RabbitMQ. The official JavaScript SDK has no
 * AMQP binding, so the spec's mapping is checked directly, with plain amqplib on the other side:
 *
 * - eventform → amqplib: binary mode puts `datacontenttype` in the AMQP `content-type` property and
 *   every other attribute that is set in a `cloudEvents_` application property (header); structured
 *   mode sends `content-type: application/cloudevents+json; charset=utf-8` and the whole event;
 * - amqplib → eventform: a message with only the attributes CloudEvents requires reaches a handler
 *   (a fresh correlation id, the declared version); so do the `cloudEvents:` prefix, native AMQP
 *   values (a timestamp for `time`, a long for `eventversion`), eventform's own extensions, and the
 *   structured mode — whatever mode the topology declares for the event.
 */
import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import type { Channel, ChannelModel, ConsumeMessage, Options } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime } from '@eventform/runtime';
import type { EventEnvelope, Runtime } from '@eventform/runtime';
import { RabbitMQTransport } from '@eventform/rabbitmq';
import { requireRabbitmq } from '../support/brokers.js';
import { deleteTopology, waitFor } from '../rabbitmq/broker-admin.js';
import { collectingLogger } from '../rabbitmq/helpers.js';
import {
  BINARY_EVENT,
  CONSUMER,
  DECLARED_VERSION,
  PRODUCER,
  STRUCTURED_EVENT,
  eventOf,
  interopTopology,
} from './topology.js';

const rabbit = await requireRabbitmq();
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe.skipIf(!rabbit.available)('CloudEvents AMQP binding, on the real RabbitMQ', () => {
  const topology = interopTopology('interop-amqp');
  const logger = collectingLogger();
  const handled: EventEnvelope[] = [];
  const tapped: ConsumeMessage[] = [];
  let runtime: Runtime;
  let connection: ChannelModel;
  let channel: Channel;

  beforeAll(async () => {
    runtime = createRuntime({ topology, transport: new RabbitMQTransport({ url: rabbit.url, logger }), logger });
    runtime.handle(CONSUMER, async (event) => void handled.push(event));
    await runtime.start();
    // Another team: plain amqplib, publishing to the events exchange and tapping it with a queue of its own.
    connection = await amqp.connect(rabbit.url);
    channel = await connection.createConfirmChannel();
    const { queue } = await channel.assertQueue('', { exclusive: true });
    await channel.bindQueue(queue, topology.rabbitmq.exchange, '#');
    await channel.consume(queue, (msg) => void (msg && tapped.push(msg)), { noAck: true });
  }, 60_000);

  afterAll(async () => {
    await runtime?.stop();
    await connection?.close().catch(() => undefined);
    await deleteTopology(rabbit.url, topology);
  });

  async function tappedFor(envelope: EventEnvelope): Promise<ConsumeMessage> {
    const find = () =>
      tapped.find((m) => m.properties.messageId === envelope.id || m.content.toString('utf8').includes(envelope.id));
    await waitFor(() => find() !== undefined, 20_000, `the message of ${envelope.id}`);
    return find()!;
  }

  async function publishPlain(event: string, body: Buffer, properties: Options.Publish): Promise<void> {
    channel.publish(topology.rabbitmq.exchange, eventOf(topology, event).rabbitmq.routingKey, body, properties);
    await (channel as amqp.ConfirmChannel).waitForConfirms();
  }

  async function handledWith(id: string): Promise<EventEnvelope> {
    await waitFor(() => handled.some((e) => e.id === id), 20_000, `the handler to get ${id}`);
    return handled.find((e) => e.id === id)!;
  }

  describe('eventform → amqplib', () => {
    it('binary mode: datacontenttype is the content-type property, the other attributes cloudEvents_ headers', async () => {
      const payload = { orderId: 'o-bin', total: 9.5 };
      const envelope = await runtime.publish(PRODUCER, BINARY_EVENT, payload);
      const msg = await tappedFor(envelope);
      expect(msg.properties.contentType).toBe('application/json');
      expect(msg.properties.headers).toEqual({
        cloudEvents_id: envelope.id,
        cloudEvents_source: PRODUCER,
        cloudEvents_type: BINARY_EVENT,
        cloudEvents_specversion: '1.0',
        cloudEvents_time: envelope.time,
        cloudEvents_correlationid: envelope.correlationId,
        cloudEvents_partitionkey: 'o-bin',
      });
      expect(JSON.parse(msg.content.toString('utf8'))).toEqual(payload);
      // The AMQP properties repeat what RabbitMQ tooling shows.
      expect(msg.properties).toMatchObject({ messageId: envelope.id, type: BINARY_EVENT, appId: PRODUCER });
    });

    it('structured mode: the event format as content type, the whole event in the body, no attribute headers', async () => {
      const payload = { orderId: 'o-str', carrier: 'dhl' };
      const envelope = await runtime.publish(PRODUCER, STRUCTURED_EVENT, payload);
      const msg = await tappedFor(envelope);
      expect(msg.properties.contentType).toBe('application/cloudevents+json; charset=utf-8');
      expect(msg.properties.headers ?? {}).toEqual({});
      expect(JSON.parse(msg.content.toString('utf8'))).toEqual({
        specversion: '1.0',
        id: envelope.id,
        source: PRODUCER,
        type: STRUCTURED_EVENT,
        datacontenttype: 'application/json',
        time: envelope.time,
        correlationid: envelope.correlationId,
        partitionkey: 'o-str',
        data: payload,
      });
    });
  });

  describe('amqplib → eventform', () => {
    it('a message with only the required attributes: handled, with a fresh correlation id and the declared version', async () => {
      const id = randomUUID();
      await publishPlain(BINARY_EVENT, Buffer.from(JSON.stringify({ orderId: 'o-min', total: 1 })), {
        contentType: 'application/json',
        headers: {
          cloudEvents_id: id,
          cloudEvents_source: 'urn:another-team',
          cloudEvents_type: BINARY_EVENT,
          cloudEvents_specversion: '1.0',
        },
      });
      const got = await handledWith(id);
      expect(got).toMatchObject({
        source: 'urn:another-team',
        type: BINARY_EVENT,
        eventVersion: DECLARED_VERSION,
        causationId: null,
        data: { orderId: 'o-min', total: 1 },
      });
      expect(got.correlationId).toMatch(UUID);
      expect(got.time).toBeUndefined();
      expect(got.key).toBeUndefined();
    });

    it('with no content type at all: JSON is assumed', async () => {
      const id = randomUUID();
      await publishPlain(BINARY_EVENT, Buffer.from('{"orderId":"o-noct","total":2}'), {
        headers: {
          cloudEvents_id: id,
          cloudEvents_source: 's',
          cloudEvents_type: BINARY_EVENT,
          cloudEvents_specversion: '1.0',
        },
      });
      expect((await handledWith(id)).data).toEqual({ orderId: 'o-noct', total: 2 });
    });

    it('the cloudEvents: prefix and native AMQP values: a timestamp for time, a long for eventversion', async () => {
      const id = randomUUID();
      const seconds = 1_714_557_600;
      await publishPlain(BINARY_EVENT, Buffer.from('{"orderId":"o-native","total":3}'), {
        contentType: 'application/json; charset=utf-8',
        headers: {
          'cloudEvents:id': id,
          'cloudEvents:source': 's',
          'cloudEvents:type': BINARY_EVENT,
          'cloudEvents:specversion': '1.0',
          'cloudEvents:time': { '!': 'timestamp', value: seconds },
          'cloudEvents:eventversion': 2,
        },
      });
      const got = await handledWith(id);
      expect(got).toMatchObject({
        time: new Date(seconds * 1000).toISOString().replace('.000Z', 'Z'),
        eventVersion: 2,
      });
    });

    it("eventform's extensions are kept: correlationid, causationid, partitionkey", async () => {
      const id = randomUUID();
      await publishPlain(BINARY_EVENT, Buffer.from('{"orderId":"o-ext","total":4}'), {
        contentType: 'application/json',
        headers: {
          cloudEvents_id: id,
          cloudEvents_source: 's',
          cloudEvents_type: BINARY_EVENT,
          cloudEvents_specversion: '1.0',
          cloudEvents_correlationid: 'flow-amqp',
          cloudEvents_causationid: 'upstream-1',
          cloudEvents_partitionkey: 'o-ext',
        },
      });
      expect(await handledWith(id)).toMatchObject({
        correlationId: 'flow-amqp',
        causationId: 'upstream-1',
        key: 'o-ext',
      });
    });

    it.each([BINARY_EVENT, STRUCTURED_EVENT])(
      'structured mode from plain amqplib, on an event the topology sends %s: handled',
      async (eventName) => {
        const id = randomUUID();
        const data = eventName === BINARY_EVENT ? { orderId: 'o-s', total: 5 } : { orderId: 'o-s' };
        const event = { specversion: '1.0', id, source: 's', type: eventName, data };
        await publishPlain(eventName, Buffer.from(JSON.stringify(event)), {
          contentType: 'application/cloudevents+json; charset=utf-8',
        });
        const got = await handledWith(id);
        expect(got).toMatchObject({ type: eventName, data, eventVersion: DECLARED_VERSION });
        expect(got.correlationId).toMatch(UUID);
      },
    );

    it('dead-lettered nothing', () => {
      expect(runtime.health().consumers[0]).toMatchObject({ deadLettered: 0, retried: 0 });
    });
  });
});
