/**
 * `eventform dlq` on the real RabbitMQ: dead letters made by a runtime, then listed, shown,
 * replayed to their consumer only (twice: the second changes no effect), and purged (see
 * scenario.ts).
 */
import { afterAll, describe, it } from 'vitest';
import type { Runtime } from '@eventform/runtime';
import { RabbitMQTransport } from '@eventform/rabbitmq';
import { captureLogger } from '@eventform/runtime/testing';
import { publishProperties } from '../../runtime/rabbitmq/src/wire.js';
import { requireRabbitmq } from '../support/brokers.js';
import { adminConnection, deleteTopology } from '../rabbitmq/broker-admin.js';
import { dlqTopology, runScenario } from './scenario.js';

const rabbit = await requireRabbitmq();

describe.skipIf(!rabbit.available)('eventform dlq on RabbitMQ', () => {
  const topo = dlqTopology();
  const runtimes: Runtime[] = [];

  afterAll(async () => {
    for (const r of runtimes) await r.stop().catch(() => {});
    await deleteTopology(rabbit.url, topo.ir).catch(() => {});
    topo.remove();
  });

  it('lists, shows, replays to the originating consumer only, and purges', async () => {
    await runScenario(
      {
        name: 'rabbitmq',
        flags: ['--url', rabbit.url],
        transport: () => new RabbitMQTransport({ url: rabbit.url, logger: captureLogger() }),
        publishPoison: async (ir, body, headers) => {
          const event = ir.events.find((e) => e.name === 'Placed')!;
          const conn = await adminConnection(rabbit.url);
          try {
            const ch = await conn.createConfirmChannel();
            ch.publish(event.rabbitmq.exchange, event.rabbitmq.routingKey, body, publishProperties(headers));
            await ch.waitForConfirms();
            await ch.close();
          } finally {
            await conn.close().catch(() => {});
          }
        },
      },
      topo,
      runtimes,
    );
  }, 300_000);
});
