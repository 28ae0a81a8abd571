/**
 * Logical messages ⇄ NATS messages, per the CloudEvents NATS protocol binding (binary mode with
 * NATS 2.2 headers): every CloudEvents attribute a `ce-` header, the content type the
 * `content-type` header, the key the `partitionkey` extension (`ce-partitionkey`; NATS has no key
 * field). In structured mode the content type is the event format and the attributes are in the
 * body. The runtime's own headers (`ef-*`) pass through unprefixed.
 *
 * Header values are percent-encoded as the binding asks (space, `"`, `%`, control characters and
 * everything beyond ASCII as UTF-8 octets), so a value with a line break (an error's stack) or
 * leading spaces survives the NATS header block, which allows neither. A value that is not valid
 * percent-encoding (another producer's) is taken as it is.
 */
import { headers as natsHeaders } from '@nats-io/transport-node';
import type { MsgHdrs } from '@nats-io/transport-node';
import type { JsMsg } from '@nats-io/jetstream';
import { CE, CONTENT_TYPE_HEADER, EF, attributeNames, setHeader, truncateUtf8 } from '@eventform/runtime';
import type { Delivery, Headers } from '@eventform/runtime';
import { NATS_DEFAULTS } from './defaults.js';

/** The binding's prefix of CloudEvents attributes. */
export const NATS_CE_PREFIX = 'ce-';

const NAMES = attributeNames(NATS_CE_PREFIX);
const PARTITION_KEY_HEADER = NAMES.toWire.get(CE.partitionkey)!;

// Everything printable in ASCII but space, `"` and `%` goes as it is.
const NEEDS_ENCODING = /[^\x21\x23\x24\x26-\x7e]/;

