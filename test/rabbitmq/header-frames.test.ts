/**
 * The bounded content-header decoder (runtime/rabbitmq/src/header-frames.ts) must read every
 * well-formed frame exactly as amqplib's `decodeFrame` does, and anything else without throwing.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  UNDECODABLE,
  decodeContentHeader,
  type ContentHeaderFrame,
  type HeaderBounds,
} from '../../runtime/rabbitmq/src/header-frames.js';
import { seededRandom } from '../support/random.js';
import {
  arrayValue,
  contentHeader,
  longValue,
  nestedValue,
  stringValue,
  tableBody,
  tableValue,
  value,
} from '../hostile/wire-rabbitmq-client.js';

// amqplib's codec is not in its package exports; load it by path.
const require = createRequire(import.meta.url);
const lib = path.join(path.dirname(require.resolve('amqplib')), 'lib');
const defs = require(path.join(lib, 'defs.js')) as {
  BasicProperties: number;
  encodeProperties(id: number, channel: number, size: number, fields: object): Buffer;
};
const frame = require(path.join(lib, 'frame.js')) as {
  parseFrame(bin: Buffer, max: number): { channel: number; payload: Buffer } | false;
  decodeFrame(f: object): unknown;
};

const BOUNDS: HeaderBounds = { maxDepth: 32, maxBytes: 65_536 };

/** A content header frame (type 2) around `payload`, as the broker sends it. */
function headerFrame(channel: number, payload: Buffer): Buffer {
  const out = Buffer.alloc(payload.length + 8);
  out[0] = 2;
  out.writeUInt16BE(channel, 1);
  out.writeUInt32BE(payload.length, 3);
  payload.copy(out, 7);
  out[out.length - 1] = 0xce;
  return out;
}

/** amqplib's decoding of a whole frame, or the error it throws. */
function amqplibDecode(bytes: Buffer): unknown {
  try {
    return frame.decodeFrame(frame.parseFrame(bytes, 0) as object);
  } catch (err) {
    return err;
  }
}

function ours(bytes: Buffer, bounds = BOUNDS): ContentHeaderFrame {
  const parsed = frame.parseFrame(bytes, 0);
  if (!parsed) throw new Error('not a whole frame');
  const decoded = decodeContentHeader(parsed.channel, parsed.payload, bounds);
  if (!decoded) throw new Error('not a basic content header');
  return decoded;
}

/**
 * Where `a` and `b` first differ: prototypes, own keys in order, Buffers by content, the rest by
 * `Object.is`; undefined when they do not. (toStrictEqual ignores key order and, for a header named
 * `constructor`, compares that header's values by identity.)
 */
function difference(a: unknown, b: unknown, at = 'frame'): string | undefined {
  if (Object.is(a, b)) return undefined;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    return `${at}: ${String(a)} !== ${String(b)}`;
  }
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return `${at}: different prototypes`;
  if (Buffer.isBuffer(a)) return a.equals(b as Buffer) ? undefined : `${at}: different bytes`;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.join('\0') !== kb.join('\0')) return `${at}: keys ${JSON.stringify(ka)} !== ${JSON.stringify(kb)}`;
  for (const key of ka) {
    const d = difference((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], `${at}.${key}`);
    if (d !== undefined) return d;
  }
  return undefined;
}

function expectSame(decoded: unknown, expected: unknown, what: string): void {
  expect(difference(decoded, expected), what).toBeUndefined();
}

// --- generated messages --------------------------------------------------------------------

