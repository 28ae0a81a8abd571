/**
 * Without a `prefetch` option the transport sets each consumer's prefetch to its concurrency: the
 * broker hands out that many messages and keeps the rest ready in the queue, where another
 * instance could take them.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { CE } from '../../runtime/core/src/headers.js';
import { RabbitMQTransport } from '@eventform/rabbitmq';
import { requireRabbitmq } from '../support/brokers.js';
import { deleteTopology, queueDepth, waitFor } from './broker-admin.js';
import { buildTopology, uniqueName } from './fixtures.js';
import { collectingLogger, jsonMessage } from './helpers.js';

const rabbit = await requireRabbitmq();

describe.skipIf(!rabbit.available)('RabbitMQ prefetch defaults to the consumer concurrency', () => {
  const ir = buildTopology({
    name: 'tprefetch',
    events: [{ name: 'Tick' }],
    consumers: [{ service: 'svc', handler: 'tick', events: ['Tick'], concurrency: 3 }],
  });
  const transport = new RabbitMQTransport({
    url: rabbit.url,
    connectionName: uniqueName('ef-test-prefetch'),
    logger: collectingLogger(),
  });
  afterAll(async () => {
    await transport.close({ timeoutMs: 2_000 }).catch(() => {});
    await deleteTopology(rabbit.url, ir);
  });

  it('holds concurrency (3) messages unacknowledged and leaves the rest ready', async () => {
    const queue = ir.consumers[0]!.rabbitmq.queue;
    await transport.start(ir);
    for (let i = 0; i < 10; i++) await transport.publish(ir.events[0]!, jsonMessage('Tick', { i }, `tick-${i}`));

    const started = new Set<string>();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    await transport.subscribe(ir.consumers[0]!, async (delivery) => {
      started.add(delivery.headers[CE.id]!);
      await gate;
      return { kind: 'ack' };
    });

    await waitFor(
      async () => started.size === 3 && (await queueDepth(rabbit.url, queue)) === 7,
      10_000,
      '3 running, 7 ready',
    );
    // Stays that way: no fourth message is delivered while the three are unacknowledged.
    await new Promise((r) => setTimeout(r, 300));
    expect(started.size).toBe(3);
    expect(await queueDepth(rabbit.url, queue)).toBe(7);

    release();
    await waitFor(() => started.size === 10, 10_000, 'all ten handled');
    await waitFor(async () => (await queueDepth(rabbit.url, queue)) === 0, 10_000, 'an empty queue');
  });
});
