/**
 * A faster encoder for the records this transport sends, installed into kafkajs by the transport
 * (see kafkajs-internals.ts for the rule every use of kafkajs' internals follows).
 *
 * kafkajs 2.2.4 (its last release) encodes every record header through an `Encoder` of its own: a
 * zero-filled 512-byte buffer, a copy of the key and one of the value, per header. With the eight
 * CloudEvents headers of an event that is ~35 µs a record, more than everything else about the
 * record. The encoder here writes a whole record into one exactly sized buffer from Node's pool
 * instead, byte for byte what kafkajs writes (test/kafka/record-encoder.test.ts compares them).
 *
 * Scope: only records marked with {@link EVENTFORM_RECORD} take this path; any other record (from
 * other kafkajs code in the same process) is encoded by kafkajs' own function. kafkajs has no hook
 * for this, so the encoder replaces the record module's exports in Node's module cache before
 * kafkajs' produce request module first loads it (the module is loaded on the first produce).
 */
import type { ModuleSwap } from './kafkajs-internals.js';

/** Marks a message given to kafkajs `sendBatch` as eventform's, for the encoder below. */
export const EVENTFORM_RECORD: unique symbol = Symbol.for('eventform.kafka.record');

/** The record fields kafkajs' produce request passes to the record encoder. */
export interface RecordInput {
  offsetDelta?: number | undefined;
  timestampDelta?: number | undefined;
  key?: Buffer | string | null | undefined;
  value?: Buffer | string | null | undefined;
  headers?: Record<string, unknown> | undefined;
  [EVENTFORM_RECORD]?: true | undefined;
}

/** What kafkajs' record batch encoder needs of an encoded record (the shape of its `Encoder`). */
export interface EncodedRecord {
  buf: Buffer;
  buffer: Buffer;
}

export type RecordEncoder = (record: RecordInput) => EncodedRecord;

/** kafkajs' record module, swapped before its produce request (v3, what Kafka 0.11+ gets) loads it. */
export const RECORD_ENCODER_SWAP: ModuleSwap<RecordEncoder> = {
  env: 'EVENTFORM_KAFKA_RECORD_ENCODER',
  module: 'kafkajs/src/protocol/recordBatch/record/v0/index.js',
  capturedBy: 'kafkajs/src/protocol/requests/produce/v3/request.js',
  make: (original) =>
    selfCheck(original)
      ? (record: RecordInput): EncodedRecord =>
          record[EVENTFORM_RECORD] === true ? (encodeRecord(record) ?? original(record)) : original(record)
      : undefined,
};

/** Both encoders agree on a few records shaped like eventform's. */
function selfCheck(original: RecordEncoder): boolean {
  const samples: RecordInput[] = [
    { offsetDelta: 0, timestampDelta: 0, key: 'order-1', value: Buffer.from('{"a":1}'), headers: { ce_id: 'x' } },
    {
      offsetDelta: 300,
      timestampDelta: 70_000,
      key: null,
      value: Buffer.alloc(200, 7),
      headers: { é: 'ü'.repeat(70), 'content-type': 'application/cloudevents+json; charset=utf-8' },
    },
    { offsetDelta: 5, timestampDelta: 0, key: Buffer.from([0, 255]), value: null, headers: {} },
  ];
  try {
    return samples.every((record) => {
      const ours = encodeRecord(record);
      return ours !== undefined && ours.buffer.equals(original(record).buffer);
    });
  } catch {
    return false;
  }
}

// Zig-zag varints as Kafka's record format uses them, for 32-bit signed values.
function sizeOfVarInt(value: number): number {
  let encoded = ((value << 1) ^ (value >> 31)) >>> 0;
  let bytes = 1;
  while (encoded >= 0x80) {
    bytes++;
    encoded >>>= 7;
  }
  return bytes;
}

function writeVarInt(buf: Buffer, offset: number, value: number): number {
  let encoded = ((value << 1) ^ (value >> 31)) >>> 0;
  while (encoded >= 0x80) {
    buf[offset++] = (encoded & 0x7f) | 0x80;
    encoded >>>= 7;
  }
  buf[offset++] = encoded;
  return offset;
}

