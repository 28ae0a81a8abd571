/**
 * `eventform dlq` on the real Kafka: dead letters made by a runtime, then listed, shown, replayed
 * through the consumer's retry topic to that consumer only (twice: the second changes no effect),
 * and purged by truncating the dead-letter topics (see scenario.ts).
 */
import kafkajs from 'kafkajs';
import { afterAll, describe, it } from 'vitest';
import { toWireHeaders, type Runtime } from '@eventform/runtime';
import { requireKafka } from '../support/kafka.js';
import { cleanupTopology, testTransport } from '../kafka/helpers.js';
import { dlqTopology, runScenario } from './scenario.js';

const kafka = await requireKafka();

describe.skipIf(!kafka.available)('eventform dlq on Kafka', () => {
  const topo = dlqTopology();
  const runtimes: Runtime[] = [];

  afterAll(async () => {
    for (const r of runtimes) await r.stop().catch(() => {});
    await cleanupTopology(kafka.brokers, topo.ir).catch(() => {});
    topo.remove();
  });

  it('lists, shows, replays to the originating consumer only, and purges', async () => {
    await runScenario(
      {
        name: 'kafka',
        flags: ['--brokers', kafka.brokers],
        transport: () => testTransport(kafka.brokers),
        publishPoison: async (ir, body, headers) => {
          const event = ir.events.find((e) => e.name === 'Placed')!;
          const producer = new kafkajs.Kafka({
            brokers: kafka.brokers.split(','),
            logLevel: kafkajs.logLevel.NOTHING,
          }).producer();
          await producer.connect();
          try {
            await producer.send({
              topic: event.kafka.topic,
              messages: [{ key: 'poison', value: body, headers: toWireHeaders(headers, 'kafka') }],
            });
          } finally {
            await producer.disconnect();
          }
        },
      },
      topo,
      runtimes,
    );
  }, 600_000);
});
