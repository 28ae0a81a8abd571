/**
 * One publish as bytes: the basic.publish method frame, the content header frame and the body frame
 * of AMQP 0-9-1, in one buffer, byte for byte what amqplib's `Connection#sendMessage` writes for the
 * same arguments (test/rabbitmq/publish-frames.test.ts compares them over thousands of messages).
 *
 * Why not let amqplib encode: for the small messages events are, its encoder costs more than the
 * whole rest of a publish. Per message it zero-fills three fresh buffers (method, header, body
 * frame) and copies them into a fourth, goes through BigInt twice, measures every string twice and
 * writes each header name, type tag and value with a separate native call. In the RabbitMQ bench that
 * came to about 20 µs of CPU per message, on a publish + consume path of about 100. Here: one
 * unzeroed buffer for all three frames, short ASCII strings written in JS, and the bytes of header
 * names, exchanges and routing keys converted once and cached.
 *
 * Only what this transport sends is encoded here — string headers, the short-string properties,
 * delivery mode, priority, timestamp — and only bodies that fit in one frame. Anything else returns
 * `undefined` and the caller lets amqplib encode it, so nothing amqplib would send differently (or
 * refuse with its own error) goes through this path.
 */
import type { Options } from 'amqplib';

const FRAME_METHOD = 1;
const FRAME_HEADER = 2;
const FRAME_BODY = 3;
const FRAME_END = 0xce;
/** type (1) + channel (2) + size (4) before the payload, frame-end (1) after it. */
const FRAME_OVERHEAD = 8;
/** basic.publish: class 60, method 40. */
const BASIC_PUBLISH = (60 << 16) | 40;
const BASIC_CLASS = 60;
const TWO_32 = 2 ** 32;
/** amqplib encodes a field table in a 64 KiB scratch buffer and refuses a larger one. */
const MAX_TABLE = 65_536 - 4;

/** Property flags of the basic class, in the order the properties follow the flags. */
const SHORT_STRINGS = [
  ['contentType', 0x8000],
  ['contentEncoding', 0x4000],
  // headers 0x2000, deliveryMode 0x1000, priority 0x0800: not short strings
  ['correlationId', 0x0400],
  ['replyTo', 0x0200],
  ['expiration', 0x0100],
  ['messageId', 0x0080],
  // timestamp 0x0040
  ['type', 0x0020],
  ['userId', 0x0010],
  ['appId', 0x0008],
] as const;

type ShortString = (typeof SHORT_STRINGS)[number][0];

/** The properties of one message, normalised the way amqplib's `Args.publish` does. */
export interface Properties {
  contentType: string | undefined;
  contentEncoding: string | undefined;
  headers: Record<string, unknown> | undefined;
  deliveryMode: number | undefined;
  priority: number | undefined;
  correlationId: string | undefined;
  replyTo: string | undefined;
  expiration: string | undefined;
  messageId: string | undefined;
  timestamp: number | undefined;
  type: string | undefined;
  userId: string | undefined;
  appId: string | undefined;
}

/**
 * The frames of one basic.publish on `channel`, or `undefined` when this encoder leaves the message
 * to amqplib: a body that needs more than one frame of `frameMax`, a header value that is not a
 * string, CC/BCC, a string over 255 bytes where AMQP allows a short string, a number or a header
 * table amqplib would reject.
 */
