/**
 * RabbitMQTransport against the real broker: confirms, routing of retries and dead letters,
 * reconnection, publishing while disconnected.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CE, EF } from '../../runtime/core/src/headers.js';
import type { Delivery, Disposition } from '../../runtime/core/src/transport.js';
import { BrokerUnavailableError, ResourceConflictError, UnroutableMessageError } from '@eventform/rabbitmq';
import { requireRabbitmq } from '../support/brokers.js';
import { adminConnection, closeConnectionsNamed, drainQueue, queueDepth, sleep, waitFor } from './broker-admin.js';
import { buildTopology, uniqueName } from './fixtures.js';
import { jsonMessage, perTestResources } from './helpers.js';
import { TcpProxy } from './tcp-proxy.js';

const rabbit = await requireRabbitmq();

describe.skipIf(!rabbit.available)('RabbitMQTransport (real broker)', () => {
  const resources = perTestResources(rabbit.url, 'ef-test-transport');
  const { cleanups, transportFor, topology } = resources;
  afterEach(resources.cleanup);

  it('declares the topology and resolves publish only after the broker confirmed', async () => {
    const ir = topology({
      name: 'tconfirm',
      events: [{ name: 'OrderCreated' }, { name: 'Nobody' }],
      consumers: [{ service: 'billing', handler: 'charge', events: ['OrderCreated'] }],
    });
    const transport = transportFor(ir);
    await transport.start(ir);
    await transport.start(ir); // idempotent

    const event = ir.events.find((e) => e.name === 'OrderCreated')!;
    await transport.publish(event, jsonMessage('OrderCreated', { n: 1 }, 'id-1', 'order-1'));
    // Confirmed means stored: the message is in the queue right now.
    expect(await queueDepth(rabbit.url, ir.consumers[0]!.rabbitmq.queue)).toBe(1);

    const [msg] = await drainQueue(rabbit.url, ir.consumers[0]!.rabbitmq.queue);
    expect(msg!.properties.deliveryMode).toBe(2);
    expect(msg!.properties.contentType).toBe('application/json');
    expect(msg!.properties.messageId).toBe('id-1');
    expect(msg!.properties.headers!['cloudEvents_id']).toBe('id-1');
    expect(msg!.properties.headers!['cloudEvents_type']).toBe('OrderCreated');
    expect(msg!.properties.headers!['cloudEvents_partitionkey']).toBe('order-1');
    expect(msg!.properties.headers!).not.toHaveProperty('ef-key');
    expect(JSON.parse(msg!.content.toString())).toEqual({ n: 1 });

    // An event nobody consumes is routed nowhere, and that is fine in pub/sub.
    const nobody = ir.events.find((e) => e.name === 'Nobody')!;
    await expect(transport.publish(nobody, jsonMessage('Nobody', {}))).resolves.toBeUndefined();
  });

  it('rejects an event whose declared consumers have no queue (resources not provisioned)', async () => {
    const ir = topology({
      name: 'tunroutable',
      events: [{ name: 'Ping' }],
      consumers: [{ service: 'svc', handler: 'onPing', events: ['Ping'] }],
    });
    const transport = transportFor(ir, { assertResources: false });
    // Only the exchange exists: the consumer queue was never created.
    const admin = transportFor(ir);
    await admin.start({ ...ir, consumers: [] });
    await admin.close();
    await transport.start(ir);
    await expect(transport.publish(ir.events[0]!, jsonMessage('Ping', {}))).rejects.toBeInstanceOf(
      UnroutableMessageError,
    );
  });

  it('fails fast when the events exchange does not exist, and keeps working afterwards', async () => {
    const ir = topology({ name: 'tnoexchange', events: [{ name: 'Ping' }], consumers: [] });
    const transport = transportFor(ir, { assertResources: false, publishTimeoutMs: 5_000 });
    await transport.start(ir);
    const began = Date.now();
    const err = await transport.publish(ir.events[0]!, jsonMessage('Ping', {})).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnroutableMessageError);
    expect(String((err as Error).message)).toMatch(/does not exist/);
    expect(Date.now() - began).toBeLessThan(2_000);
    // The publishing channel died with the 404; the next publish opens a new one.
    const admin = transportFor(ir);
    await admin.start(ir);
    await expect(transport.publish(ir.events[0]!, jsonMessage('Ping', {}))).resolves.toBeUndefined();
  });

  it('refuses to start when an existing queue has other arguments', async () => {
    const ir = topology({
      name: 'tconflict',
      events: [{ name: 'Ping' }],
      consumers: [{ service: 'svc', handler: 'onPing', events: ['Ping'] }],
    });
    const conn = await adminConnection(rabbit.url);
    const ch = await conn.createChannel();
    await ch.assertQueue(ir.consumers[0]!.rabbitmq.queue, { durable: true, arguments: { 'x-queue-type': 'classic' } });
    await conn.close();
    const transport = transportFor(ir);
    const err = await transport.start(ir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ResourceConflictError);
    expect(String((err as Error).message)).toMatch(/x-queue-type.*eventform provision --dry-run/s);
  });

  it('sends a retry to the failing consumer only, after the tier delay, and dead-letters with the record', async () => {
    const ir = topology({
      name: 'tretry',
      events: [{ name: 'OrderCreated' }],
      consumers: [
        { service: 'stock', handler: 'reserve', events: ['OrderCreated'], attempts: 3, delayMs: 300, maxDelayMs: 300 },
        { service: 'mail', handler: 'notify', events: ['OrderCreated'] },
      ],
    });
    const [notify, reserve] = ir.consumers; // sorted by id: mail.notify, stock.reserve
    expect(reserve!.id).toBe('stock.reserve');
    const transport = transportFor(ir);
    await transport.start(ir);

    const seenByReserve: { delivery: Delivery; at: number }[] = [];
    const seenByNotify: Delivery[] = [];
    await transport.subscribe(reserve!, async (delivery): Promise<Disposition> => {
      seenByReserve.push({ delivery, at: Date.now() });
      const attempt = Number(delivery.headers[EF.attempt]);
      if (attempt < 3)
        return { kind: 'retry', delayMs: 300, headers: { ...delivery.headers, [EF.attempt]: String(attempt + 1) } };
      return {
        kind: 'dead-letter',
        headers: { ...delivery.headers, [EF.dlReason]: 'attempts-exhausted', [EF.dlAttempts]: String(attempt) },
      };
    });
    await transport.subscribe(notify!, async (delivery) => {
      seenByNotify.push(delivery);
      return { kind: 'ack' };
    });

    await transport.publish(ir.events[0]!, jsonMessage('OrderCreated', { order: 7 }, 'evt-7', 'k7'));
    await waitFor(() => seenByReserve.length === 3, 10_000, 'three attempts');
    const dlq = reserve!.rabbitmq.deadLetterQueue!;
    await waitFor(async () => (await queueDepth(rabbit.url, dlq)) === 1, 5_000, 'dead letter');
    await sleep(300);

    // The other consumer saw the event once: retries never fan out again.
    expect(seenByNotify).toHaveLength(1);
    expect(seenByReserve).toHaveLength(3);
    const [first, second, third] = seenByReserve;
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(280);
    expect(third!.at - second!.at).toBeGreaterThanOrEqual(280);
    // Retries come back through the default exchange but keep naming the original origin and key.
    for (const seen of seenByReserve) {
      expect(seen.delivery.origin).toBe(`${ir.rabbitmq.exchange}/OrderCreated`);
      expect(seen.delivery.key).toBe('k7');
      expect(seen.delivery.headers[CE.id]).toBe('evt-7');
      expect(Object.keys(seen.delivery.headers).some((h) => h.startsWith('x-'))).toBe(false);
    }
    expect(seenByReserve.map((s) => s.delivery.headers[EF.attempt])).toEqual(['1', '2', '3']);

    const [dead] = await drainQueue(rabbit.url, dlq);
    expect(JSON.parse(dead!.content.toString())).toEqual({ order: 7 });
    expect(dead!.properties.deliveryMode).toBe(2);
    const headers = dead!.properties.headers!;
    expect(headers['cloudEvents_id']).toBe('evt-7');
    expect(headers[EF.dlReason]).toBe('attempts-exhausted');
    expect(headers[EF.origin]).toBe(`${ir.rabbitmq.exchange}/OrderCreated`);
    expect(headers['cloudEvents_partitionkey']).toBe('k7');
    // Nothing left anywhere.
    expect(await queueDepth(rabbit.url, reserve!.rabbitmq.queue)).toBe(0);
    for (const tier of reserve!.rabbitmq.retryQueues) expect(await queueDepth(rabbit.url, tier.name)).toBe(0);
    expect(transport.metrics.retried).toBe(2);
    expect(transport.metrics.deadLettered).toBe(1);
  });

  it('runs at most `concurrency` handlers at once and releases with requeue', async () => {
    const ir = topology({
      name: 'tconc',
      events: [{ name: 'Tick' }],
      consumers: [{ service: 'svc', handler: 'tick', events: ['Tick'], concurrency: 3 }],
    });
    const transport = transportFor(ir, { prefetch: 10 });
    await transport.start(ir);
    let running = 0;
    let peak = 0;
    const released = new Set<string>();
    const done = new Set<string>();
    await transport.subscribe(ir.consumers[0]!, async (d) => {
      running++;
      peak = Math.max(peak, running);
      await sleep(30);
      running--;
      const id = d.headers[CE.id]!;
      if (!released.has(id) && id.endsWith('0')) {
        released.add(id);
        return { kind: 'release' };
      }
      done.add(id);
      return { kind: 'ack' };
    });
    for (let i = 0; i < 20; i++) await transport.publish(ir.events[0]!, jsonMessage('Tick', { i }, `tick-${i}`));
    await waitFor(() => done.size === 20, 10_000, 'all ticks');
    expect(peak).toBeLessThanOrEqual(3);
    expect(peak).toBeGreaterThan(1);
    expect(released.size).toBe(2);
  });

  it('reconnects after the broker closes its connection and keeps consuming', async () => {
    const ir = topology({
      name: 'treconnect',
      events: [{ name: 'Beat' }],
      consumers: [{ service: 'svc', handler: 'beat', events: ['Beat'], concurrency: 2 }],
    });
    const connectionName = uniqueName('ef-test-reconnect');
    const transport = transportFor(ir, { connectionName });
    await transport.start(ir);
    const received = new Set<string>();
    let deliveries = 0;
    await transport.subscribe(ir.consumers[0]!, async (d) => {
      deliveries++;
      await sleep(5);
      received.add(d.headers[CE.id]!);
      return { kind: 'ack' };
    });
    // Publishers keep going while the broker drops the connection under them: every publish
    // must still resolve (re-sent on the new connection) or the test fails.
    let closed: Promise<number> | undefined;
    let closedCount = -1;
    let next = 0;
    const publisher = async (): Promise<void> => {
      // Keep publishing until the forced close happened and the transport is back, at least 200.
      while (next < 200 || closedCount < 0 || transport.metrics.connections < 2 || next < 260) {
        const i = next++;
        if (i === 80) closed = closeConnectionsNamed(connectionName).then((n) => (closedCount = n));
        await transport.publish(ir.events[0]!, jsonMessage('Beat', { i }, `beat-${i}`));
        await sleep(5);
        if (next > 5_000) throw new Error('the transport never came back');
      }
    };
    await Promise.all([publisher(), publisher(), publisher(), publisher()]);
    expect(await closed).toBe(1);
    const total = next;
    await waitFor(() => received.size === total, 20_000, `all ${total} events after reconnect`);
    expect(transport.metrics.disconnects).toBeGreaterThanOrEqual(1);
    expect(transport.metrics.connections).toBeGreaterThanOrEqual(2);
    expect(transport.state).toBe('connected');
    expect(deliveries).toBeGreaterThanOrEqual(total);
  });

  it('holds a publish while disconnected, then sends it on reconnect or rejects after publishTimeoutMs', async () => {
    const ir = topology({
      name: 'toutage',
      events: [{ name: 'Ping' }],
      consumers: [{ service: 'svc', handler: 'ping', events: ['Ping'] }],
    });
    const proxy = new TcpProxy('127.0.0.1', Number(new URL(rabbit.url).port || 5672));
    await proxy.start();
    cleanups.push(() => proxy.cut());
    const transport = transportFor(ir, { url: proxy.url(), publishTimeoutMs: 1_500 });
    await transport.start(ir);
    const event = ir.events[0]!;

    // Outage longer than the bound: rejected with a clear error, not dropped silently.
    await proxy.cut();
    await waitFor(() => transport.state === 'reconnecting', 5_000, 'disconnect noticed');
    const began = Date.now();
    const failure = await transport.publish(event, jsonMessage('Ping', { n: 1 }, 'lost-1')).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(BrokerUnavailableError);
    expect(Date.now() - began).toBeGreaterThanOrEqual(1_400);
    expect(String((failure as Error).message)).toMatch(/unavailable/i);

    // Outage shorter than the bound: the publish waits and succeeds.
    const pending = transport.publish(event, jsonMessage('Ping', { n: 2 }, 'kept-2'));
    await sleep(300);
    await proxy.start();
    await expect(pending).resolves.toBeUndefined();
    const messages = await drainQueue(rabbit.url, ir.consumers[0]!.rabbitmq.queue);
    expect(messages.map((m) => m.properties.messageId)).toEqual(['kept-2']);
  });

  it('close() during an outage returns promptly and never reconnects afterwards', async () => {
    const ir = topology({
      name: 'tclose',
      events: [{ name: 'Ping' }],
      consumers: [{ service: 'svc', handler: 'p', events: ['Ping'] }],
    });
    const proxy = new TcpProxy('127.0.0.1', Number(new URL(rabbit.url).port || 5672));
    await proxy.start();
    cleanups.push(() => proxy.cut());
    const transport = transportFor(ir, { url: proxy.url(), reconnect: { initialDelayMs: 2_000, maxDelayMs: 2_000 } });
    await transport.start(ir);
    await transport.subscribe(ir.consumers[0]!, async () => ({ kind: 'ack' }));
    await proxy.cut();
    await waitFor(() => transport.state === 'reconnecting', 5_000, 'disconnect noticed');
    const pending = transport.publish(ir.events[0]!, jsonMessage('Ping', {}));
    const began = Date.now();
    await transport.close({ timeoutMs: 1_000 });
    expect(Date.now() - began).toBeLessThan(1_500);
    await expect(pending).rejects.toBeInstanceOf(BrokerUnavailableError);
    await proxy.start();
    await sleep(2_500);
    expect(transport.state).toBe('closed');
    expect(transport.metrics.connections).toBe(1);
    await expect(transport.publish(ir.events[0]!, jsonMessage('Ping', {}))).rejects.toThrow(/closed/);
  });

  it('fails start with BrokerUnavailableError when nothing listens', async () => {
    const ir = buildTopology({ name: 'tdown', events: [{ name: 'X' }], consumers: [] });
    const transport = transportFor(ir, { url: 'amqp://guest:guest@127.0.0.1:1', connectTimeoutMs: 500 });
    await expect(transport.start(ir)).rejects.toBeInstanceOf(BrokerUnavailableError);
  });

  it('stop() waits for in-flight handlers and leaves unhandled messages in the queue', async () => {
    const ir = topology({
      name: 'tstop',
      events: [{ name: 'Job' }],
      consumers: [{ service: 'svc', handler: 'job', events: ['Job'], concurrency: 1 }],
    });
    const transport = transportFor(ir, { prefetch: 5 });
    await transport.start(ir);
    let finished = 0;
    let started = 0;
    const sub = await transport.subscribe(ir.consumers[0]!, async () => {
      started++;
      await sleep(300);
      finished++;
      return { kind: 'ack' };
    });
    for (let i = 0; i < 5; i++) await transport.publish(ir.events[0]!, jsonMessage('Job', { i }));
    await waitFor(() => started === 1, 5_000, 'first job');
    await sub.stop({ timeoutMs: 5_000 });
    expect(finished).toBe(started);
    expect(await queueDepth(rabbit.url, ir.consumers[0]!.rabbitmq.queue)).toBe(5 - finished);
  });

  for (const queueType of ['quorum', 'classic'] as const) {
    it(`passes on the delivery count a ${queueType} queue keeps (classic: none) for the crash-loop guard`, async () => {
      const ir = topology({
        name: 'tcount',
        queueType,
        events: [{ name: 'Job' }],
        consumers: [{ service: 'svc', handler: 'job', events: ['Job'] }],
      });
      const transport = transportFor(ir);
      await transport.start(ir);
      const counts: (number | undefined)[] = [];
      await transport.subscribe(ir.consumers[0]!, async (delivery) => {
        counts.push(delivery.deliveryCount);
        // Given back three times, like a consumer that crashed or lost its connection.
        return counts.length <= 3 ? { kind: 'release' } : { kind: 'ack' };
      });
      await transport.publish(ir.events[0]!, jsonMessage('Job', {}));
      await waitFor(() => counts.length === 4, 10_000, 'four deliveries');
      expect(counts).toEqual(
        queueType === 'quorum' ? [undefined, 1, 2, 3] : [undefined, undefined, undefined, undefined],
      );
    });
  }
});