const INT30 = 0x3fffffff;

/**
 * One record in Kafka's v2 record format (length, attributes, timestamp delta, offset delta, key,
 * value, headers), or `undefined` for what it leaves to kafkajs: repeated headers (array values),
 * keys, values and header values that are neither strings nor Buffers (kafkajs rejects most of
 * them; its errors stay its own), and deltas beyond ±2^30 (kafkajs writes the timestamp delta as a 64-bit varint).
 */
export function encodeRecord(record: RecordInput): EncodedRecord | undefined {
  const offsetDelta = record.offsetDelta ?? 0;
  const timestampDelta = record.timestampDelta ?? 0;
  if (!Number.isInteger(timestampDelta) || Math.abs(timestampDelta) > INT30) return undefined;
  if (!Number.isInteger(offsetDelta) || Math.abs(offsetDelta) > INT30) return undefined;
  const key = record.key ?? null;
  const value = record.value ?? null;
  if (!isBytes(key) || !isBytes(value)) return undefined;
  const headers = record.headers === undefined ? {} : record.headers;
  if (headers === null || typeof headers !== 'object') return undefined;
  // Byte lengths of each header's name and value, in kafkajs' order (Object.keys).
  const names = Object.keys(headers);
  const lengths: number[] = [];
  let headersSize = sizeOfVarInt(names.length);
  for (const name of names) {
    const raw = headers[name];
    // kafkajs throws on a null header value (and on numbers, objects, ...); let it.
    if (raw === null || !isBytes(raw)) return undefined;
    const nameLength = lengthOf(name);
    const valueLength = lengthOf(raw);
    lengths.push(nameLength, valueLength);
    headersSize += sizeOfBytes(nameLength) + sizeOfBytes(valueLength);
  }
  const keyLength = lengthOf(key);
  const valueLength = lengthOf(value);
  const bodySize =
    1 +
    sizeOfVarInt(timestampDelta) +
    sizeOfVarInt(offsetDelta) +
    sizeOfBytes(keyLength) +
    sizeOfBytes(valueLength) +
    headersSize;
  const buf = Buffer.allocUnsafe(sizeOfVarInt(bodySize) + bodySize);
  let at = writeVarInt(buf, 0, bodySize);
  buf[at++] = 0; // attributes: none are used per record
  at = writeVarInt(buf, at, timestampDelta);
  at = writeVarInt(buf, at, offsetDelta);
  at = writeBytes(buf, at, key, keyLength);
  at = writeBytes(buf, at, value, valueLength);
  at = writeVarInt(buf, at, names.length);
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    at = writeBytes(buf, at, name, lengths[2 * i] as number);
    at = writeBytes(buf, at, headers[name] as Buffer | string, lengths[2 * i + 1] as number);
  }
  if (at !== buf.length) throw new Error(`eventform record encoder: wrote ${at} of ${buf.length} bytes`);
  return { buf, buffer: buf };
}

/** What both encoders write the same way: null (length -1), a string (UTF-8) or a Buffer. */
function isBytes(value: unknown): value is Buffer | string | null {
  return value === null || typeof value === 'string' || Buffer.isBuffer(value);
}

/** Byte length as Kafka writes it: -1 for null. */
function lengthOf(bytes: Buffer | string | null): number {
  if (bytes === null) return -1;
  return typeof bytes === 'string' ? Buffer.byteLength(bytes) : bytes.length;
}

/** Size of a length-prefixed byte field of `length` bytes (-1: null). */
function sizeOfBytes(length: number): number {
  return sizeOfVarInt(length) + Math.max(length, 0);
}

function writeBytes(buf: Buffer, at: number, bytes: Buffer | string | null, length: number): number {
  at = writeVarInt(buf, at, length);
  if (bytes === null || length <= 0) return at;
  if (typeof bytes === 'string') buf.write(bytes, at, length, 'utf8');
  else bytes.copy(buf, at);
  return at + length;
}