function generator(next: () => number) {
  const int = (n: number): number => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  const text = (): string =>
    pick([
      '',
      'a',
      'OrderPlaced',
      'ü€😀',
      'lone \ud800 surrogate',
      'x'.repeat(int(600)),
      String(int(1e9)),
      '7',
      'constructor',
    ]);
  const number = (): number =>
    pick([
      0,
      -1,
      int(128),
      -int(129),
      int(40_000) - 20_000,
      int(2 ** 31) - 2 ** 30,
      2 ** 40 + int(1_000),
      -(2 ** 45),
      Number.MAX_SAFE_INTEGER,
      next() * 1e6,
      -next(),
      2 ** 63,
      1e300,
    ]);
  const typed = (): unknown =>
    pick([
      { '!': 'decimal', value: { places: int(256), digits: int(2 ** 32) } },
      { '!': 'timestamp', value: int(2 ** 40) },
      { '!': 'float', value: 0.5 - next() },
      { '!': 'uint8', value: int(256) },
      { '!': 'uint16', value: int(65_536) },
      { '!': 'uint32', value: int(2 ** 32) },
      { '!': 'int8', value: int(256) - 128 },
    ]);
  const fieldValue = (depth: number): unknown => {
    const kind = int(depth > 5 ? 6 : 8);
    switch (kind) {
      case 0:
      case 1:
        return text();
      case 2:
        return number();
      case 3:
        return pick([true, false, null]);
      case 4:
        return Buffer.from(text(), 'utf8');
      case 5:
        return typed();
      case 6:
        return Array.from({ length: int(4) }, () => fieldValue(depth + 1));
      default:
        return table(depth + 1, int(5));
    }
  };
  const table = (depth: number, count: number): Record<string, unknown> => {
    const t: Record<string, unknown> = {};
    for (let i = 0; i < count; i++) {
      const name = pick([
        'cloudEvents_id',
        'ef-key',
        'x-death',
        'é',
        '',
        '12',
        `h${i}`,
        'k'.repeat(255),
        text().slice(0, 80),
      ]);
      t[name] = fieldValue(depth);
    }
    return t;
  };
  return (): Record<string, unknown> => {
    const maybe = <T>(v: T): T | undefined => (next() < 0.5 ? v : undefined);
    const short = (): string => text().slice(0, 60);
    return {
      contentType: maybe('application/json'),
      contentEncoding: maybe(short()),
      headers: next() < 0.85 ? table(1, int(14)) : undefined,
      deliveryMode: maybe(pick([1, 2])),
      priority: maybe(int(256)),
      correlationId: maybe(short()),
      replyTo: maybe(short()),
      expiration: maybe(String(int(100_000))),
      messageId: maybe(short()),
      timestamp: maybe(pick([0, 1_700_000_000, 2 ** 32, int(2 ** 50)])),
      type: maybe(short()),
      userId: maybe(short()),
      appId: maybe(short()),
      clusterId: maybe(short()),
    };
  };
}

