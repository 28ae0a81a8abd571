/**
 * Publisher confirms against the real broker when the answer is not a plain ack (issue #6): a nack
 * rejects with PublishNackedError, a confirm that does not come within `publishTimeoutMs` rejects
 * with PublishTimeoutError, and a deadline used up before anything was sent is an outage
 * (BrokerUnavailableError), not an unconfirmed publish.
 */
import type { Options } from 'amqplib';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfirmPublisher } from '../../runtime/rabbitmq/src/confirm-publisher.js';
import { BrokerUnavailableError, PublishNackedError, PublishTimeoutError } from '@eventform/rabbitmq';
import { requireRabbitmq } from '../support/brokers.js';
import { adminConnection, deleteQueues, drainQueue, queueDepth } from './broker-admin.js';
import { uniqueName } from './fixtures.js';
import { jsonMessage, perTestResources } from './helpers.js';
import { TcpProxy } from './tcp-proxy.js';

const rabbit = await requireRabbitmq();

/** A queue that holds one message and makes the broker nack every publish beyond it. */
function fullAfterOne(queueType: 'quorum' | 'classic'): Options.AssertQueue {
  return {
    durable: true,
    arguments: { 'x-queue-type': queueType, 'x-max-length': 1, 'x-overflow': 'reject-publish' },
  };
}

