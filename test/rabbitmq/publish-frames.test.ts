/**
 * The transport's publish encoder (runtime/transports/rabbitmq/publish-frames.ts) must write exactly
 * the frames amqplib writes for the same publish, and leave to amqplib what it does not encode.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Options } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { encodePublishFrames } from '../../runtime/rabbitmq/src/publish-frames.js';
import { seededRandom } from '../support/random.js';

// amqplib's encoders are not in its package exports; load them by path.
const require = createRequire(import.meta.url);
const lib = path.join(path.dirname(require.resolve('amqplib')), 'lib');
const defs = require(path.join(lib, 'defs.js')) as {
  BasicPublish: number;
  BasicProperties: number;
  encodeMethod(id: number, channel: number, fields: object): Buffer;
  encodeProperties(id: number, channel: number, size: number, fields: object): Buffer;
};
const Args = require(path.join(lib, 'api_args.js')) as {
  publish(exchange: string, routingKey: string, options: Options.Publish): object;
};
const { Connection } = require(path.join(lib, 'connection.js')) as {
  Connection: { prototype: Record<string, (...args: unknown[]) => unknown> };
};

/**
 * The bytes amqplib writes for ConfirmChannel#publish: its own Connection#sendMessage (and, for
 * large messages, sendContent) run against a stand-in connection that records the channel's writes.
 */
function amqplibFrames(
  channel: number,
  exchange: string,
  routingKey: string,
  options: Options.Publish,
  body: Buffer,
  frameMax = FRAME_MAX,
): Buffer {
  const fields = Args.publish(exchange, routingKey, options);
  const written: Buffer[] = [];
  const connection = {
    frameMax,
    sentSinceLastCheck: false,
    channels: { [channel]: { buffer: { write: (chunk: Buffer) => written.push(Buffer.from(chunk)) > 0 } } },
    sendContent: Connection.prototype.sendContent,
  };
  Connection.prototype.sendMessage!.call(
    connection,
    channel,
    defs.BasicPublish,
    fields,
    defs.BasicProperties,
    fields,
    body,
  );
  expect(connection.sentSinceLastCheck).toBe(true);
  return Buffer.concat(written);
}

const FRAME_MAX = 131_072;

function sample(
  next: () => number,
  i: number,
): { exchange: string; routingKey: string; options: Options.Publish; body: Buffer } {
  const pick = <T>(items: T[]): T => items[Math.floor(next() * items.length)] as T;
  const maybe = <T>(value: T): T | undefined => (next() < 0.5 ? value : undefined);
  const id = () =>
    Math.floor(next() * 2 ** 52)
      .toString(16)
      .padStart(36, '0');
  const text = (max: number) =>
    pick(['', 'a', 'ü€😀', 'x'.repeat(Math.floor(next() * max)), id(), 'lone \ud800 surrogate']);
  // Sometimes with an inherited header, which amqplib's for...in encodes too.
  const headers: Record<string, string | undefined> = next() < 0.1 ? Object.create({ inherited: 'yes' }) : {};
  const count = Math.floor(next() * 14);
  for (let h = 0; h < count; h++) {
    headers[pick(['cloudEvents_id', 'cloudEvents_time', 'ef-key', 'ef-dl-stack', 'é', `h${h}`, 'x'.repeat(200), '7'])] =
      pick([id(), new Date(1_700_000_000_000 + i).toISOString(), text(3_000), undefined]);
  }
  const options: Options.Publish = {
    mandatory: next() < 0.5,
    contentType: maybe('application/json'),
    contentEncoding: maybe(pick(['gzip', 'ü'])),
    headers: next() < 0.9 ? headers : undefined,
    priority: maybe(Math.floor(next() * 10)),
    correlationId: maybe(id()),
    replyTo: maybe(text(200)),
    expiration: maybe(pick([60_000, '5000'])),
    messageId: maybe(`evt-${i}`),
    timestamp: maybe(pick([0, 1_700_000_000, 2 ** 32 - 1, 2 ** 32, Math.floor(next() * Number.MAX_SAFE_INTEGER)])),
    type: maybe(pick(['OrderPlaced', 'Bestellung-Übermittelt'])),
    userId: maybe('guest'),
    appId: maybe(text(255)),
  };
  const mode = pick(['persistent', 'transient', 'number', 'true', 'none']);
  if (mode === 'persistent') options.persistent = true;
  if (mode === 'transient') options.persistent = false;
  if (mode === 'number') options.deliveryMode = pick([1, 2]);
  if (mode === 'true') options.deliveryMode = true;
  const body = pick([
    Buffer.alloc(0),
    Buffer.from(JSON.stringify({ orderId: `order_${i}`, total: { amount: i, currency: 'EUR' } })),
    Buffer.alloc(Math.floor(next() * 20_000), 0x61),
    Buffer.alloc(FRAME_MAX - 8, 0x62),
  ]);
  return {
    exchange: pick(['', 'shop.events', 'ü'.repeat(100)]),
    routingKey: pick(['', 'OrderPlaced', text(255)]),
    options,
    body,
  };
}

