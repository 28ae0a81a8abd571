/**
 * Hostile input on the RabbitMQ wire, on the real broker: what anyone allowed to publish can send
 * to a queue an eventform consumer reads. Each message here is one RabbitMQ accepts and forwards.
 *
 * - A header table nested 5,000 deep overflowed amqplib's recursive decoder: the connection
 *   dropped, the broker redelivered, the transport reconnected, and again, while every consumer
 *   on that connection stood still. Now: dead-lettered as `invalid-headers` with what could be
 *   read, the connection stays up, the other consumer and the later messages go on.
 * - A header table over the size bound is dead-lettered the same way.
 * - A forged `x-delivery-count` dead-lettered a valid event as `redelivery-limit` without running
 *   its handler. Now only the count a quorum queue set on a redelivery is believed.
 *
 * With CI=true a missing broker fails these tests (requireRabbitmq), it never skips them.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Runtime } from '../../runtime/core/src/api.js';
import { readDeadLetter } from '../../runtime/core/src/dead-letter.js';
import { fromWireHeaders, toWireHeaders } from '../../runtime/core/src/headers.js';
import type { TopologyIR } from '../../runtime/core/src/ir.js';
import type { QueueType } from '@eventform/rabbitmq';
import { createRuntime } from '../../runtime/core/src/runtime.js';
import type { RabbitMQTransport, RabbitMQTransportOptions } from '@eventform/rabbitmq';
import { requireRabbitmq } from '../support/brokers.js';
import { adminConnection, drainQueue, queueDepth, waitFor } from '../rabbitmq/broker-admin.js';
import { collectingLogger, eventHeaders, perTestResources } from '../rabbitmq/helpers.js';
import { RawAmqpPublisher, nestedValue, stringTable, stringValue, tableBody } from './wire-rabbitmq-client.js';

const rabbit = await requireRabbitmq();

/** Disconnects after which a test stops waiting: the transport is in a reconnect loop. */
const RECONNECT_LOOP = 5;

