/**
 * Interop with the official CloudEvents SDK for JavaScript (`cloudevents`) on the real Kafka, both
 * directions, both content modes, with and without eventform's extensions:
 *
 * - eventform → SDK: what a runtime publishes, read off the topic as kafkajs delivers it and given
 *   to the SDK's Kafka binding (`Kafka.toEvent`), is a valid CloudEvent with every attribute;
 * - SDK → eventform: what the SDK's Kafka binding makes (`Kafka.binary`, `Kafka.structured`),
 *   produced with plain kafkajs as another team would, reaches an eventform handler — whatever
 *   content mode the topology declares for that event — with a fresh correlation id when it has
 *   none, and with its own when it has one.
 */
import { randomUUID } from 'node:crypto';
import { CloudEvent, Kafka } from 'cloudevents';
import kafkajs from 'kafkajs';
import type { Consumer, KafkaMessage, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime } from '@eventform/runtime';
import type { EventEnvelope, Runtime } from '@eventform/runtime';
import { KafkaTransport } from '@eventform/kafka';
import { requireKafka } from '../support/kafka.js';
import { cleanupTopology, FAST_GROUP, testLogger, waitFor } from '../kafka/helpers.js';
import {
  BINARY_EVENT,
  CONSUMER,
  DECLARED_VERSION,
  PRODUCER,
  STRUCTURED_EVENT,
  eventOf,
  interopTopology,
} from './topology.js';

const kafka = await requireKafka();
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A kafkajs message as the SDK's Kafka binding takes it: string headers, string key. */
function forSdk(message: KafkaMessage): Parameters<typeof Kafka.toEvent>[0] {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    if (value !== undefined) headers[name] = Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
  }
  return {
    key: message.key?.toString('utf8') ?? '',
    value: message.value?.toString('utf8') ?? '',
    body: message.value?.toString('utf8') ?? '',
    headers,
    timestamp: message.timestamp,
  } as Parameters<typeof Kafka.toEvent>[0];
}

/** What the SDK's Kafka binding makes, as plain kafkajs sends it (JSON text for an object value). */
function fromSdk(message: ReturnType<typeof Kafka.binary>): kafkajs.Message {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers)) {
    if (value !== undefined) headers[name] = String(value);
  }
  const value = message.value;
  return {
    key: message.key ? String(message.key) : null,
    value: typeof value === 'string' || Buffer.isBuffer(value) ? value : JSON.stringify(value),
    headers,
    ...(message.timestamp ? { timestamp: message.timestamp } : {}),
  };
}

