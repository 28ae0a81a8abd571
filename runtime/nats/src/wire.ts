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
import { CE, CONTENT_TYPE_HEADER, EF, attributeNames } from '@eventform/runtime';
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
  for (const name in headers) out.set(NAMES.toWire.get(name) ?? name, encodeHeaderValue(headers[name]!));
  const contentType = headers[CONTENT_TYPE_HEADER];
  if (key !== undefined && headers[CE.partitionkey] === undefined && !isStructured(contentType)) {
    out.set(PARTITION_KEY_HEADER, encodeHeaderValue(key));
  }
  return out;
}

function isStructured(contentType: string | undefined): boolean {
  return contentType !== undefined && /^\s*application\/cloudevents/i.test(contentType);
}

/** Logical headers of NATS headers (JetStream's own `Nats-*` headers are left out). */
export function fromNatsHeaders(raw: MsgHdrs | undefined, maxHeaders: number = NATS_DEFAULTS.maxHeaders): Headers {
  const out: Headers = {};
  if (!raw) return out;
  let count = 0;
  for (const [name, values] of raw) {
    if (++count > maxHeaders) throw new Error(`more than ${maxHeaders} headers`);
    if (name.startsWith('Nats-')) continue;
    const value = values[values.length - 1];
    if (value !== undefined) out[NAMES.fromWire.get(name) ?? name] = decodeHeaderValue(value);
  }
  return out;
}

/** What the transport knows of a delivery besides the message. */
export interface DeliveryFacts {
  /** Earlier deliveries of this message that ended without an outcome. */
  deliveryCount: number;
  maxHeaders: number;
}

/**
 * The delivery the runtime sees for a JetStream message. Never throws: a message whose header
 * block the client cannot parse, or that carries more than `maxHeaders` headers, comes out with
 * `undecodable` set and no headers.
 */
export function toDelivery(msg: JsMsg, facts: DeliveryFacts): Delivery {
  let headers: Headers = {};
  let undecodable: string | undefined;
  try {
    headers = fromNatsHeaders(msg.headers, facts.maxHeaders);
  } catch (err) {
    undecodable = `headers could not be decoded: ${err instanceof Error ? err.message : String(err)}`;
  }
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
