/**
 * A faster record decoder for kafkajs 2.2.4, installed into kafkajs by the transport (see
 * kafkajs-internals.ts for the rule every use of kafkajs' internals follows).
 *
 * kafkajs decodes each fetched record's headers with `reduce` and an object spread per header
 * (`{ ...obj, [key]: value }`), so a record with n headers copies 0 + 1 + … + n-1 properties into n
 * fresh objects, and reads every header name through a buffer slice. With the eight CloudEvents
 * headers of an event that is about half of decoding the record (~4 µs of ~7 µs measured here), and
 * a dead-lettered copy (twenty headers) costs ~10 µs. This decoder reads the same fields with the
 * same decoder primitives but builds the headers object in one pass, reading names straight from
 * the fetch buffer: the same object, key for key and value for value
 * (test/kafka/record-decoder.test.ts compares 5,000 varied records, and a self-check compares a few
 * before installing).
 *
 * kafkajs resolves records from the wire with no notion of which consumer asked, so once installed
 * it decodes every record any kafkajs consumer in the process fetches — which is why it must
 * produce exactly what kafkajs' own decoder produces. What it does not handle the same way
 * (a header named `__proto__`, which kafkajs turns into an own property; a negative header count,
 * on which kafkajs throws) it hands to kafkajs' decoder from the start of the record.
 */
import { isDeepStrictEqual } from 'node:util';
import type { ModuleSwap } from './kafkajs-internals.js';

/** kafkajs' `Decoder` (src/protocol/decoder.js), as far as a record needs it. */
export interface KafkajsDecoder {
  buffer: Buffer;
  offset: number;
  readInt8(): number;
  readVarInt(): number;
  readVarLong(): unknown;
  readVarIntBytes(): Buffer | null;
}

/** What kafkajs' record batch decoder passes per record. */
export interface RecordBatchContext {
  firstOffset?: string | undefined;
  firstTimestamp?: string | undefined;
  magicByte?: number | undefined;
  isControlBatch?: boolean | undefined;
  timestampType?: number | undefined;
  maxTimestamp?: string | undefined;
  [other: string]: unknown;
}

/** A record as kafkajs' decoder returns it. */
export interface DecodedRecord {
  magicByte: number | undefined;
  attributes: number;
  timestamp: string;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | null | (Buffer | null)[]>;
  isControlRecord: boolean;
  batchContext: RecordBatchContext;
}

export type RecordDecoderFn = (decoder: KafkajsDecoder, batchContext?: RecordBatchContext) => DecodedRecord;

/** kafkajs' `Long` (src/utils/long.js) as the record decoder uses it. */
interface LongLike {
  add(other: unknown): { toString(): string };
}

/** The pieces of kafkajs' own decoder this one reuses. */
export interface RecordDecoderDeps {
  /** kafkajs' own record decoder, for what this one hands back. */
  original: RecordDecoderFn;
  /** `Long.fromValue` of kafkajs' utils/long.js. */
  longFromValue(value: unknown): LongLike;
  /** `TimestampTypes.LOG_APPEND_TIME` of kafkajs' protocol/timestampTypes.js. */
  logAppendTime: number;
}

const PROTO = '__proto__';

/** The record decoder to install: kafkajs' record, headers built in one pass. */
export function makeRecordDecoder(deps: RecordDecoderDeps): RecordDecoderFn {
  const { original, longFromValue, logAppendTime } = deps;
  return (decoder, batchContext = {}) => {
    const start = decoder.offset;
    const {
      firstOffset,
      firstTimestamp,
      magicByte,
      isControlBatch = false,
      timestampType,
      maxTimestamp,
    } = batchContext;
    const attributes = decoder.readInt8();
    const timestampDelta = decoder.readVarLong();
    const timestamp =
      timestampType === logAppendTime && maxTimestamp
        ? maxTimestamp
        : longFromValue(firstTimestamp).add(timestampDelta).toString();
    const offsetDelta = decoder.readVarInt();
    const offset = longFromValue(firstOffset).add(offsetDelta).toString();
    const key = decoder.readVarIntBytes();
    const value = decoder.readVarIntBytes();
    const count = decoder.readVarInt();
    if (count < -1) return handBack(decoder, start, original, batchContext);
    const buffer = decoder.buffer;
    const headers: Record<string, Buffer | null | (Buffer | null)[]> = {};
    for (let i = 0; i < count; i++) {
      const nameLength = decoder.readVarInt();
      let name: string;
      if (nameLength === -1) {
        name = 'null'; // kafkajs reads a null name and uses it as a property key
      } else {
        const at = decoder.offset;
        name = buffer.toString('utf8', at, Math.min(at + nameLength, buffer.length));
        decoder.offset = at + nameLength;
      }
      if (name === PROTO) return handBack(decoder, start, original, batchContext);
      const headerValue = decoder.readVarIntBytes();
      // As kafkajs: `obj[key] === undefined` (inherited names such as `toString` included), then an
      // array once a name repeats.
      const previous = headers[name];
      headers[name] =
        previous === undefined
          ? headerValue
          : Array.isArray(previous)
            ? previous.concat([headerValue])
            : [previous, headerValue];
    }
    return {
      magicByte,
      attributes,
      timestamp,
      offset,
      key,
      value,
      headers,
      isControlRecord: isControlBatch,
      batchContext,
    };
  };
}

