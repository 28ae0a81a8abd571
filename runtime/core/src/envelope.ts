/**
 * CloudEvents 1.0 envelopes in binary mode: the JSON payload is the message body and every
 * attribute is a *logical* header (see headers.ts). Transports map logical headers to their wire
 * names with `toWireHeaders`/`fromWireHeaders`; the memory transport keeps them as they are.
 */
import type { EventEnvelope } from './api.js';
import { EnvelopeError, PublishOptionsError } from './errors.js';
import { CE, EF } from './headers.js';
import type { ConsumerIR } from './ir.js';
import { decodeJsonBody } from './json-body.js';
import type { BodyLimits } from './json-body.js';
import type { Delivery, Headers, OutgoingMessage } from './transport.js';

// Transports map logical headers to wire names with these (see transport.ts); re-exported here so
// the envelope module is the one place a binding needs.
export { fromWireHeaders, toWireHeaders } from './headers.js';

export const SPEC_VERSION = '1.0';
export const CONTENT_TYPE = 'application/json';

/** The envelope attributes, everything but the payload. */
export type EnvelopeAttributes = Omit<EventEnvelope, 'data'>;

const RESERVED_HEADERS = new Set<string>(Object.values(CE));

/** Throws `PublishOptionsError` when an extra header would overwrite an attribute or an `ef-*` header. */
export function assertExtraHeaders(headers: Record<string, string>): void {
  for (const name of Object.keys(headers)) {
    if (RESERVED_HEADERS.has(name) || name.startsWith('ef-')) {
      throw new PublishOptionsError(`Header "${name}" is reserved for the envelope; choose another name`);
    }
    if (typeof headers[name] !== 'string') {
      throw new PublishOptionsError(`Header "${name}" must be a string`);
    }
  }
}

/** The logical headers of an envelope (plus `extra`, which must not clash; see {@link assertExtraHeaders}). */
export function envelopeHeaders(envelope: EnvelopeAttributes, extra?: Record<string, string>): Headers {
  const headers: Headers = {
    [CE.id]: envelope.id,
    [CE.source]: envelope.source,
    [CE.type]: envelope.type,
    [CE.specversion]: SPEC_VERSION,
    [CE.time]: envelope.time,
    [CE.datacontenttype]: CONTENT_TYPE,
    [CE.correlationid]: envelope.correlationId,
    [CE.eventversion]: String(envelope.eventVersion),
  };
  if (envelope.causationId !== null) headers[CE.causationid] = envelope.causationId;
  if (envelope.traceparent !== undefined) headers[CE.traceparent] = envelope.traceparent;
  if (extra) {
    for (const name in extra) headers[name] = extra[name]!;
  }
  return headers;
}

/** An envelope as a message: JSON body, logical headers, ordering key. */
export function encodeEnvelope(envelope: EventEnvelope, extra?: Record<string, string>): OutgoingMessage {
  const message: OutgoingMessage = {
    // `undefined` has no JSON form; send it as null rather than fail.
    body: Buffer.from(JSON.stringify(envelope.data) ?? 'null'),
    headers: envelopeHeaders(envelope, extra),
  };
  if (envelope.key !== undefined) message.key = envelope.key;
  return message;
}

// RFC 3339 as CloudEvents requires; cheaper and stricter than Date.parse alone.
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

function required(headers: Headers, name: string): string {
  const value = headers[name];
  if (value === undefined || value === '') throw new EnvelopeError(name, 'missing');
  return value;
}

/**
 * Read the CloudEvents attributes from logical headers. Throws {@link EnvelopeError} naming the
 * first missing or invalid attribute. Required: `id`, `source`, `type`, `specversion` (= 1.0),
 * `time` (RFC 3339), `correlationid`, `eventversion` (positive integer). `datacontenttype` may be
 * absent (JSON is assumed) but must be JSON when present.
 */