export function encodePublishFrames(
  channel: number,
  exchange: string,
  routingKey: string,
  mandatory: boolean,
  options: Options.Publish,
  body: Buffer,
  frameMax: number,
): Buffer | undefined {
  if (body.length + FRAME_OVERHEAD > frameMax) return undefined;
  const props = normalise(options);
  if (props === undefined) return undefined;

  // Sizes first (every string measured once), then one buffer written front to back.
  if (typeof exchange !== 'string' || typeof routingKey !== 'string') return undefined;
  const exchangeBytes = nameBytes(exchange);
  const routingKeyBytes = nameBytes(routingKey);
  if (exchangeBytes.length > 255 || routingKeyBytes.length > 255) return undefined;
  const methodPayload = 4 + 2 + 1 + exchangeBytes.length + 1 + routingKeyBytes.length + 1;

  let flags = 0;
  let headerPayload = 2 + 2 + 8 + 2;
  const lengths: number[] = [];
  for (const [name, flag] of SHORT_STRINGS) {
    const value = props[name];
    if (value === undefined) continue;
    const length = shortStringLength(value);
    if (length < 0) return undefined;
    flags |= flag;
    lengths.push(length);
    headerPayload += 1 + length;
  }
  let tableLength = 0;
  const entries: TableEntries = { names: [], values: [], lengths: [] };
  if (props.headers !== undefined) {
    flags |= 0x2000;
    tableLength = tableSize(props.headers, entries);
    if (tableLength < 0 || tableLength > MAX_TABLE) return undefined;
    headerPayload += 4 + tableLength;
  }
  if (props.deliveryMode !== undefined) {
    if (!isOctet(props.deliveryMode)) return undefined;
    flags |= 0x1000;
    headerPayload += 1;
  }
  if (props.priority !== undefined) {
    if (!isOctet(props.priority)) return undefined;
    flags |= 0x0800;
    headerPayload += 1;
  }
  if (props.timestamp !== undefined) {
    if (!Number.isSafeInteger(props.timestamp) || props.timestamp < 0) return undefined;
    flags |= 0x0040;
    headerPayload += 8;
  }

  const bodyFrame = body.length > 0 ? body.length + FRAME_OVERHEAD : 0;
  const out = Buffer.allocUnsafe(methodPayload + FRAME_OVERHEAD + headerPayload + FRAME_OVERHEAD + bodyFrame);

  // basic.publish
  let at = frameStart(out, 0, FRAME_METHOD, channel, methodPayload);
  at = out.writeUInt32BE(BASIC_PUBLISH, at);
  at = out.writeUInt16BE(0, at); // ticket
  at = writeBytes(out, at, exchangeBytes);
  at = writeBytes(out, at, routingKeyBytes);
  out[at++] = mandatory ? 1 : 0; // immediate is always off
  out[at++] = FRAME_END;

  // content header
  at = frameStart(out, at, FRAME_HEADER, channel, headerPayload);
  at = out.writeUInt16BE(BASIC_CLASS, at);
  at = out.writeUInt16BE(0, at); // weight
  at = writeUInt64(out, at, body.length);
  at = out.writeUInt16BE(flags, at);
  let next = 0;
  // The properties in flag order: contentType, contentEncoding, headers, deliveryMode, priority,
  // correlationId, replyTo, expiration, messageId, timestamp, type, userId, appId.
  for (const [name] of SHORT_STRINGS) {
    if (name === 'correlationId') {
      if (props.headers !== undefined) at = writeTable(out, at, tableLength, entries);
      if (props.deliveryMode !== undefined) out[at++] = props.deliveryMode;
      if (props.priority !== undefined) out[at++] = props.priority;
    } else if (name === 'type' && props.timestamp !== undefined) {
      at = writeUInt64(out, at, props.timestamp);
    }
    const value = props[name];
    if (value !== undefined) at = writeShortString(out, at, value, lengths[next++]!);
  }
  out[at++] = FRAME_END;

  if (bodyFrame > 0) {
    at = frameStart(out, at, FRAME_BODY, channel, body.length);
    at += body.copy(out, at);
    out[at] = FRAME_END;
  }
  return out;
}

/** `Args.publish`'s reading of the options; undefined for the ones only amqplib handles (CC, BCC). */
export function normalise(options: Options.Publish): Properties | undefined {
  if (options.CC !== undefined || options.BCC !== undefined) return undefined;
  // amqplib calls Object.create(headers) and expiration.toString(): leave other values to it (and its errors).
  const headers: unknown = options.headers;
  if (headers !== undefined && headers !== null && typeof headers !== 'object') return undefined;
  const expiration: unknown = options.expiration;
  if (expiration !== undefined && typeof expiration !== 'string' && typeof expiration !== 'number') return undefined;
  let deliveryMode: number | undefined;
  if (options.persistent !== undefined) deliveryMode = options.persistent ? 2 : 1;
  else if (typeof options.deliveryMode === 'number') deliveryMode = options.deliveryMode;
  else if (options.deliveryMode) deliveryMode = 2;
  return {
    contentType: options.contentType,
    contentEncoding: options.contentEncoding,
    // amqplib always sends a (possibly empty) table: it wraps the headers to add CC/BCC.
    headers: (headers ?? {}) as Record<string, unknown>,
    deliveryMode,
    priority: options.priority,
    correlationId: options.correlationId,
    replyTo: options.replyTo,
    expiration: expiration === undefined ? undefined : String(expiration),
    messageId: options.messageId,
    timestamp: options.timestamp,
    type: options.type,
    userId: options.userId,
    appId: options.appId,
  } satisfies Record<ShortString, unknown> & Properties;
}

