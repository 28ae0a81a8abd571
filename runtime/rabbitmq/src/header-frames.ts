/**
 * The content header frame of a delivery, decoded within bounds: the receiving counterpart of
 * publish-frames.ts.
 *
 * Why not let amqplib decode: its field-table decoder recurses once per nesting level with no
 * limit, so a header table nested a few thousand deep (anyone who may publish can send one; the
 * broker forwards it) overflows the stack inside the connection's frame loop. amqplib treats that
 * as a broken connection, the broker redelivers the message, and every consumer on the connection
 * goes down with it on each reconnect. amqplib has no option to bound it, so the transport decodes
 * content headers itself (see amqplib-internals.ts for how, and when it does not).
 *
 * What it produces is exactly what amqplib's `decodeFrame` produces for the same frame —
 * `{ id, channel, size, fields }` with amqplib's property names, value types and key order
 * (test/rabbitmq/header-frames.test.ts compares them over thousands of generated frames) — with
 * three differences, all for input amqplib would mishandle:
 * - a header table nested deeper than `maxDepth` (the headers table itself is level 1) loses the
 *   top-level header that holds the deep part; the other headers are kept;
 * - a header table larger than `maxBytes` is not decoded (`headers` is `{}`);
 * - a malformed frame (a length past the end, an unknown type tag) keeps what was read before the
 *   fault, where amqplib would throw or read past the table;
 * in each case `fields[UNDECODABLE]` says why, and the runtime dead-letters the message as
 * `invalid-headers` (see `Delivery.undecodable`). And one difference for well-formed input: a
 * header named `__proto__` becomes an own property, where amqplib's assignment would replace the
 * headers object's prototype.
 */
import { setHeader } from '@eventform/runtime';

/** Set on a delivery's properties when its content header could not be decoded within bounds. */
export const UNDECODABLE: unique symbol = Symbol('eventform.undecodable');

export interface HeaderBounds {
  /** Nesting levels of tables and arrays, the headers table itself being level 1. */
  maxDepth: number;
  /** Encoded size of the headers table, in bytes. */
  maxBytes: number;
}

/** The basic properties as amqplib names them, plus the reason when they are incomplete. */
export type BasicProperties = Record<string, unknown> & { [UNDECODABLE]?: string | undefined };

/** A decoded content header frame, shaped as amqplib's `decodeFrame` returns it. */
export interface ContentHeaderFrame {
  id: number;
  channel: number;
  size: number;
  fields: BasicProperties;
}

const BASIC_CLASS = 60;
/** class (2) + weight (2) + body size (8) before the property flags. */
const FIXED = 12;
/** Problems named in one `UNDECODABLE` text, at most. */
const MAX_NAMED = 3;

/**
 * Decode the payload of a content header frame, or `undefined` when it is not one of the basic
 * class (then amqplib decodes it, or refuses it with its own error).
 */
export function decodeContentHeader(
  channel: number,
  payload: Buffer,
  bounds: HeaderBounds,
): ContentHeaderFrame | undefined {
  if (payload.length < FIXED || payload.readUInt16BE(0) !== BASIC_CLASS) return undefined;
  const size = Number(payload.readBigInt64BE(4));
  return { id: BASIC_CLASS, channel, size, fields: decodeBasicProperties(payload.subarray(FIXED), bounds) };
}

/** Thrown by the reader for a frame that is not well-formed; caught in {@link decodeBasicProperties}. */
class Malformed extends Error {}

/** Thrown when a container would be nested deeper than the bound; caught at the top level of the table. */
class TooDeep extends Error {}

/**
 * amqplib's `decodeBasicProperties`, bounded: the flags, then each property present, in flag order.
 * Never throws.
 */