export function readEnvelopeAttributes(headers: Headers, key?: string): EnvelopeAttributes {
  const type = required(headers, CE.type);
  const id = required(headers, CE.id);
  const source = required(headers, CE.source);
  const specversion = required(headers, CE.specversion);
  if (specversion !== SPEC_VERSION)
    throw new EnvelopeError(CE.specversion, 'invalid', `expected "1.0", got "${specversion}"`);
  const time = required(headers, CE.time);
  if (!RFC3339.test(time) || Number.isNaN(Date.parse(time)))
    throw new EnvelopeError(CE.time, 'invalid', `not an RFC 3339 time: "${time}"`);
  const contentType = headers[CE.datacontenttype];
  if (contentType !== undefined && contentType !== CONTENT_TYPE && !contentType.startsWith(`${CONTENT_TYPE};`)) {
    throw new EnvelopeError(CE.datacontenttype, 'invalid', `expected "${CONTENT_TYPE}", got "${contentType}"`);
  }
  const correlationId = required(headers, CE.correlationid);
  const versionText = required(headers, CE.eventversion);
  const eventVersion = Number(versionText);
  if (!Number.isInteger(eventVersion) || eventVersion < 1) {
    throw new EnvelopeError(CE.eventversion, 'invalid', `expected a positive integer, got "${versionText}"`);
  }
  const attributes: EnvelopeAttributes = {
    id,
    type,
    source,
    specversion: SPEC_VERSION,
    time,
    datacontenttype: CONTENT_TYPE,
    correlationId,
    causationId: headers[CE.causationid] || null,
    eventVersion,
  };
  const traceparent = headers[CE.traceparent];
  if (traceparent !== undefined) attributes.traceparent = traceparent;
  if (key !== undefined) attributes.key = key;
  return attributes;
}

/**
 * Parse a JSON body within `limits` (default: the runtime's defaults, 1 MiB and 128 levels).
 * Throws `BodyTooLargeError`, `InvalidEncodingError` or `InvalidJsonError`; see
 * {@link decodeJsonBody}.
 */
export function parseJsonBody(body: Buffer, limits?: BodyLimits): unknown {
  return decodeJsonBody(body, limits);
}

/**
 * Decode a delivery into an envelope (attributes + parsed payload, within the default body
 * limits). Throws {@link EnvelopeError} or one of {@link parseJsonBody}'s errors; the payload is
 * not schema-checked here.
 */
export function decodeDelivery<TData = unknown>(
  delivery: Pick<Delivery, 'body' | 'headers' | 'key'>,
): EventEnvelope<string, TData> {
  const attributes = readEnvelopeAttributes(delivery.headers, delivery.key);
  return { ...attributes, data: parseJsonBody(delivery.body) as TData };
}

/** The attempt of a delivery for one consumer, as {@link readAttempt} reads it. */
export interface AttemptReading {
  /** 1-based, within `1..retry.attempts` of the consumer. */
  attempt: number;
  /** Set when `ef-attempt` was not taken as sent: what it said and what was made of it. */
  problem?: string;
}

// A positive integer as the runtime writes it: no sign, exponent, fraction or leading zero.
const ATTEMPT = /^[1-9][0-9]*$/;

/**
 * The 1-based attempt of a delivery for `consumer`. `ef-attempt` is the runtime's own count and
 * only means something on a retry copy made for this consumer (`ef-retry-for` names it, as every
 * transport sets it): any other delivery is attempt 1 whatever the header says, so a forged header
 * (or one a replayed dead letter still carries) cannot spend the retries the consumer is owed. On a
 * retry copy a value that is not a positive integer counts as attempt 1 and one above the
 * consumer's `attempts` as its last attempt (the topology may have lowered `attempts` since the
 * copy was made); `problem` then says so.
 */
export function readAttempt(headers: Headers, consumer: Pick<ConsumerIR, 'id' | 'retry'>): AttemptReading {
  const raw = headers[EF.attempt];
  if (raw === undefined || headers[EF.retryFor] !== consumer.id) return { attempt: 1 };
  const max = Math.max(1, consumer.retry.attempts);
  const shown = raw.length > 24 ? `${JSON.stringify(raw.slice(0, 24))}…` : JSON.stringify(raw);
  if (!ATTEMPT.test(raw)) return { attempt: 1, problem: `${EF.attempt} ${shown} is not an attempt number; read as 1` };
  // Compared as text first: a number of 16 digits or more is not exact as a double.
  if (raw.length > 15 || Number(raw) > max) {
    return { attempt: max, problem: `${EF.attempt} ${shown} is above the consumer's ${max} attempts; read as ${max}` };
  }
  return { attempt: Number(raw) };
}

/** {@link readAttempt}'s number alone. */
export function attemptOf(headers: Headers, consumer: Pick<ConsumerIR, 'id' | 'retry'>): number {
  return readAttempt(headers, consumer).attempt;
}