function isOctet(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 255;
}

/**
 * UTF-8 bytes of header names, exchanges, routing keys and the other strings that repeat from one
 * message to the next, so each is measured and converted once. Bounded: past the limit, strings are
 * encoded each time.
 */
const NAME_BYTES = new Map<string, Uint8Array>();
const NAME_CACHE_LIMIT = 2048;

function nameBytes(s: string): Uint8Array {
  let bytes = NAME_BYTES.get(s);
  if (bytes === undefined) {
    bytes = Buffer.from(s, 'utf8');
    if (NAME_BYTES.size < NAME_CACHE_LIMIT) NAME_BYTES.set(s, bytes);
  }
  return bytes;
}

/** UTF-8 length of `s`; pure ASCII (the usual case) is counted without leaving JS. */
function byteLength(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return Buffer.byteLength(s, 'utf8');
  return s.length;
}

/** Length of a short string, or -1 when it is not a string of at most 255 bytes. */
function shortStringLength(value: unknown): number {
  if (typeof value !== 'string') return -1;
  const length = byteLength(value);
  return length < 256 ? length : -1;
}

/** The header table read once: the name bytes, value and value length of each entry, in order. */
interface TableEntries {
  names: Uint8Array[];
  values: string[];
  lengths: number[];
}

/**
 * Size of the field table (without its 4-byte length), reading each header once into `entries`
 * (so a getter cannot change a value between sizing and writing); -1 when a value is not a string
 * or a name is over 255 bytes. Entries are taken in `for...in` order with `undefined` values
 * skipped, as amqplib's encoder does.
 */
function tableSize(headers: Record<string, unknown>, entries: TableEntries): number {
  let size = 0;
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    if (typeof value !== 'string') return -1;
    const bytes = nameBytes(name);
    if (bytes.length > 255) return -1;
    const length = byteLength(value);
    entries.names.push(bytes);
    entries.values.push(value);
    entries.lengths.push(length);
    size += 1 + bytes.length + 1 + 4 + length;
  }
  return size;
}

function writeTable(out: Buffer, at: number, size: number, entries: TableEntries): number {
  at = out.writeUInt32BE(size, at);
  for (let i = 0; i < entries.values.length; i++) {
    at = writeBytes(out, at, entries.names[i]!);
    out[at++] = 0x53; // 'S': long string, the only string type a field table has
    const length = entries.lengths[i]!;
    at = out.writeUInt32BE(length, at);
    at = writeString(out, at, entries.values[i]!, length);
  }
  return at;
}

/** A short string from its cached bytes ({@link nameBytes}): the length octet, then the bytes. */
function writeBytes(out: Buffer, at: number, bytes: Uint8Array): number {
  out[at++] = bytes.length;
  for (let i = 0; i < bytes.length; i++) out[at + i] = bytes[i]!;
  return at + bytes.length;
}

function writeShortString(out: Buffer, at: number, s: string, length: number): number {
  out[at++] = length;
  return writeString(out, at, s, length);
}

function writeString(out: Buffer, at: number, s: string, length: number): number {
  // Short ASCII strings are cheaper to copy here than through a native call.
  if (length === s.length && length <= 64) {
    for (let i = 0; i < length; i++) out[at + i] = s.charCodeAt(i);
    return at + length;
  }
  return at + out.write(s, at, length, 'utf8');
}

function frameStart(out: Buffer, at: number, type: number, channel: number, payload: number): number {
  out[at] = type;
  at = out.writeUInt16BE(channel, at + 1);
  return out.writeUInt32BE(payload, at);
}

function writeUInt64(out: Buffer, at: number, n: number): number {
  at = out.writeUInt32BE(Math.floor(n / TWO_32), at);
  return out.writeUInt32BE(n % TWO_32, at);
}