describe('encodePublishFrames', () => {
  it('writes the same bytes as amqplib for 5,000 generated publishes', () => {
    const next = seededRandom(7);
    let compared = 0;
    for (let i = 0; i < 5_000; i++) {
      const { exchange, routingKey, options, body } = sample(next, i);
      const channel = i % 2 === 0 ? 1 + (i % 3000) : 65_535 - (i % 7);
      const ours = encodePublishFrames(channel, exchange, routingKey, !!options.mandatory, options, body, FRAME_MAX);
      let theirs: Buffer | Error;
      try {
        theirs = amqplibFrames(channel, exchange, routingKey, options, body);
      } catch (error) {
        theirs = error as Error;
      }
      if (ours === undefined) continue; // left to amqplib, whatever amqplib makes of it
      expect(theirs, `case ${i}: amqplib refuses what the encoder wrote`).toBeInstanceOf(Buffer);
      if (!ours.equals(theirs as Buffer)) {
        throw new Error(`case ${i} differs: ${JSON.stringify({ exchange, routingKey, options, body: body.length })}`);
      }
      compared++;
    }
    // Most generated cases must be encoded here, else the comparison proves little.
    expect(compared).toBeGreaterThan(3_500);
  });

  it('encodes what the transport publishes: CloudEvents headers, persistent JSON, id, type, timestamp', () => {
    const options: Options.Publish = {
      persistent: true,
      contentType: 'application/json',
      headers: { cloudEvents_id: 'evt-1', cloudEvents_specversion: '1.0', 'ef-key': 'order_1' },
      timestamp: 1_700_000_000,
      messageId: 'evt-1',
      type: 'OrderPlaced',
      appId: 'order-service',
      mandatory: true,
    };
    const body = Buffer.from('{"orderId":"order_1"}');
    const ours = encodePublishFrames(5, 'shop.events', 'OrderPlaced', true, options, body, FRAME_MAX);
    expect(ours?.equals(amqplibFrames(5, 'shop.events', 'OrderPlaced', options, body))).toBe(true);
  });

  it('leaves to amqplib what it does not encode', () => {
    const body = Buffer.from('{}');
    const leaves = (options: Options.Publish, frameMax = FRAME_MAX, b = body) =>
      encodePublishFrames(1, 'x', 'rk', false, options, b, frameMax);
    expect(leaves({ headers: { n: 1 as unknown as string } })).toBeUndefined();
    expect(leaves({ headers: { b: Buffer.from('x') as unknown as string } })).toBeUndefined();
    expect(leaves({ headers: { ['k'.repeat(256)]: 'v' } })).toBeUndefined();
    expect(leaves({ headers: { big: 'v'.repeat(70_000) } })).toBeUndefined();
    expect(leaves({ CC: 'other' })).toBeUndefined();
    expect(leaves({ messageId: 'm'.repeat(256) })).toBeUndefined();
    expect(leaves({ messageId: 42 as unknown as string })).toBeUndefined();
    expect(leaves({ priority: 256 })).toBeUndefined();
    expect(leaves({ timestamp: 1.5 })).toBeUndefined();
    expect(leaves({ timestamp: 2 ** 53 })).toBeUndefined();
    expect(leaves({ headers: 'ab' as unknown as Record<string, string> })).toBeUndefined();
    expect(leaves({ expiration: null as unknown as string })).toBeUndefined();
    expect(leaves({ headers: { v: null as unknown as string } })).toBeUndefined();
    // A body that needs more than one frame; one that just fits is encoded as amqplib does.
    expect(leaves({}, 4096, Buffer.alloc(4096 - 8 + 1))).toBeUndefined();
    const fits = Buffer.alloc(4096 - 8, 0x63);
    expect(leaves({}, 4096, fits)?.equals(amqplibFrames(1, 'x', 'rk', {}, fits, 4096))).toBe(true);
  });

  it('reads each header once, so a getter cannot make the frame disagree with its length', () => {
    let reads = 0;
    const headers = {
      get flaky(): string {
        reads++;
        return reads === 1 ? 'short' : 'a much longer value than the first time';
      },
    };
    const frames = encodePublishFrames(1, 'x', 'rk', false, { headers }, Buffer.from('{}'), FRAME_MAX)!;
    expect(reads).toBe(1);
    expect(frames.includes('short')).toBe(true);
    expect(frames.includes('longer')).toBe(false);
  });
});
