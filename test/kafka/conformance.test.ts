/**
 * The shared transport conformance suite (`@eventform/runtime/testing`) against KafkaTransport on
 * the real broker: every check goes through a real runtime over Kafka.
 */
import kafkajs from 'kafkajs';
import type { Consumer, Producer } from 'kafkajs';
import { afterAll, describe, it } from 'vitest';
import { fromWireHeaders, toWireHeaders } from '@eventform/runtime';
import type { TopologyIR } from '@eventform/runtime';
import { describeTransportConformance, type RawDeadLetter } from '@eventform/runtime/testing';
import { topologyFromDocument } from '../../generator/src/spec/index.js';
import { KafkaTransport } from '@eventform/kafka';
import { deleteGroups, requireKafka } from '../support/kafka.js';
import { cleanupTopology, FAST_GROUP, testLogger } from './helpers.js';

const kafka = await requireKafka();
const brokers = kafka.brokers;
const client = kafka.available
  ? new kafkajs.Kafka({
      brokers: brokers.split(','),
      clientId: 'eventform-conformance',
      logLevel: kafkajs.logLevel.NOTHING,
    })
  : null;

/**
 * Raw producers for poison messages: bytes and wire headers straight onto the event topic. One per
 * topic: a kafkajs producer refreshes metadata for every topic it ever sent to, and a topic an
 * earlier test deleted would then fail the next send ("This server does not host this
 * topic-partition").
 */
const rawProducers = new Map<string, Promise<Producer>>();
function producer(topic: string): Promise<Producer> {
  let p = rawProducers.get(topic);
  if (!p) {
    p = (async () => {
      const made = (client as kafkajs.Kafka).producer({
        allowAutoTopicCreation: false,
        createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
      });
      await made.connect();
      return made;
    })();
    rawProducers.set(topic, p);
  }
  return p;
}

/** One long-lived reader per dead-letter topic; each read returns what arrived since the last. */
interface Reader {
  consumer: Consumer;
  groupId: string;
  buffer: RawDeadLetter[];
  cursor: number;
}
const readers = new Map<string, Promise<Reader>>();

function reader(topic: string): Promise<Reader> {
  let r = readers.get(topic);
  if (!r) {
    r = (async () => {
      const groupId = `${topic}.conformance-reader`;
      const consumer = (client as kafkajs.Kafka).consumer({
        groupId,
        sessionTimeout: 6_000,
        heartbeatInterval: 500,
        maxWaitTimeInMs: 100,
      });
      const state: Reader = { consumer, groupId, buffer: [], cursor: 0 };
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          state.buffer.push({
            body: message.value ?? Buffer.alloc(0),
            headers: fromWireHeaders(message.headers as Record<string, unknown> | undefined, 'kafka'),
          });
        },
      });
      return state;
    })();
    readers.set(topic, r);
  }
  return r;
}

async function closeReaders(prefix: string): Promise<void> {
  for (const [topic, r] of readers) {
    if (!topic.startsWith(prefix)) continue;
    readers.delete(topic);
    const state = await r;
    await state.consumer.disconnect();
    await deleteGroups(brokers, [state.groupId]).catch(() => undefined);
  }
}

afterAll(async () => {
  await Promise.all([...rawProducers.values()].map(async (p) => (await p).disconnect().catch(() => undefined)));
  await closeReaders('');
});

describeTransportConformance(
  'kafka',
  () =>
    new KafkaTransport({
      brokers,
      logger: testLogger(),
      ...FAST_GROUP,
      // A due retry is fetched at most this long after its partition resumes.
      retryMaxWaitTimeInMs: 100,
    }),
  {
    topology: topologyFromDocument,
    test: { describe, it },
    skipIf: !kafka.available,
    // Kafka hands messages out in fetch round trips (and a resumed retry partition waits for the
    // next fetch); the suite's 100 ms delays leave too little slack on a loaded 2-core machine.
    timeScale: Number(process.env.EVENTFORM_KAFKA_TIME_SCALE ?? 2),
    injectRaw: async (_transport, event, message) => {
      const p = await producer(event.kafka.topic);
      await p.send({
        topic: event.kafka.topic,
        acks: -1,
        messages: [{ key: message.key ?? null, value: message.body, headers: toWireHeaders(message.headers, 'kafka') }],
      });
    },
    readDeadLetters: async (_transport, _topology, consumer) => {
      const topic = consumer.kafka.deadLetterTopic;
      if (!topic) return [];
      const state = await reader(topic);
      const fresh = state.buffer.slice(state.cursor);
      state.cursor = state.buffer.length;
      return fresh;
    },
    cleanup: async (topology: TopologyIR) => {
      await closeReaders(`${topology.name}.`);
      await cleanupTopology(brokers, topology);
    },
  },
);
