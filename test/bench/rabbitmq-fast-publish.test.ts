/**
 * The RabbitMQ transport's publish fast path (runtime/transports/rabbitmq/confirm-publisher.ts),
 * added for throughput: it calls the two amqplib methods `ConfirmChannel#publish` is made of, so
 * the per-message headers are not wrapped with `Object.create`. The message on the broker must be
 * the same as through amqplib's public `publish`, confirms and returns must work, and the fast path
 * must actually be taken with the installed amqplib (else the bench silently loses the gain).
 */
import amqp from 'amqplib';
import type { ChannelModel, ConfirmChannel, GetMessage, Options } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfirmPublisher, publishFieldsAndProperties } from '../../runtime/transports/rabbitmq/confirm-publisher.js';
import { requireRabbitmq } from '../support/brokers.js';

const rabbit = await requireRabbitmq();

const props = (): Options.Publish => ({
  persistent: true,
  contentType: 'application/json',
  messageId: 'evt-1',
  type: 'OrderPlaced',
  appId: 'order-service',
  timestamp: 1_700_000_000,
  headers: { cloudEvents_id: 'evt-1', cloudEvents_specversion: '1.0', 'ef-key': 'order_1', 'x-n': 'ü' },
});

describe('publishFieldsAndProperties', () => {
  it('keeps the caller headers object as is and leaves CC/BCC to amqplib', () => {
    const options = props();
    const fields = publishFieldsAndProperties('x', 'rk', options)!;
    expect(fields.headers).toBe(options.headers);
    expect(fields).toMatchObject({ exchange: 'x', routingKey: 'rk', deliveryMode: 2, mandatory: false });
    expect(publishFieldsAndProperties('x', 'rk', { CC: 'a' })).toBeUndefined();
  });
});

describe.skipIf(!rabbit.available)('ConfirmPublisher fast path', () => {
  let connection: ChannelModel;
  let channel: ConfirmChannel;
  let queue: string;

  beforeAll(async () => {
    connection = await amqp.connect(rabbit.url);
    channel = await connection.createConfirmChannel();
    ({ queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true }));
  });
  afterAll(async () => {
    await connection?.close();
  });

  const getOne = async (): Promise<GetMessage> => {
    for (let i = 0; i < 50; i++) {
      const msg = await channel.get(queue, { noAck: true });
      if (msg) return msg;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('no message');
  };

  it('is taken with the installed amqplib and stores the same message as the public publish', async () => {
    const publisher = new ConfirmPublisher(channel);
    expect(publisher.encoding).toBe('frames');
    const body = Buffer.from('{"orderId":"order_1"}');
    expect(await publisher.publish('', queue, body, props(), 5_000)).toBe('routed');
    const fast = await getOne();
    await new Promise<void>((resolve, reject) =>
      channel.publish('', queue, body, props(), (err) => (err ? reject(err) : resolve())),
    );
    const standard = await getOne();
    expect(fast.content.equals(standard.content)).toBe(true);
    expect(fast.properties).toEqual(standard.properties);
    expect(fast.properties.headers).toEqual(props().headers);
    expect(fast.properties.deliveryMode).toBe(2);
  });

  it('still reports a message no queue took as returned (mandatory)', async () => {
    const publisher = new ConfirmPublisher(channel);
    const outcome = await publisher.publish('amq.direct', `nobody-${Date.now()}`, Buffer.from('{}'), props(), 5_000);
    expect(outcome).toBe('returned');
  });
});
