/**
 * ConfirmPublisher under socket back-pressure (unit; a stand-in channel whose writes never drain):
 * a publish waiting for the connection to take more data is bounded by its timeout too, and says
 * that nothing was sent, unlike a publish whose confirm did not come.
 */
import { EventEmitter } from 'node:events';
import type { ConfirmChannel } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { ConfirmPublisher, NotSentError } from '../../runtime/rabbitmq/src/confirm-publisher.js';
import { TimeoutError } from '../../runtime/rabbitmq/src/timing.js';

/** A channel with only the public `publish`: every write fills the buffer; nothing is confirmed. */
function backPressuredChannel(): ConfirmChannel & { writes: number } {
  const channel = Object.assign(new EventEmitter(), {
    writes: 0,
    publish(): boolean {
      channel.writes++;
      return false;
    },
  });
  return channel as unknown as ConfirmChannel & { writes: number };
}

describe('ConfirmPublisher under back-pressure', () => {
  it('rejects a waiting publish with NotSentError at its timeout, without writing it', async () => {
    const channel = backPressuredChannel();
    const publisher = new ConfirmPublisher(channel);
    expect(publisher.encoding).toBe('amqplib');
    // The first write fills the buffer; its confirm never comes.
    const first = publisher.publish('x', 'rk', Buffer.from('{}'), {}, 150).catch((e: unknown) => e);
    expect(channel.writes).toBe(1);

    const began = Date.now();
    const second = await publisher.publish('x', 'rk', Buffer.from('{}'), {}, 100).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(NotSentError);
    expect(Date.now() - began).toBeGreaterThanOrEqual(90);
    expect(Date.now() - began).toBeLessThan(2_000);
    expect(channel.writes).toBe(1);
    // The first one was written: its missing confirm is a TimeoutError, "may or may not be stored".
    expect(await first).toBeInstanceOf(TimeoutError);
  });

  it('writes a waiting publish once the channel drains', async () => {
    const channel = backPressuredChannel();
    const publisher = new ConfirmPublisher(channel);
    void publisher.publish('x', 'rk', Buffer.from('{}'), {}).catch(() => {});
    const waiting = publisher.publish('x', 'rk', Buffer.from('{}'), {}, 1_000).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 50));
    expect(channel.writes).toBe(1);
    channel.emit('drain');
    await new Promise((r) => setTimeout(r, 10));
    expect(channel.writes).toBe(2);
    // Written, never confirmed: the confirm timeout, not NotSentError.
    const err = await waiting;
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err).not.toBeInstanceOf(NotSentError);
  });
});