describe.skipIf(!rabbit.available)('hostile input on the RabbitMQ wire (real broker)', () => {
  const resources = perTestResources(rabbit.url, 'ef-test-hostile');
  const { cleanups, transportFor, topology } = resources;
  afterEach(resources.cleanup);

  /** The victim and a bystander consume OrderPlaced on one transport, so on one connection. */
  function twoConsumers(queueType: QueueType): TopologyIR {
    return topology({
      name: 'hostile',
      queueType,
      events: [{ name: 'OrderPlaced' }],
      consumers: [
        { service: 'victim', handler: 'onOrder', events: ['OrderPlaced'] },
        { service: 'bystander', handler: 'onOrder', events: ['OrderPlaced'] },
      ],
    });
  }

  /** A runtime on one RabbitMQTransport with a handler per consumer that records the event ids. */
  async function startService(ir: TopologyIR, options: RabbitMQTransportOptions = {}) {
    const transport: RabbitMQTransport = transportFor(ir, options);
    const runtime: Runtime = createRuntime({ topology: ir, transport, logger: collectingLogger() });
    cleanups.push(() => runtime.stop({ timeoutMs: 2_000 }));
    const handled = new Map<string, string[]>();
    for (const consumer of ir.consumers) {
      const ids: string[] = [];
      handled.set(consumer.service, ids);
      runtime.handle(consumer.id, async (event) => {
        ids.push(event.id);
      });
    }
    await runtime.start();
    return { transport, runtime, handled: (service: string) => handled.get(service)! };
  }

  /** Wire headers of a valid OrderPlaced, as raw table entries. */
  function validHeaderEntries(id: string): [string, Buffer][] {
    return Object.entries(toWireHeaders(eventHeaders('OrderPlaced', id), 'amqp')).map(([k, v]) => [k, stringValue(v)]);
  }

  async function rawPublish(queue: string, headers: Buffer, body: Buffer): Promise<void> {
    const publisher = await RawAmqpPublisher.connect(rabbit.url);
    try {
      await publisher.publish('', queue, { headers, deliveryMode: 2, contentType: 'application/json' }, body);
    } finally {
      await publisher.close();
    }
  }

  for (const { queueType, kind } of [
    { queueType: 'quorum', kind: 'table' },
    { queueType: 'classic', kind: 'array' },
  ] as const) {
    it(`dead-letters a header ${kind} nested 5,000 deep (${queueType} queue); the connection and the other consumer go on`, async () => {
      const ir = twoConsumers(queueType);
      const [bystander, victim] = ir.consumers; // sorted by id
      const { transport, runtime, handled } = await startService(ir);

      const before = [];
      for (let i = 0; i < 3; i++) before.push((await runtime.publish('producer', 'OrderPlaced', { n: i })).id);
      const poisonId = `poison-${randomUUID()}`;
      const body = Buffer.from('{"orderId":"poison"}');
      const headers = tableBody([...validHeaderEntries(poisonId), ['deep', nestedValue(5_000, kind)]]);
      await rawPublish(victim!.rabbitmq.queue, headers, body);
      const after = [];
      for (let i = 3; i < 6; i++) after.push((await runtime.publish('producer', 'OrderPlaced', { n: i })).id);

      const dlq = victim!.rabbitmq.deadLetterQueue!;
      const settled = async () =>
        handled('victim').length === 6 &&
        handled('bystander').length === 6 &&
        (await queueDepth(rabbit.url, dlq)) === 1;
      await waitFor(
        async () => transport.metrics.disconnects >= RECONNECT_LOOP || (await settled()),
        60_000,
        'the six events handled by both consumers and the poison message dead-lettered',
      );

      expect({
        disconnects: transport.metrics.disconnects,
        victim: [...new Set(handled('victim'))].sort(),
        bystander: [...new Set(handled('bystander'))].sort(),
      }).toEqual({ disconnects: 0, victim: [...before, ...after].sort(), bystander: [...before, ...after].sort() });
      expect(transport.metrics.connections).toBe(1);

      const [dead, ...more] = await drainQueue(rabbit.url, dlq);
      expect(more).toHaveLength(0);
      expect(dead!.content.equals(body)).toBe(true);
      const record = readDeadLetter({
        body: dead!.content,
        headers: fromWireHeaders(dead!.properties.headers as Record<string, unknown>, 'amqp'),
      });
      expect(record.reason).toBe('invalid-headers');
      expect(record.error).toMatch(/deep.*nested deeper than 32/);
      expect(record.consumer).toBe(victim!.id);
      // What could be read is kept: every header but the one nested too deep.
      expect(record.eventId).toBe(poisonId);
      expect(record.headers).not.toHaveProperty('deep');
      expect(await queueDepth(rabbit.url, bystander!.rabbitmq.deadLetterQueue!)).toBe(0);
    });
  }

  it('dead-letters a header table over maxHeaderBytes (default 64 KiB) and goes on', async () => {
    const ir = twoConsumers('quorum');
    const victim = ir.consumers[1]!;
    const { transport, handled } = await startService(ir);

    const poisonId = `poison-${randomUUID()}`;
    const padding: Record<string, string> = {};
    for (let i = 0; i < 80; i++) padding[`pad-${i}`] = 'x'.repeat(1_000);
    const headers = Buffer.concat([tableBody(validHeaderEntries(poisonId)), stringTable(padding)]);
    expect(headers.length).toBeGreaterThan(65_536);
    await rawPublish(victim.rabbitmq.queue, headers, Buffer.from('{}'));
    const validId = `valid-${randomUUID()}`;
    await rawPublish(victim.rabbitmq.queue, tableBody(validHeaderEntries(validId)), Buffer.from('{}'));

    const dlq = victim.rabbitmq.deadLetterQueue!;
    await waitFor(
      async () => handled('victim').length + (await queueDepth(rabbit.url, dlq)) === 2,
      30_000,
      'both messages handled or dead-lettered',
    );
    expect(handled('victim')).toEqual([validId]);
    const [dead] = await drainQueue(rabbit.url, dlq);
    const record = readDeadLetter({
      body: dead!.content,
      headers: fromWireHeaders(dead!.properties.headers as Record<string, unknown>, 'amqp'),
    });
    expect(record.reason).toBe('invalid-headers');
    expect(record.error).toMatch(/header table of \d+ bytes.*65536/);
    expect(transport.metrics.disconnects).toBe(0);
  });

  it('applies configured bounds: maxHeaderDepth 3 refuses what the default accepts', async () => {
    const ir = twoConsumers('classic');
    const victim = ir.consumers[1]!;
    const { handled } = await startService(ir, { maxHeaderDepth: 3, maxHeaderBytes: 4_096 });
    const deepId = `deep-${randomUUID()}`;
    const bigId = `big-${randomUUID()}`;
    const okId = `ok-${randomUUID()}`;
    // Depth 4: the headers table, then three nested tables.
    await rawPublish(
      victim.rabbitmq.queue,
      tableBody([...validHeaderEntries(deepId), ['nested', nestedValue(3, 'table')]]),
      Buffer.from('{}'),
    );
    await rawPublish(
      victim.rabbitmq.queue,
      tableBody([...validHeaderEntries(bigId), ['big', stringValue('x'.repeat(5_000))]]),
      Buffer.from('{}'),
    );
    // Depth 3 and under 4 KiB: fine.
    await rawPublish(
      victim.rabbitmq.queue,
      tableBody([...validHeaderEntries(okId), ['nested', nestedValue(2, 'table')]]),
      Buffer.from('{}'),
    );
    const dlq = victim.rabbitmq.deadLetterQueue!;
    await waitFor(
      async () => handled('victim').length + (await queueDepth(rabbit.url, dlq)) === 3,
      30_000,
      'the three messages handled or dead-lettered',
    );
    expect(handled('victim')).toEqual([okId]);
    const dead = await drainQueue(rabbit.url, dlq);
    const records = dead.map((m) =>
      readDeadLetter({
        body: m.content,
        headers: fromWireHeaders(m.properties.headers as Record<string, unknown>, 'amqp'),
      }),
    );
    // The deep one keeps its other headers; the big one's table is not read at all.
    const byError = Object.fromEntries(records.map((r) => [/maxHeaderDepth/.test(r.error) ? 'depth' : 'size', r]));
    expect(byError.depth).toMatchObject({ reason: 'invalid-headers', eventId: deepId });
    expect(byError.depth!.error).toMatch(/"nested" is nested deeper than 3 levels/);
    expect(byError.size).toMatchObject({ reason: 'invalid-headers', eventId: null });
    expect(byError.size!.error).toMatch(/header table of \d+ bytes exceeds maxHeaderBytes \(4096\)/);
    expect(handled('victim')).not.toContain(bigId);
  });

  for (const queueType of ['classic', 'quorum'] as const) {
    it(`does not dead-letter a valid event with a forged x-delivery-count (${queueType} queue)`, async () => {
      const ir = topology({
        name: 'forged',
        queueType,
        events: [{ name: 'OrderPlaced' }],
        consumers: [{ service: 'victim', handler: 'onOrder', events: ['OrderPlaced'] }],
      });
      const consumer = ir.consumers[0]!;
      const { handled } = await startService(ir);
      const conn = await adminConnection(rabbit.url);
      const ids: string[] = [];
      try {
        const ch = await conn.createConfirmChannel();
        // Far past maxDeliveries (20); as a number (RabbitMQ's own type), a string, a huge number.
        for (const forged of [100, '100', 2 ** 53]) {
          const id = `forged-${randomUUID()}`;
          ids.push(id);
          const headers = { ...toWireHeaders(eventHeaders('OrderPlaced', id), 'amqp'), 'x-delivery-count': forged };
          ch.publish(ir.events[0]!.rabbitmq.exchange, 'OrderPlaced', Buffer.from('{}'), { persistent: true, headers });
        }
        await ch.waitForConfirms();
      } finally {
        await conn.close().catch(() => {});
      }
      const dlq = consumer.rabbitmq.deadLetterQueue!;
      await waitFor(
        async () => handled('victim').length + (await queueDepth(rabbit.url, dlq)) === ids.length,
        30_000,
        'every forged event handled or dead-lettered',
      );
      expect({ handled: [...handled('victim')].sort(), deadLettered: await queueDepth(rabbit.url, dlq) }).toEqual({
        handled: [...ids].sort(),
        deadLettered: 0,
      });
    });
  }
});