export function decodeBasicProperties(buffer: Buffer, bounds: HeaderBounds): BasicProperties {
  if (buffer.length < 2) return { [UNDECODABLE]: 'malformed content header: no property flags' };
  const flags = buffer.readUInt16BE(0);
  if (flags === 0) return {};
  const fields: BasicProperties = {
    contentType: undefined,
    contentEncoding: undefined,
    headers: undefined,
    deliveryMode: undefined,
    priority: undefined,
    correlationId: undefined,
    replyTo: undefined,
    expiration: undefined,
    messageId: undefined,
    timestamp: undefined,
    type: undefined,
    userId: undefined,
    appId: undefined,
    clusterId: undefined,
  };
  const reader = new Reader(buffer, bounds);
  try {
    if (flags & 0x8000) fields.contentType = reader.shortString();
    if (flags & 0x4000) fields.contentEncoding = reader.shortString();
    if (flags & 0x2000) reader.headers(fields);
    if (flags & 0x1000) fields.deliveryMode = reader.octet();
    if (flags & 0x0800) fields.priority = reader.octet();
    if (flags & 0x0400) fields.correlationId = reader.shortString();
    if (flags & 0x0200) fields.replyTo = reader.shortString();
    if (flags & 0x0100) fields.expiration = reader.shortString();
    if (flags & 0x0080) fields.messageId = reader.shortString();
    if (flags & 0x0040) fields.timestamp = reader.uint64();
    if (flags & 0x0020) fields.type = reader.shortString();
    if (flags & 0x0010) fields.userId = reader.shortString();
    if (flags & 0x0008) fields.appId = reader.shortString();
    if (flags & 0x0004) fields.clusterId = reader.shortString();
  } catch (err) {
    // Malformed input, and — should anything else ever throw here — that too: a content header
    // must never take the connection down.
    const what = err instanceof Malformed ? err.message : `decoding failed: ${String(err)}`;
    reader.problems.push(`malformed content header: ${what}`);
  }
  if (reader.problems.length > 0) fields[UNDECODABLE] = describe(reader.problems);
  return fields;
}

/** The problems as one line: the first few, then how many more (header names may be long). */
function describe(problems: string[]): string {
  const named = problems.slice(0, MAX_NAMED);
  if (problems.length > MAX_NAMED) named.push(`and ${problems.length - MAX_NAMED} more`);
  return named.join('; ');
}

/**
 * A cursor over the properties. Each read checks that it stays within its table or the frame, so
 * a well-formed frame reads exactly as amqplib reads it and anything else is {@link Malformed}.
 */
class Reader {
  pos = 2;
  /** Why the properties are incomplete; empty when they are not. */
  readonly problems: string[] = [];

  constructor(
    private readonly buf: Buffer,
    private readonly bounds: HeaderBounds,
  ) {}

  /** One byte, before `end` (by default the end of the properties). */
  octet(end = this.buf.length): number {
    this.need(1, end);
    return this.buf[this.pos++]!;
  }

  shortString(): string {
    const length = this.octet();
    this.need(length, this.buf.length);
    const s = this.buf.toString('utf8', this.pos, this.pos + length);
    this.pos += length;
    return s;
  }

  uint64(): number {
    this.need(8, this.buf.length);
    const n = Number(this.buf.readBigUInt64BE(this.pos));
    this.pos += 8;
    return n;
  }

  /** The headers table into `fields.headers`, as far as it can be read within bounds. */
  headers(fields: BasicProperties): void {
    const length = this.uint32(this.buf.length);
    const end = this.pos + length;
    this.need(length, this.buf.length);
    const headers: Record<string, unknown> = {};
    fields.headers = headers;
    if (length > this.bounds.maxBytes) {
      this.problems.push(`header table of ${length} bytes exceeds maxHeaderBytes (${this.bounds.maxBytes})`);
      this.pos = end;
      return;
    }
    this.table(headers, end, 1);
  }

  /** Entries up to `end` into `out`; `depth` is the table's own level. */
  private table(out: Record<string, unknown>, end: number, depth: number): void {
    while (this.pos < end) {
      const nameLength = this.octet(end);
      this.need(nameLength, end);
      const name = this.buf.toString('utf8', this.pos, this.pos + nameLength);
      this.pos += nameLength;
      const valueAt = this.pos;
      let value: unknown;
      try {
        value = this.value(end, depth);
      } catch (err) {
        if (!(err instanceof TooDeep) || depth !== 1) throw err;
        // Leave out this header only: skip its (well-formed, length-prefixed) outer container.
        this.pos = valueAt + 1;
        const length = this.uint32(end);
        this.pos += length;
        this.problems.push(
          `header ${JSON.stringify(name)} is nested deeper than ${this.bounds.maxDepth} levels (maxHeaderDepth); left out`,
        );
        continue;
      }
      setHeader(out, name, value);
    }
  }

