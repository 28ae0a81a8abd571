/**
 * The traced two-hop saga on the real brokers: the trace context crosses RabbitMQ and Kafka in the
 * CloudEvents headers (binary mode), retries go through each broker's retry path.
 */
import { afterAll, afterEach, beforeEach, describe, it } from 'vitest';
import { requireRabbitmq } from '../support/brokers.js';
import { requireKafka } from '../support/kafka.js';
import { deleteTopology } from '../rabbitmq/broker-admin.js';
import { perTestResources } from '../rabbitmq/helpers.js';
import { cleanupTopology, testTransport } from '../kafka/helpers.js';
import { testSdk } from './otel-sdk.js';
import type { TestSdk } from './otel-sdk.js';
import { checkTracedSaga, sagaTopology } from './saga.js';
import type { TopologyIR } from '@eventform/runtime';

const rabbit = await requireRabbitmq();
const kafka = await requireKafka();

let sdk: TestSdk;
beforeEach(() => {
  sdk = testSdk();
});
afterEach(async () => {
  await sdk.shutdown();
});

describe.skipIf(!rabbit.available)('tracing on RabbitMQ', () => {
  const resources = perTestResources(rabbit.url, 'otel');
  afterEach(resources.cleanup);

  it('the two-hop saga is one trace, the retry linked to its publish', async () => {
    const topology = sagaTopology('otel-rmq', '100ms');
    resources.cleanups.push(() => deleteTopology(rabbit.url, topology));
    await checkTracedSaga(
      sdk,
      topology,
      resources.transportFor(topology),
      {
        system: 'rabbitmq',
        sendDestination: (event) => {
          const ir = topology.events.find((e) => e.name === event)!;
          return `${ir.rabbitmq.exchange}:${ir.rabbitmq.routingKey}`;
        },
      },
      30_000,
    );
  }, 60_000);
});

describe.skipIf(!kafka.available)('tracing on Kafka', () => {
  const topologies: TopologyIR[] = [];
  afterAll(async () => {
    for (const t of topologies) await cleanupTopology(kafka.brokers, t);
  });

  it('the two-hop saga is one trace, the retry linked to its publish', async () => {
    const topology = sagaTopology('otel-kafka', '100ms');
    topologies.push(topology);
    await checkTracedSaga(
      sdk,
      topology,
      testTransport(kafka.brokers),
      { system: 'kafka', sendDestination: (event) => topology.events.find((e) => e.name === event)!.kafka.topic },
      60_000,
    );
  }, 120_000);
});