describe.skipIf(!kafka.available)('CloudEvents SDK for JavaScript ⇄ eventform, on the real Kafka', () => {
  const topology = interopTopology('interop-kafka');
  const logger = testLogger();
  const handled: EventEnvelope[] = [];
  const seen: KafkaMessage[] = [];
  let runtime: Runtime;
  let client: kafkajs.Kafka;
  let producer: Producer;
  let reader: Consumer;
  const readerGroup = `${topology.name}.reader`;

  beforeAll(async () => {
    runtime = createRuntime({
      topology,
      transport: new KafkaTransport({ brokers: kafka.brokers, logger, ...FAST_GROUP }),
      logger,
    });
    runtime.handle(CONSUMER, async (event) => void handled.push(event));
    await runtime.start();
    client = new kafkajs.Kafka({
      brokers: kafka.brokers.split(','),
      clientId: 'another-team',
      logLevel: kafkajs.logLevel.NOTHING,
    });
    producer = client.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
    await producer.connect();
    // Another team's consumer of both topics, as kafkajs hands records to an application.
    reader = client.consumer({
      groupId: readerGroup,
      sessionTimeout: 6_000,
      heartbeatInterval: 500,
      maxWaitTimeInMs: 100,
    });
    await reader.connect();
    await reader.subscribe({
      topics: [eventOf(topology, BINARY_EVENT).kafka.topic, eventOf(topology, STRUCTURED_EVENT).kafka.topic],
      fromBeginning: true,
    });
    await reader.run({ eachMessage: async ({ message }) => void seen.push(message) });
  }, 120_000);

  afterAll(async () => {
    await runtime?.stop();
    await reader?.disconnect();
    await producer?.disconnect();
    const admin = client?.admin();
    if (admin) {
      await admin.connect();
      await admin.deleteGroups([readerGroup]).catch(() => undefined);
      await admin.disconnect();
    }
    await cleanupTopology(kafka.brokers, topology);
  });

  /** The record a runtime published for `envelope`, as another team's kafkajs consumer got it. */
  async function recordOf(envelope: EventEnvelope): Promise<KafkaMessage> {
    const find = () =>
      seen.find((m) => (m.value?.toString('utf8') ?? '').includes(envelope.id) || headerOf(m, 'ce_id') === envelope.id);
    await waitFor(`the record of ${envelope.id}`, () => find() !== undefined);
    return find()!;
  }

  describe('eventform → SDK', () => {
    it('binary mode: a valid CloudEvent; content-type carries datacontenttype, ce_ headers the rest, no eventversion', async () => {
      const payload = { orderId: 'o-bin', total: 12.5 };
      const envelope = await runtime.publish(PRODUCER, BINARY_EVENT, payload);
      const record = await recordOf(envelope);
      expect(Object.keys(record.headers ?? {}).sort()).toEqual(
        [
          'ce_correlationid',
          'ce_id',
          'ce_partitionkey',
          'ce_source',
          'ce_specversion',
          'ce_time',
          'ce_type',
          'content-type',
        ].sort(),
      );
      expect(record.key?.toString()).toBe('o-bin');
      const message = forSdk(record);
      expect(Kafka.isEvent(message)).toBe(true);
      const event = Kafka.toEvent(message) as CloudEvent<typeof payload>;
      expect(event.validate()).toBe(true);
      expect(event).toMatchObject({
        id: envelope.id,
        source: PRODUCER,
        type: BINARY_EVENT,
        specversion: '1.0',
        time: envelope.time,
        datacontenttype: 'application/json',
        data: payload,
        correlationid: envelope.correlationId,
        partitionkey: 'o-bin',
      });
      expect(event).not.toHaveProperty('eventversion');
    });

    it('binary mode with the optional extensions: causationid and traceparent come through', async () => {
      const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
      const envelope = await runtime.publish(
        PRODUCER,
        BINARY_EVENT,
        { orderId: 'o-ext', total: 1 },
        { correlationId: 'flow-ext', causationId: 'cause-ext', traceparent },
      );
      const event = Kafka.toEvent(forSdk(await recordOf(envelope))) as CloudEvent;
      expect(event.validate()).toBe(true);
      expect(event).toMatchObject({ correlationid: 'flow-ext', causationid: 'cause-ext', traceparent });
    });

    it('structured mode: one content-type header, the whole event in the value', async () => {
      const payload = { orderId: 'o-str', carrier: 'dhl' };
      const envelope = await runtime.publish(PRODUCER, STRUCTURED_EVENT, payload, { causationId: 'cause-str' });
      const record = await recordOf(envelope);
      expect(record.headers).toEqual({ 'content-type': Buffer.from('application/cloudevents+json; charset=utf-8') });
      expect(record.key?.toString()).toBe('o-str');
      const event = Kafka.toEvent(forSdk(record)) as CloudEvent<typeof payload>;
      expect(event.validate()).toBe(true);
      expect(event).toMatchObject({
        id: envelope.id,
        source: PRODUCER,
        type: STRUCTURED_EVENT,
        specversion: '1.0',
        time: envelope.time,
        datacontenttype: 'application/json',
        data: payload,
        correlationid: envelope.correlationId,
        causationid: 'cause-str',
        partitionkey: 'o-str',
      });
    });
  });

  describe('SDK → eventform', () => {
    const cases = [
      ['binary', 'without eventform extensions', BINARY_EVENT, false],
      ['binary', 'with correlationid, causationid and partitionkey', BINARY_EVENT, true],
      ['structured', 'without eventform extensions', BINARY_EVENT, false],
      ['structured', 'with correlationid, causationid and partitionkey', BINARY_EVENT, true],
      // Receivers take either mode whatever the topology declares for the event.
      ['binary', 'into a topic the topology sends in structured mode', STRUCTURED_EVENT, false],
      ['structured', 'into a topic the topology sends in structured mode', STRUCTURED_EVENT, true],
    ] as const;

    it.each(cases)('%s mode, %s: handled, not dead-lettered', async (mode, _what, eventName, extensions) => {
      const orderId = `o-${randomUUID()}`;
      const data = eventName === BINARY_EVENT ? { orderId, total: 3 } : { orderId, carrier: 'ups' };
      const event = new CloudEvent({
        type: eventName,
        source: 'urn:another-team:checkout',
        data,
        ...(extensions ? { correlationid: `flow-${orderId}`, causationid: 'upstream-1', partitionkey: orderId } : {}),
      });
      const message = mode === 'binary' ? Kafka.binary(event) : Kafka.structured(event);
      await producer.send({ topic: eventOf(topology, eventName).kafka.topic, messages: [fromSdk(message)] });

      await waitFor(`the handler to get ${event.id}`, () => handled.some((e) => e.id === event.id));
      const got = handled.find((e) => e.id === event.id)!;
      expect(got).toMatchObject({
        type: eventName,
        source: 'urn:another-team:checkout',
        specversion: '1.0',
        time: event.time,
        eventVersion: DECLARED_VERSION,
        data,
      });
      if (extensions) {
        expect(got).toMatchObject({ correlationId: `flow-${orderId}`, causationId: 'upstream-1', key: orderId });
      } else {
        expect(got.correlationId).toMatch(UUID);
        expect(got.causationId).toBeNull();
        expect(handled.filter((e) => e.correlationId === got.correlationId)).toHaveLength(1);
      }
    });

    it('dead-lettered nothing', () => {
      expect(runtime.health().consumers[0]).toMatchObject({ deadLettered: 0, retried: 0 });
      expect(logger.lines.filter((l) => l.includes('dead-lettered'))).toEqual([]);
    });
  });
});

function headerOf(message: KafkaMessage, name: string): string | undefined {
  const value = message.headers?.[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : Buffer.isBuffer(first) ? first.toString('utf8') : String(first);
}
