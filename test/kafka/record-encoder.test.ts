/**
 * The record encoder installed into kafkajs (runtime/kafka/src/record-encoder.ts) must write
 * exactly what kafkajs writes, and only for eventform's records.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { kafkajsFastPaths, recordEncoderStatus } from '../../runtime/kafka/src/kafkajs-internals.js';
import {
  encodeRecord,
  EVENTFORM_RECORD,
  type EncodedRecord,
  type RecordInput,
} from '../../runtime/kafka/src/record-encoder.js';
import { seededRandom as random } from '../support/random.js';

const require = createRequire(import.meta.url);
const RECORD_MODULE = 'kafkajs/src/protocol/recordBatch/record/v0/index.js';

/** kafkajs' own encoder, loaded from a fresh copy of its module (the cached one may be swapped). */
function kafkajsEncoder(): (record: RecordInput) => EncodedRecord {
  const path = require.resolve(RECORD_MODULE);
  const cached = require.cache[path];
  delete require.cache[path];
  try {
    return require(path) as (record: RecordInput) => EncodedRecord;
  } finally {
    if (cached) require.cache[path] = cached;
  }
}

function sampleRecord(next: () => number, i: number): RecordInput {
  const pick = <T>(items: T[]): T => items[Math.floor(next() * items.length)] as T;
  const text = (max: number) => pick(['', 'a', 'ü€😀', 'x'.repeat(Math.floor(next() * max))]);
  const headers: Record<string, unknown> = {};
  const headerCount = Math.floor(next() * 12);
  for (let h = 0; h < headerCount; h++) {
    headers[pick(['ce_id', 'ce_type', 'ef-attempt', 'é', `h${h}`, 'x'.repeat(130)])] = pick([
      randomUUID(),
      text(300),
      randomBytes(Math.floor(next() * 200)),
    ]);
  }
  return {
    offsetDelta: pick([0, i, 63, 64, 8191, 8192, 1_000_000]),
    timestampDelta: pick([0, 1, -1, 63, 64, 70_000, -70_000, 2 ** 29]),
    key: pick([null, undefined, '', `order-${i}`, 'ключ', randomBytes(17)]),
    value: pick([null, Buffer.alloc(0), randomBytes(Math.floor(next() * 5_000)), text(20_000)]),
    headers,
  };
}

describe('eventform record encoder', () => {
  it('writes byte for byte what kafkajs writes, over 5,000 varied records', () => {
    const kafkajs = kafkajsEncoder();
    const next = random(42);
    for (let i = 0; i < 5_000; i++) {
      const record = sampleRecord(next, i);
      const ours = encodeRecord(record);
      expect(ours, `record ${i}`).toBeDefined();
      expect(ours!.buffer.equals(kafkajs(record).buffer), `record ${i}: ${JSON.stringify(record).slice(0, 300)}`).toBe(
        true,
      );
    }
  });

  it('leaves to kafkajs what it does not handle: repeated headers, values that are not bytes, 64-bit deltas', () => {
    expect(encodeRecord({ value: 'v', headers: { a: ['1', '2'] } })).toBeUndefined();
    expect(encodeRecord({ value: 'v', headers: { a: null } })).toBeUndefined();
    expect(encodeRecord({ value: 'v', headers: { a: 1 } })).toBeUndefined();
    expect(encodeRecord({ value: 'v', headers: null as unknown as Record<string, unknown> })).toBeUndefined();
    expect(encodeRecord({ value: { a: 1 } as unknown as string })).toBeUndefined();
    expect(encodeRecord({ key: 7 as unknown as string, value: 'v' })).toBeUndefined();
    expect(encodeRecord({ value: 'v', timestampDelta: 2 ** 40 })).toBeUndefined();
  });

  it('is installed for eventform records only; other records still go through kafkajs', () => {
    // Importing installs nothing; the first transport (here: its call) does, before anything produced.
    expect(recordEncoderStatus()).toBeUndefined();
    expect(kafkajsFastPaths().recordEncoder).toBe('installed');
    const installed = require(RECORD_MODULE) as (record: RecordInput) => EncodedRecord;
    const kafkajs = kafkajsEncoder();
    const record: RecordInput = { key: 'k', value: Buffer.from('{}'), headers: { ce_id: '1' } };
    // Same bytes either way; kafkajs' own encoder leaves a 512-byte backing buffer, ours an exact one.
    const theirs = installed(record);
    const ours = installed({ ...record, [EVENTFORM_RECORD]: true });
    expect(ours.buffer.equals(kafkajs(record).buffer)).toBe(true);
    expect(theirs.buf.length).toBe(512);
    expect(ours.buf.length).toBe(ours.buffer.length);
  });
});
