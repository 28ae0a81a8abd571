/**
 * The RabbitMQ transport's publish fast paths (runtime/transports/rabbitmq/confirm-publisher.ts),
 * added for throughput: `frames` writes the transport's own encoding of the frames
 * (publish-frames.ts) to the channel's stream; `fields` has amqplib encode them from plain fields
 * (no `Object.create` around the headers), used when the encoder leaves a message to amqplib or a
 * close is under way. On a real broker: the stored message is the same as through amqplib's public
 * `publish` on both paths, confirms and returns work, the `frames` path is taken with the installed
 * amqplib (else the bench silently loses the gain), and a publish during a close fails at once.
 */
import amqp from 'amqplib';
import type { ChannelModel, ConfirmChannel, GetMessage, Options } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfirmPublisher, publishFieldsAndProperties } from '../../runtime/rabbitmq/src/confirm-publisher.js';
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
    // A number header is left to amqplib: the `fields` path.
    const withNumber = { ...props(), headers: { ...props().headers, 'x-n': 7 } };
    expect(await publisher.publish('', queue, body, withNumber, 5_000)).toBe('routed');
    const fields = await getOne();
    await new Promise<void>((resolve, reject) =>
      channel.publish('', queue, body, props(), (err) => (err ? reject(err) : resolve())),
    );
    const standard = await getOne();
    expect(fast.content.equals(standard.content)).toBe(true);
    expect(fast.properties).toEqual(standard.properties);
    expect(fast.properties.headers).toEqual(props().headers);
    expect(fast.properties.deliveryMode).toBe(2);
    expect(fields.properties).toEqual({ ...standard.properties, headers: { ...props().headers, 'x-n': 7 } });
  });

  it('fails a publish at once while the channel is closing, and writes nothing', async () => {
    const own = await connection.createConfirmChannel();
    const publisher = new ConfirmPublisher(own);
    expect(publisher.encoding).toBe('frames');
    const closing = own.close();
    // The slot and stream stay until close-ok; amqplib's own publish throws "Channel closing" now.
    expect(publisher.encoding).toBe('fields');
    const outcome = publisher.publish('', queue, Buffer.from('{}'), props(), 5_000);
    await expect(outcome).rejects.toThrow(/closing/);
    await closing;
    expect(await channel.checkQueue(queue)).toMatchObject({ messageCount: 0 });
  });

  it('still reports a message no queue took as returned (mandatory)', async () => {
    const publisher = new ConfirmPublisher(channel);
    const outcome = await publisher.publish('amq.direct', `nobody-${Date.now()}`, Buffer.from('{}'), props(), 5_000);
    expect(outcome).toBe('returned');
  });
});