/** A header value as the binding writes it. */
export function encodeHeaderValue(value: string): string {
  if (!NEEDS_ENCODING.test(value)) return value;
  let out = '';
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    if (code > 0x20 && code < 0x7f && code !== 0x22 && code !== 0x25) out += ch;
    else for (const byte of Buffer.from(ch, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** A header value as read: percent-decoded, or as it is when it is not valid percent-encoding. */
export function decodeHeaderValue(value: string): string {
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/**
 * The NATS headers of a message: CloudEvents attributes as `ce-` headers, `content-type` as it is,
 * `key` as `ce-partitionkey` when the headers do not carry the attribute and the message is in
 * binary mode (a structured event holds it in its body). Throws (the client's `InvalidArgumentError`)
 * on a header name NATS cannot carry.
 */
export function toNatsHeaders(headers: Headers, key?: string): MsgHdrs {
  const out = natsHeaders();
  // `append` where no two headers can share a wire name (the client's `set` first searches for the
  // name to replace, every header again); `set`, the last one winning, when a logical header is
  // itself named like an attribute's wire header (`ce-id` beside `id`).
  let unique = true;
  for (const name in headers) {
    if (NAMES.fromWire.has(name)) {
      unique = false;
      break;
    }
  }
  for (const name in headers) {
    const wire = NAMES.toWire.get(name) ?? name;
    const value = encodeHeaderValue(headers[name]!);
    if (unique) out.append(wire, value);
    else out.set(wire, value);
  }
  const contentType = headers[CONTENT_TYPE_HEADER];
  if (key !== undefined && headers[CE.partitionkey] === undefined && !isStructured(contentType)) {
    if (unique) out.append(PARTITION_KEY_HEADER, encodeHeaderValue(key));
    else out.set(PARTITION_KEY_HEADER, encodeHeaderValue(key));
  }
  return out;
}

function isStructured(contentType: string | undefined): boolean {
  return contentType !== undefined && /^\s*application\/cloudevents/i.test(contentType);
}

/** Whether the runtime reads a logical header: a CloudEvents attribute, the content type, an `ef-*` header. */
function readByRuntime(logical: string): boolean {
  return logical === CONTENT_TYPE_HEADER || logical.startsWith('ef-') || NAMES.toWire.has(logical);
}

/**
 * Logical headers of NATS headers (JetStream's own `Nats-*` headers are left out). A NATS header
 * may repeat: a header the runtime reads (a CloudEvents attribute, `content-type`, `ef-*`) given
 * two different values by one name (`ce-id` twice) is ambiguous and throws; the same value twice
 * is that value. Of any other header the last value counts. The binding carries attributes as
 * `ce-` headers: an unprefixed header with an attribute's name (`traceparent` from OpenTelemetry's
 * own NATS propagation, a plain `type`) is read as that attribute only when no `ce-` header gives
 * it, whatever the order. A header named `__proto__` is an own header like any other.
 */
export function fromNatsHeaders(raw: MsgHdrs | undefined, maxHeaders: number = NATS_DEFAULTS.maxHeaders): Headers {
  const out: Headers = {};
  if (!raw) return out;
  let count = 0;
  for (const [name, values] of raw) {
    if (++count > maxHeaders) throw new Error(`more than ${maxHeaders} headers`);
    if (name.startsWith('Nats-')) continue;
    const last = values.length - 1;
    const value = values[last];
    if (value === undefined) continue;
    const attribute = NAMES.fromWire.get(name);
    const logical = attribute ?? name;
    if (last > 0 && readByRuntime(logical)) {
      for (let i = 0; i < last; i++) {
        if (values[i] !== value)
          throw new Error(`header "${name}" appears ${values.length} times with different values`);
      }
    }
    // An unprefixed header named like an attribute: `out` has that name only from its ce- header
    // (one name is one entry of the client's headers), which gives the attribute.
    if (attribute === undefined && NAMES.toWire.has(name) && Object.hasOwn(out, name)) continue;
    setHeader(out, logical, decodeHeaderValue(value));
  }
  return out;
}

/** What the transport knows of a delivery besides the message. */
export interface DeliveryFacts {
  /** Earlier deliveries of this message that ended without an outcome. */
  deliveryCount: number;
  maxHeaders: number;
  /**
   * Read from an event stream: only the transport's own retry copies carry retry bookkeeping
   * (`ef-attempt`, `ef-retry-for`, `ef-due-at`), and those live on retry streams, so on an event
   * stream such headers were forged and are dropped.
   */
  eventStream: boolean;
}

/**
 * The logical headers of a stored message, within `maxHeaders`; never throws. A header block the
 * client cannot parse (its `headers` getter throws), one with more than `maxHeaders` headers or an
 * ambiguous repeated header gives no headers and `undecodable` saying why.
 */
export function decodeNatsHeaders(
  msg: { readonly headers?: MsgHdrs | undefined },
  maxHeaders: number,
): { headers: Headers; undecodable?: string } {
  try {
    return { headers: fromNatsHeaders(msg.headers, maxHeaders) };
  } catch (err) {
    return {
      headers: {},
      undecodable: `headers could not be decoded: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
}

/** The retry bookkeeping only a retry copy carries. */
const RETRY_HEADERS = [EF.attempt, EF.retryFor, EF.dueAt] as const;

/**
 * The delivery the runtime sees for a JetStream message. Never throws: a message whose header
 * block the client cannot parse, or that carries more than `maxHeaders` headers, comes out with
 * `undecodable` set and no headers.
 */
export function toDelivery(msg: JsMsg, facts: DeliveryFacts): Delivery {
  const { headers, undecodable } = decodeNatsHeaders(msg, facts.maxHeaders);
  if (facts.eventStream) for (const name of RETRY_HEADERS) delete headers[name];
  const data = msg.data;
  const delivery: Delivery = {
    body: Buffer.from(data.buffer, data.byteOffset, data.byteLength),
    headers,
    origin: headers[EF.origin] ?? msg.subject,
    redelivered: facts.deliveryCount > 0,
    deliveryCount: facts.deliveryCount,
  };
  const key = headers[CE.partitionkey];
  if (key !== undefined) delivery.key = key;
  if (undecodable !== undefined) delivery.undecodable = undecodable;
  return delivery;
}

/**
 * The largest header block JetStream stores: the server refuses one longer than 65,535 bytes
 * (`header size exceeds maximum allowed of 64k`; the length is a 16-bit field).
 */
export const JETSTREAM_MAX_HEADER_BYTES = 65_535;

/** Bytes of a header block as the client writes it (`NATS/1.0\r\n`, `name: value\r\n` each, `\r\n`). */
export function headerBlockBytes(h: MsgHdrs): number {
  let n = 12;
  for (const [name, values] of h) for (const v of values) n += Buffer.byteLength(name) + Buffer.byteLength(v) + 4;
  return n;
}

/** A retry or dead-letter copy as it will be published, made to fit the server's bounds. */
export interface FittedCopy {
  body: Uint8Array;
  headers: MsgHdrs;
  /** What was left out to make it fit, for a warning; empty when nothing was. */
  shed: string[];
}

/** Set on a dead letter stored without its body: how large the body was and where the original is. */
export const DL_BODY_OMITTED_HEADER = 'ef-body-omitted';

/** A copy that cannot be made to fit: a retry copy whose runtime headers alone are too large. */
export class CopyTooLargeError extends Error {}

/**
 * A copy of a message with the runtime's headers (retry bookkeeping, or a dead-letter record)
 * carries more than the original, which may have filled the server's `max_payload` (or
 * JetStream's 64 KiB of headers) to the byte: stored as it is, it is refused, the message is
 * released and comes back for good. So a copy that does not fit sheds, in this order: the
 * dead-letter stack and all but 1,000 bytes of the error; headers the runtime does not read
 * (largest first); a dead letter then its body (`ef-body-omitted` says how large it was and
 * where the original is), and at last every header but the dead-letter record's and the event id.
 * A retry copy that still does not fit throws {@link CopyTooLargeError} (released; the runtime
 * dead-letters it as `redelivery-limit` in the end); so does a dead letter when even its record
 * alone does not fit (a `max_payload` of a few KiB). `msgID` is the message id the publish will
 * add (its `Nats-Msg-Id` header line counts against both bounds), if any.
 */
export function fitCopy(
  kind: 'retry' | 'dead-letter',
  body: Uint8Array,
  headers: Headers,
  key: string | undefined,
  limits: { maxPayload: number; msgID: string | undefined; original: string },
): FittedCopy {
  const shed: string[] = [];
  let logical: Headers = { ...headers };
  let out = toNatsHeaders(logical, key);
  const overhead = limits.msgID === undefined ? 0 : 'Nats-Msg-Id: \r\n'.length + limits.msgID.length;
  const headerRoom = JETSTREAM_MAX_HEADER_BYTES - overhead;
  const fits = () => {
    const h = headerBlockBytes(out);
    return h <= headerRoom && h + body.byteLength + overhead <= limits.maxPayload;
  };
  const redo = () => (out = toNatsHeaders(logical, key));
  if (fits()) return { body, headers: out, shed };
  if (kind === 'dead-letter') {
    if (logical[EF.dlStack] !== undefined) {
      delete logical[EF.dlStack];
      shed.push(EF.dlStack);
    }
    const error = logical[EF.dlError];
    if (error !== undefined && error.length > 1_000) {
      logical[EF.dlError] = truncateUtf8(error, 1_000);
      shed.push(`${EF.dlError} beyond 1000 bytes`);
    }
    redo();
  }
  const optional = Object.keys(logical)
    .filter((name) => !readByRuntime(name))
    .sort((a, b) => logical[b]!.length - logical[a]!.length);
  for (const name of optional) {
    if (fits()) break;
    delete logical[name];
    shed.push(`header ${name}`);
    redo();
  }
  if (fits()) return { body, headers: out, shed };
  if (kind === 'retry') {
    throw new CopyTooLargeError(
      `the retry copy (${body.byteLength} bytes of body, ${headerBlockBytes(out)} of headers) exceeds the server's max_payload (${limits.maxPayload}) or JetStream's ${JETSTREAM_MAX_HEADER_BYTES} bytes of headers`,
    );
  }
  if (body.byteLength > 0 && headerBlockBytes(out) <= headerRoom) {
    logical[DL_BODY_OMITTED_HEADER] = `${body.byteLength} bytes; the original is ${limits.original}`;
    shed.push('body');
    body = new Uint8Array(0);
    redo();
  }
  if (!fits()) {
    // Last resort: the record (each value cut to 1,000 bytes), the event id, the note on the body;
    // no partition key (a dead letter is not consumed in key order).
    const kept: Headers = {};
    for (const name of Object.keys(logical)) {
      if (name.startsWith('ef-dl-') || name === CE.id || name === DL_BODY_OMITTED_HEADER) {
        kept[name] = truncateUtf8(logical[name]!, 1_000);
      }
    }
    shed.push('every header but the dead-letter record and the event id');
    logical = kept;
    key = undefined;
    if (body.byteLength > 0) {
      logical[DL_BODY_OMITTED_HEADER] = `${body.byteLength} bytes; the original is ${limits.original}`;
      shed.push('body');
      body = new Uint8Array(0);
    }
    redo();
  }
  if (!fits()) {
    throw new CopyTooLargeError(
      `the dead-letter copy does not fit even with its record alone (${headerBlockBytes(out)} bytes of headers, max_payload ${limits.maxPayload})`,
    );
  }
  return { body, headers: out, shed };
}