describe('decodeContentHeader', () => {
  it('decodes 5,000 generated content headers exactly as amqplib does', () => {
    const next = seededRandom(11);
    const generate = generator(next);
    let withHeaders = 0;
    for (let i = 0; i < 5_000; i++) {
      const props = generate();
      const channel = 1 + (i % 2_047);
      const size = i % 3 === 0 ? 0 : Math.floor(next() * 2 ** 40);
      let bytes: Buffer;
      try {
        bytes = defs.encodeProperties(defs.BasicProperties, channel, size, props);
      } catch {
        continue; // a table over amqplib's 64 KiB encoding buffer
      }
      const decoded = ours(bytes);
      expect(decoded.fields[UNDECODABLE], `case ${i}`).toBeUndefined();
      expectSame(decoded, amqplibDecode(bytes), `case ${i}`);
      if (props.headers !== undefined) withHeaders++;
    }
    expect(withHeaders).toBeGreaterThan(4_000);
  });

  it('reads what amqplib reads for tables only a raw client writes: duplicate names, every type tag', () => {
    const headers = tableBody([
      ['dup', stringValue('first')],
      ['other', value('b', Buffer.from([0xff]))],
      ['dup', stringValue('second')],
      ['u8', value('B', Buffer.from([200]))],
      ['i16', value('s', Buffer.from([0x80, 0x00]))],
      ['u16', value('u', Buffer.from([0xff, 0xff]))],
      ['i32', value('I', Buffer.from([0xff, 0xff, 0xff, 0xfe]))],
      ['u32', value('i', Buffer.from([0xff, 0xff, 0xff, 0xfe]))],
      ['i64', longValue(-(2n ** 62n) - 3n)],
      ['f32', value('f', Buffer.from([0x3f, 0xc0, 0, 0]))],
      ['t', value('t', Buffer.from([2]))],
      ['void', value('V', Buffer.alloc(0))],
      ['dec', value('D', Buffer.from([2, 0, 0, 0x30, 0x39]))],
      ['ts', value('T', Buffer.from([0, 0, 0, 0, 0x65, 0x53, 0xf1, 0x00]))],
      ['bytes', value('x', Buffer.from([0, 0, 0, 2, 0xc3, 0x28]))],
      ['bad-utf8', value('S', Buffer.from([0, 0, 0, 2, 0xc3, 0x28]))],
      ['empty', tableValue(Buffer.alloc(0))],
      ['arr', arrayValue([stringValue('a'), tableValue(tableBody([['k', stringValue('v')]])), arrayValue([])])],
    ]);
    const bytes = headerFrame(3, contentHeader(10, { headers, messageId: 'm' }));
    const decoded = ours(bytes);
    expect(decoded.fields[UNDECODABLE]).toBeUndefined();
    expectSame(decoded, amqplibDecode(bytes), 'raw table');
    expect((decoded.fields.headers as Record<string, unknown>).dup).toBe('second');
  });

  it('decodes a frame without properties as amqplib does ({})', () => {
    const bytes = headerFrame(1, contentHeader(0, {}));
    expectSame(ours(bytes), amqplibDecode(bytes), 'no properties');
    expect(ours(bytes).fields).toEqual({});
  });

  it('keeps a header named __proto__ as an own property (amqplib would swap the prototype)', () => {
    const headers = tableBody([
      ['__proto__', tableValue(tableBody([['cloudEvents_type', stringValue('Forged')]]))],
      ['cloudEvents_id', stringValue('e1')],
    ]);
    const { fields } = ours(headerFrame(1, contentHeader(2, { headers })));
    const decoded = fields.headers as Record<string, unknown>;
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
    expect(Object.keys(decoded)).toEqual(['__proto__', 'cloudEvents_id']);
    const inherited: string[] = [];
    for (const name in decoded) inherited.push(name);
    expect(inherited).toEqual(['__proto__', 'cloudEvents_id']);
  });

  describe('bounds', () => {
    const props = (headers: Buffer) => ({ headers, messageId: 'm-1', type: 'OrderPlaced', appId: 'shop' });

    it('accepts maxDepth levels and leaves out, with a reason, only a header nested deeper', () => {
      const bounds = { maxDepth: 4, maxBytes: 65_536 };
      const fits = tableBody([['x', nestedValue(3, 'table')]]); // 1 + 3 levels
      expect(ours(headerFrame(1, contentHeader(2, props(fits))), bounds).fields[UNDECODABLE]).toBeUndefined();
      const tooDeep = tableBody([
        ['before', stringValue('b')],
        ['deep', nestedValue(4, 'array')],
        ['after', stringValue('a')],
      ]);
      const { fields } = ours(headerFrame(1, contentHeader(2, props(tooDeep))), bounds);
      expect(fields.headers).toEqual({ before: 'b', after: 'a' });
      expect(fields).toMatchObject({ messageId: 'm-1', type: 'OrderPlaced', appId: 'shop' });
      expect(fields[UNDECODABLE]).toBe('header "deep" is nested deeper than 4 levels (maxHeaderDepth); left out');
    });

    it('reads a header nested 5,000 deep (tables or arrays) without recursing into it', () => {
      for (const kind of ['table', 'array'] as const) {
        const headers = tableBody([
          ['cloudEvents_id', stringValue('e1')],
          ['deep', nestedValue(5_000, kind)],
        ]);
        const bytes = headerFrame(1, contentHeader(2, props(headers)));
        // amqplib overflows the stack on the same bytes.
        expect(amqplibDecode(bytes)).toBeInstanceOf(RangeError);
        const { fields } = ours(bytes);
        expect(fields.headers).toEqual({ cloudEvents_id: 'e1' });
        expect(fields[UNDECODABLE]).toMatch(/"deep" is nested deeper than 32 levels/);
      }
    });

    it('does not decode a header table over maxBytes, and reads the other properties', () => {
      const headers = tableBody([['big', stringValue('x'.repeat(2_000))]]);
      const { fields } = ours(headerFrame(1, contentHeader(2, props(headers))), { maxDepth: 32, maxBytes: 2_000 });
      expect(fields.headers).toEqual({});
      expect(fields).toMatchObject({ messageId: 'm-1', type: 'OrderPlaced', appId: 'shop' });
      expect(fields[UNDECODABLE]).toBe(`header table of ${headers.length} bytes exceeds maxHeaderBytes (2000)`);
      // At the bound itself it is decoded.
      const exact = ours(headerFrame(1, contentHeader(2, props(headers))), { maxDepth: 32, maxBytes: headers.length });
      expect(exact.fields[UNDECODABLE]).toBeUndefined();
    });

    it('names at most three problems', () => {
      const headers = tableBody(['a', 'b', 'c', 'd', 'e'].map((n) => [n, nestedValue(3, 'table')] as [string, Buffer]));
      const { fields } = ours(headerFrame(1, contentHeader(2, props(headers))), { maxDepth: 2, maxBytes: 65_536 });
      expect(fields.headers).toEqual({});
      expect(fields[UNDECODABLE]).toMatch(/"a".*"b".*"c".*; and 2 more$/);
    });
  });

  describe('malformed frames', () => {
    it('keeps what was read before an unknown type tag or a length past the end', () => {
      const unknownTag = Buffer.concat([tableBody([['ok', stringValue('1')]]), Buffer.from([1, 0x61, 0x5a, 0])]);
      const a = ours(headerFrame(1, contentHeader(2, { headers: unknownTag, messageId: 'm' })));
      expect(a.fields.headers).toEqual({ ok: '1' });
      expect(a.fields.messageId).toBeUndefined();
      expect(a.fields[UNDECODABLE]).toMatch(/^malformed content header: unknown field type tag 0x5a/);

      const pastEnd = Buffer.concat([
        tableBody([['ok', stringValue('1')]]),
        Buffer.from([1, 0x61, 0x53, 0, 0, 0, 99, 0x68]),
      ]);
      const b = ours(headerFrame(1, contentHeader(2, { headers: pastEnd })));
      expect(b.fields.headers).toEqual({ ok: '1' });
      expect(b.fields[UNDECODABLE]).toMatch(/^malformed content header: 99 bytes needed/);
    });

    it('never throws on mutated frames, and agrees with amqplib whenever it reports no problem', () => {
      const next = seededRandom(23);
      const generate = generator(next);
      let agreed = 0;
      for (let i = 0; i < 3_000; i++) {
        let bytes: Buffer;
        try {
          bytes = defs.encodeProperties(defs.BasicProperties, 1, 5, generate());
        } catch {
          continue;
        }
        // Flip up to three bytes of the payload (not the frame envelope, which amqplib checks first).
        for (let flips = 1 + Math.floor(next() * 3); flips > 0; flips--) {
          const at = 7 + 12 + Math.floor(next() * (bytes.length - 8 - 12));
          bytes[at] = Math.floor(next() * 256);
        }
        let decoded: ContentHeaderFrame;
        try {
          decoded = ours(bytes);
        } catch (err) {
          throw new Error(`case ${i} threw: ${String(err)}`, { cause: err });
        }
        if (decoded.fields[UNDECODABLE] === undefined) {
          const theirs = amqplibDecode(bytes);
          // amqplib reads past a short string's end silently; a frame we accept, it reads the same.
          expectSame(decoded, theirs, `case ${i}`);
          agreed++;
        }
      }
      expect(agreed).toBeGreaterThan(100);
    });

    it('leaves frames of other classes and too short to be a content header to amqplib', () => {
      const other = Buffer.alloc(14);
      other.writeUInt16BE(10, 0);
      expect(decodeContentHeader(1, other, BOUNDS)).toBeUndefined();
      expect(decodeContentHeader(1, Buffer.from([0, 60, 0]), BOUNDS)).toBeUndefined();
      const noFlags = Buffer.alloc(12);
      noFlags.writeUInt16BE(60, 0);
      expect(decodeContentHeader(1, noFlags, BOUNDS)?.fields[UNDECODABLE]).toMatch(/no property flags/);
    });
  });
});