describe.skipIf(!rabbit.available)('RabbitMQ publish errors (real broker)', () => {
  const resources = perTestResources(rabbit.url, 'ef-test-publish-errors');
  const { cleanups, transportFor, topology } = resources;
  afterEach(resources.cleanup);

  /** A queue with a unique name, deleted after the test. */
  async function declareQueue(
    prefix: string,
    options: Options.AssertQueue,
    bindTo?: [string, string],
  ): Promise<string> {
    const name = uniqueName(prefix);
    const conn = await adminConnection(rabbit.url);
    try {
      const ch = await conn.createChannel();
      await ch.assertQueue(name, options);
      cleanups.push(() => deleteQueues(rabbit.url, [name]));
      if (bindTo) await ch.bindQueue(name, bindTo[0], bindTo[1]);
      await ch.close();
    } finally {
      await conn.close().catch(() => {});
    }
    return name;
  }

  /**
   * A one-event topology (Ping) and a started transport that reaches the broker through a TCP
   * proxy, so a test can hold back the broker's answers (`proxy.stall()`). Cleanups resume the
   * proxy before the transport closes (so close() gets its close-ok), then cut it.
   */
  async function pingThroughProxy(name: string, publishTimeoutMs: number) {
    const ir = topology({
      name,
      events: [{ name: 'Ping' }],
      consumers: [{ service: 'svc', handler: 'ping', events: ['Ping'] }],
    });
    const proxy = new TcpProxy('127.0.0.1', Number(new URL(rabbit.url).port || 5672));
    await proxy.start();
    cleanups.push(() => proxy.cut());
    const transport = transportFor(ir, { url: proxy.url(), publishTimeoutMs });
    cleanups.push(async () => proxy.resume());
    await transport.start(ir);
    return { ir, proxy, transport, event: ir.events[0]! };
  }

  /** A confirm channel on its own connection, both closed after the test. */
  async function confirmPublisher(): Promise<ConfirmPublisher> {
    const conn = await adminConnection(rabbit.url);
    cleanups.push(() => conn.close());
    const channel = await conn.createConfirmChannel();
    channel.on('error', () => {});
    return new ConfirmPublisher(channel);
  }

  const body = Buffer.from('{}');
  const settled = (p: Promise<unknown>): Promise<unknown> => p.catch((e: unknown) => e);

  it('ConfirmPublisher rejects with PublishNackedError when the broker nacks (classic queue full, reject-publish)', async () => {
    const queue = await declareQueue('ef-test-nack-classic', fullAfterOne('classic'));
    const publisher = await confirmPublisher();

    await expect(publisher.publish('', queue, body, { persistent: true, messageId: 'first' }, 5_000)).resolves.toBe(
      'routed',
    );
    const err = await settled(publisher.publish('', queue, body, { persistent: true, messageId: 'second' }, 5_000));
    expect(err).toBeInstanceOf(PublishNackedError);
    expect(String((err as Error).message)).toBe(`broker refused the message (nack) for queue ${queue}`);
    // A nack is the broker's answer, not a channel failure: the channel stays usable.
    expect(publisher.isOpen).toBe(true);
    expect((await drainQueue(rabbit.url, queue)).map((m) => m.properties.messageId)).toEqual(['first']);
    await expect(publisher.publish('', queue, body, { persistent: true, messageId: 'third' }, 5_000)).resolves.toBe(
      'routed',
    );
  });

  it('ConfirmPublisher rejects with PublishNackedError when the broker nacks (quorum queue full, reject-publish)', async () => {
    const queue = await declareQueue('ef-test-nack-quorum', fullAfterOne('quorum'));
    const publisher = await confirmPublisher();

    await expect(publisher.publish('', queue, body, { persistent: true, messageId: 'm0' }, 5_000)).resolves.toBe(
      'routed',
    );
    // A quorum queue checks the limit after storing a message, so it takes one beyond
    // x-max-length before it refuses (RabbitMQ 3.10: 'routed', 'routed', nack); a classic one does not.
    const outcomes: unknown[] = [];
    for (let i = 1; i <= 3 && !(outcomes.at(-1) instanceof Error); i++) {
      outcomes.push(await settled(publisher.publish('', queue, body, { persistent: true, messageId: `m${i}` }, 5_000)));
    }
    const err = outcomes.at(-1);
    expect(err).toBeInstanceOf(PublishNackedError);
    expect(String((err as Error).message)).toBe(`broker refused the message (nack) for queue ${queue}`);
    expect(outcomes.slice(0, -1).every((o) => o === 'routed')).toBe(true);
    expect(outcomes.length).toBeLessThanOrEqual(2);
    // Exactly the acked messages were stored; the nacked one was not.
    const stored = (await drainQueue(rabbit.url, queue)).map((m) => m.properties.messageId);
    expect(stored).toEqual(['m0', ...outcomes.slice(0, -1).map((_, i) => `m${i + 1}`)]);
    expect(publisher.isOpen).toBe(true);
  });

  it('RabbitMQTransport.publish rejects with PublishNackedError when a queue bound to the event refuses it', async () => {
    const ir = topology({
      name: 'tnack',
      events: [{ name: 'OrderPlaced' }],
      consumers: [{ service: 'billing', handler: 'charge', events: ['OrderPlaced'] }],
    });
    const transport = transportFor(ir);
    await transport.start(ir);
    const event = ir.events[0]!;
    // A second queue bound to the event next to the topology's own: it takes one message, then the
    // broker nacks every publish it would have to store there.
    const full = await declareQueue(`${ir.name}.full`, fullAfterOne('classic'), [
      event.rabbitmq.exchange,
      event.rabbitmq.routingKey,
    ]);

    await expect(transport.publish(event, jsonMessage('OrderPlaced', { n: 1 }, 'placed-1'))).resolves.toBeUndefined();
    const err = await transport
      .publish(event, jsonMessage('OrderPlaced', { n: 2 }, 'placed-2'))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PublishNackedError);
    expect(String((err as Error).message)).toMatch(new RegExp(`nack.*${ir.rabbitmq.exchange}/OrderPlaced`));
    expect(transport.metrics.published).toBe(1);
    expect(transport.metrics.republished).toBe(0);
    expect((await drainQueue(rabbit.url, full)).map((m) => m.properties.messageId)).toEqual(['placed-1']);
    // A nack says "not stored in every queue": RabbitMQ still stores it in the queues that took it.
    const consumerQueue = ir.consumers[0]!.rabbitmq.queue;
    expect((await drainQueue(rabbit.url, consumerQueue)).map((m) => m.properties.messageId)).toEqual([
      'placed-1',
      'placed-2',
    ]);
    // The transport keeps publishing once there is room again.
    await expect(transport.publish(event, jsonMessage('OrderPlaced', { n: 3 }, 'placed-3'))).resolves.toBeUndefined();
  });

  it('RabbitMQTransport.publish rejects with PublishTimeoutError when no confirm comes within publishTimeoutMs', async () => {
    const publishTimeoutMs = 2_000;
    const { ir, proxy, transport, event } = await pingThroughProxy('tconfirmtimeout', publishTimeoutMs);
    // Open the publishing channel while the broker answers; only the confirm is held back.
    await transport.publish(event, jsonMessage('Ping', { n: 1 }, 'ping-1'));

    proxy.stall();
    const began = Date.now();
    const err = await transport.publish(event, jsonMessage('Ping', { n: 2 }, 'ping-2')).catch((e: unknown) => e);
    const took = Date.now() - began;
    expect(err).toBeInstanceOf(PublishTimeoutError);
    expect(String((err as Error).message)).toMatch(
      /did not confirm Ping within 2000ms; it may or may not have been stored/,
    );
    // Roughly publishTimeoutMs: slack for a loaded machine, but well short of twice the bound.
    expect(took).toBeGreaterThanOrEqual(publishTimeoutMs - 50);
    expect(took).toBeLessThan(publishTimeoutMs + 1_500);
    // The connection never dropped: this was the confirm timing out, not an outage.
    expect(transport.state).toBe('connected');
    expect(transport.metrics.disconnects).toBe(0);

    // The broker did get it (client → broker was never held back): "may or may not" really is "may".
    proxy.resume();
    await expect(transport.publish(event, jsonMessage('Ping', { n: 3 }, 'ping-3'))).resolves.toBeUndefined();
    const messages = await drainQueue(rabbit.url, ir.consumers[0]!.rabbitmq.queue);
    expect(messages.map((m) => m.properties.messageId)).toEqual(['ping-1', 'ping-2', 'ping-3']);
  });

  it('rejects with BrokerUnavailableError, not PublishTimeoutError, when publishTimeoutMs ran out before the message was sent', async () => {
    const publishTimeoutMs = 1_000;
    const { ir, proxy, transport, event } = await pingThroughProxy('tnotsent', publishTimeoutMs);

    // Connected, but the publishing channel (opened on the first publish) cannot open while the
    // broker's answers are held back: the publish gives up at its deadline, not when they resume.
    proxy.stall();
    const began = Date.now();
    const err = await transport.publish(event, jsonMessage('Ping', { n: 1 }, 'never-sent')).catch((e: unknown) => e);
    const waited = Date.now() - began;
    proxy.resume();
    expect(err).toBeInstanceOf(BrokerUnavailableError);
    expect(err).not.toBeInstanceOf(PublishTimeoutError);
    expect(String((err as Error).message)).toMatch(/no publishing channel within 1000ms.*nothing was sent/);
    expect(waited).toBeGreaterThanOrEqual(publishTimeoutMs - 50);
    expect(waited).toBeLessThan(publishTimeoutMs + 1_500);
    expect(transport.metrics.published).toBe(0);
    expect(await queueDepth(rabbit.url, ir.consumers[0]!.rabbitmq.queue)).toBe(0);
    // The channel did open in the end; the next publish uses it.
    await expect(transport.publish(event, jsonMessage('Ping', { n: 2 }, 'sent-2'))).resolves.toBeUndefined();
    expect(await queueDepth(rabbit.url, ir.consumers[0]!.rabbitmq.queue)).toBe(1);
  });
});
