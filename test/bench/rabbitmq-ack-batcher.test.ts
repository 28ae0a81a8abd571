/**
 * AckBatcher (runtime/transports/rabbitmq/ack-batcher.ts), the RabbitMQ transport's ack coalescing
 * added for throughput: unit tests against a recording fake channel. End to end it is covered by
 * `npx vitest run test/rabbitmq` (conformance, redelivery and the connection-kill fault test).
 */
import type { Channel, ConsumeMessage } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { AckBatcher } from '../../runtime/rabbitmq/src/ack-batcher.js';

type Frame = [kind: 'ack' | 'nack', tag: number, multiple: boolean];

function fakeChannel(): { channel: Channel; frames: Frame[]; close(): void } {
  const frames: Frame[] = [];
  let closed = false;
  const check = (): void => {
    if (closed) throw new Error('Channel closed');
  };
  const channel = {
    ack: (msg: ConsumeMessage, multiple = false) => {
      check();
      frames.push(['ack', msg.fields.deliveryTag, multiple]);
    },
    nack: (msg: ConsumeMessage, multiple = false) => {
      check();
      frames.push(['nack', msg.fields.deliveryTag, multiple]);
    },
  } as unknown as Channel;
  return { channel, frames, close: () => void (closed = true) };
}

const msg = (tag: number) => ({ fields: { deliveryTag: tag } }) as ConsumeMessage;
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('AckBatcher', () => {
  it('acks a completed run of deliveries with one multiple-ack, on the next turn', async () => {
    const { channel, frames } = fakeChannel();
    const acks = new AckBatcher(channel, () => {});
    const tickets = [1, 2, 3, 4].map((t) => acks.track(msg(t)));
    for (const t of tickets) acks.ack(t);
    expect(frames).toEqual([]);
    await nextTurn();
    expect(frames).toEqual([['ack', 4, true]]);
    expect(acks.pending).toBe(0);
  });

  it('acks messages finished behind a running one individually, so the prefetch window keeps moving', async () => {
    const { channel, frames } = fakeChannel();
    const acks = new AckBatcher(channel, () => {});
    const [a, b, c] = [1, 2, 3].map((t) => acks.track(msg(t)));
    acks.ack(b!);
    acks.ack(c!);
    await nextTurn();
    expect(frames).toEqual([
      ['ack', 2, false],
      ['ack', 3, false],
    ]);
    acks.ack(a!);
    await nextTurn();
    // A multiple-ack on tag 1 covers only tag 1: 2 and 3 are no longer outstanding.
    expect(frames.at(-1)).toEqual(['ack', 1, true]);
    expect(frames).toHaveLength(3);
  });

  it('sends nacks at once and never covers them with a multiple-ack', async () => {
    const { channel, frames } = fakeChannel();
    const acks = new AckBatcher(channel, () => {});
    const [a, b, c] = [1, 2, 3].map((t) => acks.track(msg(t)));
    acks.ack(a!);
    acks.nack(b!);
    expect(frames).toEqual([['nack', 2, false]]);
    acks.ack(c!);
    await nextTurn();
    expect(frames).toEqual([
      ['nack', 2, false],
      ['ack', 3, true],
    ]);
  });

  it('does not ack a delivery twice and flushes on demand', () => {
    const { channel, frames } = fakeChannel();
    const acks = new AckBatcher(channel, () => {});
    const a = acks.track(msg(7));
    acks.ack(a);
    acks.ack(a);
    acks.nack(a);
    acks.flush();
    acks.flush();
    expect(frames).toEqual([['ack', 7, true]]);
  });

  it('counts acks it could not send because the channel had closed', async () => {
    const { channel, frames, close } = fakeChannel();
    const lost: number[] = [];
    const acks = new AckBatcher(channel, (n) => lost.push(n));
    const [a, b, c] = [1, 2, 3].map((t) => acks.track(msg(t)));
    acks.ack(a!);
    acks.ack(c!);
    close();
    await nextTurn();
    expect(frames).toEqual([]);
    expect(lost).toEqual([2]);
    acks.forget(b!);
    expect(acks.pending).toBe(0);
  });
});
