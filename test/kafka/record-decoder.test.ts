/**
 * The record decoder installed into kafkajs (runtime/kafka/src/record-decoder.ts) decodes every
 * record any kafkajs consumer in the process fetches, so it must return exactly what kafkajs'
 * own decoder returns: the same fields, values, header names in the same order, the same offset
 * left in the decoder — also for records no eventform producer writes.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { kafkajsFastPaths, recordDecoderStatus } from '../../runtime/kafka/src/kafkajs-internals.js';
import {
  RECORD_DECODER_SWAP,
  sameRecord,
  type DecodedRecord,
  type KafkajsDecoder,
  type RecordBatchContext,
  type RecordDecoderFn,
} from '../../runtime/kafka/src/record-decoder.js';
import { seededRandom as random } from '../support/random.js';

const require = createRequire(import.meta.url);
const DECODER_MODULE = 'kafkajs/src/protocol/recordBatch/record/v0/decoder.js';
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (buffer: Buffer) => KafkajsDecoder;
const kafkajsEncode = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (record: object) => {
  buffer: Buffer;
};

/** kafkajs' own record decoder, from a fresh copy of its module (the cached one may be swapped). */
function kafkajsDecoder(): RecordDecoderFn {
  const path = require.resolve(DECODER_MODULE);
  const cached = require.cache[path];
  delete require.cache[path];
  try {
    return require(path) as RecordDecoderFn;
  } finally {
    if (cached) require.cache[path] = cached;
  }
}

const original = kafkajsDecoder();
const ours = RECORD_DECODER_SWAP.make(original, (m) => require(m))!;

function read(decode: RecordDecoderFn, bytes: Buffer, context: RecordBatchContext) {
  const decoder = new Decoder(bytes);
  decoder.readVarInt();
  try {
    return { record: decode(decoder, context), end: decoder.offset, error: undefined };
  } catch (error) {
    return { record: undefined as unknown as DecodedRecord, end: decoder.offset, error: String(error) };
  }
}

/** Varint as Kafka writes it (zig-zag), for hand-made records kafkajs' encoder cannot write. */
function varint(value: number): Buffer {
  let encoded = ((value << 1) ^ (value >> 31)) >>> 0;
  const bytes: number[] = [];
  while (encoded >= 0x80) {
    bytes.push((encoded & 0x7f) | 0x80);
    encoded >>>= 7;
  }
  bytes.push(encoded);
  return Buffer.from(bytes);
}

/** A record with headers written one by one: `null` names and values, any count. */
function handMade(headers: [string | null, string | null][], count = headers.length): Buffer {
  const bytes = (b: Buffer | null) => (b === null ? varint(-1) : Buffer.concat([varint(b.length), b]));
  const body = Buffer.concat([
    Buffer.from([0]),
    varint(2), // timestamp delta (a varlong; small values encode the same)
    varint(1),
    bytes(Buffer.from('k')),
    bytes(Buffer.from('{}')),
    varint(count),
    ...headers.map(([n, v]) =>
      Buffer.concat([bytes(n === null ? null : Buffer.from(n)), bytes(v === null ? null : Buffer.from(v))]),
    ),
  ]);
  return Buffer.concat([varint(body.length), body]);
}

const contexts: RecordBatchContext[] = [
  { firstOffset: '0', firstTimestamp: '1700000000000', magicByte: 2, timestampType: 0, maxTimestamp: '1' },
  { firstOffset: '123456789012', firstTimestamp: '-1', magicByte: 2, timestampType: 1, maxTimestamp: '99' },
  { firstOffset: '9007199254740993', firstTimestamp: '9007199254740993', magicByte: 2, isControlBatch: true },
];

describe('eventform record decoder', () => {
  it("returns what kafkajs' decoder returns, over 5,000 varied records", () => {
    const next = random(7);
    const pick = <T>(items: T[]): T => items[Math.floor(next() * items.length)] as T;
    for (let i = 0; i < 5_000; i++) {
      const headers: Record<string, unknown> = {};
      const count = Math.floor(next() * 22);
      for (let h = 0; h < count; h++) {
        const name = pick(['ce_id', 'ce_type', 'content-type', 'ef-attempt', 'é€😀', `h${h}`, '7', 'x'.repeat(130)]);
        const value = pick([
          randomUUID(),
          '',
          'ü'.repeat(Math.floor(next() * 100)),
          randomBytes(Math.floor(next() * 50)),
        ]);
        headers[name] = next() < 0.1 ? [value, pick(['a', 'b'])] : value;
      }
      const bytes = kafkajsEncode({
        offsetDelta: pick([0, i, 64, 1_000_000]),
        timestampDelta: pick([0, -1, 70_000, 2 ** 40]),
        key: pick([null, `order-${i}`, randomBytes(9)]),
        value: pick([null, Buffer.alloc(0), randomBytes(Math.floor(next() * 300))]),
        headers,
      }).buffer;
      const context = pick(contexts);
      const a = read(original, bytes, context);
      const b = read(ours, bytes, context);
      expect(b.error, `record ${i}`).toBe(a.error);
      expect(sameRecord(a, b), `record ${i}: ${JSON.stringify(headers).slice(0, 300)}`).toBe(true);
    }
  });

  it.each([
    [
      'repeated names, three times',
      [
        ['a', '1'],
        ['b', '2'],
        ['a', '3'],
        ['a', '4'],
      ],
    ],
    [
      'names inherited from Object.prototype',
      [
        ['toString', 'x'],
        ['constructor', 'y'],
        ['hasOwnProperty', 'z'],
      ],
    ],
    [
      'a null name and null values',
      [
        [null, 'x'],
        ['n', null],
        ['n', null],
      ],
    ],
    [
      'integer-like names after others',
      [
        ['b', '1'],
        ['2', '2'],
        ['1', '3'],
      ],
    ],
    [
      'a header named __proto__ (kafkajs makes it an own property)',
      [
        ['a', '1'],
        ['__proto__', 'x'],
        ['__proto__', 'y'],
      ],
    ],
  ] as [string, [string | null, string | null][]][])('decodes %s as kafkajs does', (_name, headers) => {
    const bytes = handMade(headers);
    for (const context of contexts) {
      const a = read(original, bytes, context);
      const b = read(ours, bytes, context);
      expect(b.error).toBe(a.error);
      expect(sameRecord(a, b)).toBe(true);
    }
  });

  it('fails where kafkajs fails: a negative header count', () => {
    const bytes = handMade([], -3);
    const a = read(original, bytes, contexts[0]!);
    const b = read(ours, bytes, contexts[0]!);
    expect(a.error).toMatch(/RangeError/);
    expect(b.error).toBe(a.error);
  });

  it('is installed by the first transport, not on import, and decodes every record from then on', () => {
    // Nothing in this test file fetched before; importing the transport modules installed nothing.
    expect(recordDecoderStatus()).toBeUndefined();
    expect(kafkajsFastPaths().recordDecoder).toBe('installed');
    expect(require(DECODER_MODULE)).not.toBe(original);
  });
});