  /** One tagged value inside a container of level `depth` that ends at `end`. */
  private value(end: number, depth: number): unknown {
    const tag = this.octet(end);
    const buf = this.buf;
    let at = this.pos;
    let value: unknown;
    switch (tag) {
      case 0x53: {
        // S: long string
        const length = this.uint32(end);
        this.need(length, end);
        at = this.pos;
        value = buf.toString('utf8', at, at + length);
        this.pos = at + length;
        return value;
      }
      case 0x46: {
        // F: table
        const length = this.uint32(end);
        this.need(length, end);
        if (depth + 1 > this.bounds.maxDepth) throw new TooDeep();
        const table: Record<string, unknown> = {};
        this.table(table, this.pos + length, depth + 1);
        return table;
      }
      case 0x41: {
        // A: array
        const length = this.uint32(end);
        this.need(length, end);
        if (depth + 1 > this.bounds.maxDepth) throw new TooDeep();
        const until = this.pos + length;
        const items: unknown[] = [];
        while (this.pos < until) items.push(this.value(until, depth + 1));
        return items;
      }
      case 0x62: // b: int8
        this.need(1, end);
        value = buf.readInt8(at);
        this.pos = at + 1;
        return value;
      case 0x42: // B: uint8
        this.need(1, end);
        value = buf.readUInt8(at);
        this.pos = at + 1;
        return value;
      case 0x73: // s: int16
        this.need(2, end);
        value = buf.readInt16BE(at);
        this.pos = at + 2;
        return value;
      case 0x75: // u: uint16
        this.need(2, end);
        value = buf.readUInt16BE(at);
        this.pos = at + 2;
        return value;
      case 0x49: // I: int32
        this.need(4, end);
        value = buf.readInt32BE(at);
        this.pos = at + 4;
        return value;
      case 0x69: // i: uint32
        this.need(4, end);
        value = buf.readUInt32BE(at);
        this.pos = at + 4;
        return value;
      case 0x6c: // l: int64, as amqplib converts it
        this.need(8, end);
        value = Number(buf.readBigInt64BE(at));
        this.pos = at + 8;
        return value;
      case 0x66: // f: float
        this.need(4, end);
        value = buf.readFloatBE(at);
        this.pos = at + 4;
        return value;
      case 0x64: // d: double
        this.need(8, end);
        value = buf.readDoubleBE(at);
        this.pos = at + 8;
        return value;
      case 0x74: // t: boolean
        this.need(1, end);
        value = buf[at] !== 0;
        this.pos = at + 1;
        return value;
      case 0x56: // V: void
        return null;
      case 0x44: {
        // D: decimal, amqplib's `{'!': 'decimal', value: {places, digits}}`
        this.need(5, end);
        const places = buf[at]!;
        const digits = buf.readUInt32BE(at + 1);
        this.pos = at + 5;
        return { '!': 'decimal', value: { places, digits } };
      }
      case 0x54: {
        // T: timestamp, amqplib's `{'!': 'timestamp', value}`
        this.need(8, end);
        const ts = Number(buf.readBigUInt64BE(at));
        this.pos = at + 8;
        return { '!': 'timestamp', value: ts };
      }
      case 0x78: {
        // x: byte array, a view into the frame as amqplib returns it
        const length = this.uint32(end);
        this.need(length, end);
        at = this.pos;
        this.pos = at + length;
        return buf.subarray(at, at + length);
      }
      default:
        throw new Malformed(`unknown field type tag 0x${tag.toString(16).padStart(2, '0')} at byte ${this.pos - 1}`);
    }
  }

  private uint32(end: number): number {
    this.need(4, end);
    const n = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return n;
  }

  /** `n` more bytes must fit before `end`. */
  private need(n: number, end: number): void {
    if (this.pos + n > end) {
      throw new Malformed(`${n} bytes needed at byte ${this.pos}, only ${Math.max(0, end - this.pos)} left`);
    }
  }
}