function handBack(
  decoder: KafkajsDecoder,
  start: number,
  original: RecordDecoderFn,
  batchContext: RecordBatchContext,
): DecodedRecord {
  decoder.offset = start;
  return original(decoder, batchContext);
}

/** kafkajs' `Decoder` class. */
type DecoderClass = new (buffer: Buffer) => KafkajsDecoder;
/** kafkajs' record encoder (protocol/recordBatch/record/v0/index.js), to make self-check records. */
type KafkajsRecordEncoder = (record: {
  offsetDelta?: number;
  timestampDelta?: number;
  key?: Buffer | string | null;
  value?: Buffer | string | null;
  headers?: Record<string, unknown>;
}) => { buffer: Buffer };

/** kafkajs' record decoder, swapped before its record batch decoder (first fetch) loads it. */
export const RECORD_DECODER_SWAP: ModuleSwap<RecordDecoderFn> = {
  env: 'EVENTFORM_KAFKA_RECORD_DECODER',
  module: 'kafkajs/src/protocol/recordBatch/record/v0/decoder.js',
  capturedBy: 'kafkajs/src/protocol/recordBatch/v0/decoder.js',
  make: (original, load) => {
    const Long = load('kafkajs/src/utils/long.js') as { fromValue(value: unknown): LongLike };
    const timestampTypes = load('kafkajs/src/protocol/timestampTypes.js') as { LOG_APPEND_TIME: number };
    const decoder = makeRecordDecoder({
      original,
      longFromValue: (value) => Long.fromValue(value),
      logAppendTime: timestampTypes.LOG_APPEND_TIME,
    });
    const Decoder = load('kafkajs/src/protocol/decoder.js') as DecoderClass;
    const encode = load('kafkajs/src/protocol/recordBatch/record/v0/index.js') as KafkajsRecordEncoder;
    return selfCheck(original, decoder, Decoder, encode) ? decoder : undefined;
  },
};

const SELF_CHECK_CONTEXTS: RecordBatchContext[] = [
  { firstOffset: '1000', firstTimestamp: '1700000000000', magicByte: 2, timestampType: 0, maxTimestamp: '1' },
  { firstOffset: '9007199254740993', firstTimestamp: '-1', magicByte: 2, timestampType: 1, maxTimestamp: '17' },
];

/** Both decoders read a few records like the ones eventform and other producers send the same way. */
function selfCheck(
  original: RecordDecoderFn,
  ours: RecordDecoderFn,
  Decoder: DecoderClass,
  encode: KafkajsRecordEncoder,
): boolean {
  const samples: Parameters<KafkajsRecordEncoder>[0][] = [
    {
      offsetDelta: 3,
      timestampDelta: 70_000,
      key: 'order-1',
      value: Buffer.from('{"a":1}'),
      headers: { ce_id: 'e1', ce_type: 'T', 'content-type': 'application/json', é: 'ü'.repeat(70) },
    },
    { offsetDelta: 0, timestampDelta: -5, key: null, value: null, headers: { a: ['1', '2', '3'], toString: 'x' } },
    { offsetDelta: 7, timestampDelta: 0, key: Buffer.from([0, 255]), value: Buffer.alloc(0), headers: {} },
  ];
  try {
    return samples.every((sample) => {
      const bytes = encode(sample).buffer;
      return SELF_CHECK_CONTEXTS.every((context) => {
        const read = (decode: RecordDecoderFn) => {
          const decoder = new Decoder(bytes);
          decoder.readVarInt(); // the record's length, read by the batch decoder
          return { record: decode(decoder, context), end: decoder.offset };
        };
        return sameRecord(read(original), read(ours));
      });
    });
  } catch {
    return false;
  }
}

/** The same fields and values, the same header names in the same order, the same end offset. */
export function sameRecord(
  a: { record: DecodedRecord; end: number },
  b: { record: DecodedRecord; end: number },
): boolean {
  return (
    a.end === b.end &&
    isDeepStrictEqual(a.record, b.record) &&
    Object.keys(a.record).join('\n') === Object.keys(b.record).join('\n') &&
    Object.keys(a.record.headers).join('\n') === Object.keys(b.record.headers).join('\n') &&
    Object.getPrototypeOf(a.record.headers) === Object.getPrototypeOf(b.record.headers)
  );
}
