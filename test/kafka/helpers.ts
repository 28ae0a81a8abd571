/** Shared bits of the Kafka tests: a transport tuned for fast group joins, waiting, raw reads. */
import kafkajs from 'kafkajs';
import type { KafkaMessage } from 'kafkajs';
import type { Logger } from '../../runtime/core/src/api.js';
import type { TopologyIR } from '../../runtime/core/src/ir.js';
import { KafkaTransport, type KafkaTransportOptions } from '@eventform/kafka';
import { kafkaResources } from '../../runtime/kafka/src/resources.js';
import { deleteGroups, deleteTopics } from '../support/kafka.js';

/** Collects warn/error lines; debug/info are dropped. Set EVENTFORM_TEST_LOG=1 to print all. */
export function testLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const verbose = process.env.EVENTFORM_TEST_LOG === '1';
  const write = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    const line = `${level} ${message}${fields ? ' ' + JSON.stringify(fields) : ''}`;
    if (level === 'warn' || level === 'error') lines.push(line);
    if (verbose) process.stderr.write(line + '\n');
  };
  return { lines, debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

/** Group timings low enough for tests (the broker's minimum session timeout is 6s). */
export const FAST_GROUP: Partial<KafkaTransportOptions> = {
  sessionTimeout: 6_000,
  heartbeatInterval: 500,
  rebalanceTimeout: 8_000,
  maxWaitTimeInMs: 250,
  releaseBackoffMs: 200,
};

export function testTransport(brokers: string, options: Partial<KafkaTransportOptions> = {}): KafkaTransport {
  return new KafkaTransport({ brokers, logger: testLogger(), ...FAST_GROUP, ...options });
}

export async function waitFor(what: string, predicate: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Every topic and group a topology creates on Kafka, deleted (best effort). */
export async function cleanupTopology(brokers: string, topology: TopologyIR): Promise<void> {
  const groups = topology.consumers.flatMap((c) => [c.kafka.groupId, `${c.kafka.groupId}.retry`]);
  await deleteGroups(brokers, groups).catch(() => undefined);
  await deleteTopics(
    brokers,
    kafkaResources(topology).topics.map((t) => t.name),
  );
}

/** Read the first `count` messages of a topic with a throwaway consumer group. */
export async function readTopic(
  brokers: string,
  topic: string,
  count: number,
  timeoutMs = 15_000,
): Promise<KafkaMessage[]> {
  const kafka = new kafkajs.Kafka({
    brokers: brokers.split(','),
    clientId: 'eventform-tests',
    logLevel: kafkajs.logLevel.NOTHING,
  });
  const groupId = `reader-${Math.random().toString(16).slice(2)}`;
  const consumer = kafka.consumer({ groupId, sessionTimeout: 6_000, heartbeatInterval: 500, maxWaitTimeInMs: 250 });
  const out: KafkaMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        out.push(message);
      },
    });
    await waitFor(`${count} messages on ${topic}`, () => out.length >= count, timeoutMs);
  } finally {
    await consumer.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
  return out;
}

/** Header value of a raw kafkajs message as a string. */
export function header(message: KafkaMessage, name: string): string | undefined {
  const raw = message.headers?.[name];
  const first = Array.isArray(raw) ? raw[0] : raw;
  return first === undefined ? undefined : Buffer.isBuffer(first) ? first.toString('utf8') : String(first);
}
