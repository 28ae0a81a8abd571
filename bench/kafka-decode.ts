/**
 * What decoding one fetched record costs in kafkajs 2.2.4 and with eventform's record decoder
 * (runtime/kafka/src/record-decoder.ts), measured in this process on the same bytes: a record as
 * eventform sends it in binary mode (eight headers) and a dead letter (twenty). kafkajs' own
 * decoder comes from a fresh copy of its module, so the swap a transport installed does not matter.
 */
import { createRequire } from 'node:module';
import { RECORD_DECODER_SWAP, type KafkajsDecoder, type RecordDecoderFn } from '../runtime/kafka/src/record-decoder.js';
import { binaryHeaders, eventAttributes, median, samplePayload } from './support.js';

const require = createRequire(import.meta.url);
const DECODER_MODULE = 'kafkajs/src/protocol/recordBatch/record/v0/decoder.js';

export interface DecodeCost {
  label: string;
  headers: number;
  kafkajsUs: number;
  eventformUs: number;
}

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

export function recordDecodeCost(iterations = 20_000, rounds = 5): DecodeCost[] {
  const Decoder = require('kafkajs/src/protocol/decoder.js') as new (buffer: Buffer) => KafkajsDecoder;
  const encode = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (record: object) => {
    buffer: Buffer;
  };
  const original = kafkajsDecoder();
  const ours = RECORD_DECODER_SWAP.make(original, (m) => require(m));
  if (!ours) throw new Error("eventform's record decoder failed its self-check");
  const payload = samplePayload(1);
  const event = binaryHeaders('ce_', eventAttributes(1));
  const deadLetter: Record<string, string> = { ...event };
  for (const name of ['reason', 'error', 'stack', 'attempts', 'origin', 'consumer', 'first-failure', 'last-failure']) {
    deadLetter[`ef-dl-${name}`] = `${name} of the dead letter`;
  }
  Object.assign(deadLetter, {
    'ef-attempt': '3',
    'ef-origin': 'shop.OrderPlaced',
    'ef-first-failure': 'x',
    'ef-dl-correlation-id': 'c',
  });
  const context = { firstOffset: '1000', firstTimestamp: String(Date.now()), magicByte: 2, timestampType: 0 };
  const out: DecodeCost[] = [];
  for (const [label, headers] of [
    ['an event (binary mode)', event],
    ['a dead letter', deadLetter],
  ] as const) {
    const bytes = encode({ key: payload.orderId, value: JSON.stringify(payload), headers }).buffer;
    const time = (decode: RecordDecoderFn): number => {
      const started = process.hrtime.bigint();
      for (let i = 0; i < iterations; i++) {
        const decoder = new Decoder(bytes);
        decoder.readVarInt();
        decode(decoder, context);
      }
      return Number(process.hrtime.bigint() - started) / iterations / 1000;
    };
    time(original);
    time(ours);
    const a: number[] = [];
    const b: number[] = [];
    for (let r = 0; r < rounds; r++) {
      a.push(time(original));
      b.push(time(ours));
    }
    out.push({ label, headers: Object.keys(headers).length, kafkajsUs: median(a), eventformUs: median(b) });
  }
  return out;
}
