/**
 * CloudEvents 1.0 envelopes, in both content modes of the CloudEvents protocol bindings.
 *
 * - **binary**: the JSON payload is the message body, `datacontenttype` is the logical
 *   `content-type` header and every other attribute that is set is a *logical* header (see
 *   headers.ts). Transports map logical headers to their wire names with
 *   `toWireHeaders`/`fromWireHeaders`; the memory transport keeps them as they are.
 * - **structured**: the whole event in the JSON event format (attributes and `data`) is the body,
 *   and `content-type: application/cloudevents+json; charset=utf-8` is the only header.
 *
 * A consumer reads either mode whatever the topology says (the content type tells them apart), and
 * needs no more than CloudEvents requires: `id`, `source`, `type`, `specversion`. Without
 * `correlationid` an event starts a new correlation; without `eventversion` it is of the version
 * the consumer declares; `time` is optional. Everything is untrusted: a structured body goes
 * through the same bounds as a binary one ({@link decodeJsonBody}).
 */
import { randomUUID } from 'node:crypto';
import type { EventEnvelope } from './api.js';
import type { DeadLetterReason } from './dead-letter.js';
import { BodyTooLargeError, EnvelopeError, InvalidEncodingError, PublishOptionsError } from './errors.js';
import { CE, CONTENT_TYPE_HEADER, EF } from './headers.js';
import type { ConsumerIR, ContentMode, EventIR } from './ir.js';
import { DEFAULT_BODY_LIMITS, decodeJsonBody } from './json-body.js';
import type { BodyLimits } from './json-body.js';
import type { Delivery, Headers, OutgoingMessage } from './transport.js';

// Transports map logical headers to wire names with these (see transport.ts); re-exported here so
// the envelope module is the one place a binding needs.
export { fromWireHeaders, toWireHeaders } from './headers.js';

export const SPEC_VERSION = '1.0';
/** The `datacontenttype` of every event eventform sends: the payload is JSON. */
export const CONTENT_TYPE = 'application/json';
/** The content type of a structured-mode message: the CloudEvents JSON event format. */
export const STRUCTURED_CONTENT_TYPE = 'application/cloudevents+json; charset=utf-8';

/** The envelope attributes, everything but the payload. */
export type EnvelopeAttributes = Omit<EventEnvelope, 'data'>;

/** What a new envelope takes besides its event, source and payload; absent fields are minted. */
export interface NewEnvelopeOptions {
  id?: string | undefined;
  correlationId?: string | undefined;
  causationId?: string | null | undefined;
  traceparent?: string | undefined;
  /** Kept only with a `traceparent`. */
  tracestate?: string | undefined;
  /** @default the payload's key field (see {@link eventKey}) */
  key?: string | undefined;
}

/**
 * A new envelope for `payload` of `event`, sent by `source`: a fresh id, the current time, a new
 * correlation unless one is given, and the ordering key. What `runtime.publish` sends and what the
 * test harness delivers.
 */
export function newEnvelope(
  event: EventIR,
  source: string,
  payload: unknown,
  options: NewEnvelopeOptions = {},
): EventEnvelope {
  const envelope: EventEnvelope = {
    id: options.id ?? randomUUID(),
    type: event.name,
    source,
    specversion: SPEC_VERSION,
    time: isoNow(),
    datacontenttype: CONTENT_TYPE,
    correlationId: options.correlationId ?? randomUUID(),
    causationId: options.causationId ?? null,
    eventVersion: event.version,
    data: payload,
  };
  if (options.traceparent !== undefined) {
    envelope.traceparent = options.traceparent;
    if (options.tracestate !== undefined) envelope.tracestate = options.tracestate;
  }
  const key = options.key ?? eventKey(event, payload);
  if (key !== undefined) envelope.key = key;
  return envelope;
}

let isoMs = Number.NaN;
let isoText = '';

/**
 * `new Date().toISOString()`, formatted once per millisecond: the same text (`new Date()` reads
 * the clock `Date.now()` reads), at a fraction of the cost when several events share a millisecond.
 */
function isoNow(): string {
  const now = Date.now();
  if (now !== isoMs) {
    isoText = new Date(now).toISOString();
    isoMs = now;
  }
  return isoText;
}

/**
 * The ordering key of a payload: its `event.key` field, a string as it is, any other value as its
 * JSON text (so two different objects never share a key, as `String()` would make them
 * `[object Object]`); undefined when the event has no key or the field is missing or null.
 */
export function eventKey(event: Pick<EventIR, 'key'>, payload: unknown): string | undefined {
  if (event.key === null || payload === null || typeof payload !== 'object') return undefined;
  const value = (payload as Record<string, unknown>)[event.key];
  if (value === undefined || value === null) return undefined;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

const RESERVED_HEADERS = new Set<string>([...Object.values(CE), CONTENT_TYPE_HEADER]);

/**
 * Throws `PublishOptionsError` when an extra header would overwrite an attribute, the content type
 * or an `ef-*` header.
 */
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

/**
 * The logical headers of an envelope in binary mode (plus `extra`, which must not clash; see
 * {@link assertExtraHeaders}): the attributes that are set, `datacontenttype` as `content-type`, and
 * the key as the `partitionkey` extension. `eventversion` is not sent (a consumer reads an event as
 * the version it declares).
 */
export function envelopeHeaders(envelope: EnvelopeAttributes, extra?: Record<string, string>): Headers {
  const headers: Headers = {
    [CE.id]: envelope.id,
    [CE.source]: envelope.source,
    [CE.type]: envelope.type,
    [CE.specversion]: SPEC_VERSION,
    [CONTENT_TYPE_HEADER]: CONTENT_TYPE,
  };
  if (envelope.time !== undefined) headers[CE.time] = envelope.time;
  headers[CE.correlationid] = envelope.correlationId;
  if (envelope.causationId !== null) headers[CE.causationid] = envelope.causationId;
  if (envelope.traceparent !== undefined) headers[CE.traceparent] = envelope.traceparent;
  if (envelope.tracestate !== undefined) headers[CE.tracestate] = envelope.tracestate;
  if (envelope.key !== undefined) headers[CE.partitionkey] = envelope.key;
  if (extra) {
    for (const name in extra) headers[name] = extra[name]!;
  }
  return headers;
}

/**
 * An envelope in the CloudEvents JSON event format: the same attributes as
 * {@link envelopeHeaders} sends, and the payload as `data`.
 */
export function structuredEvent(envelope: EventEnvelope): Record<string, unknown> {
  const event: Record<string, unknown> = {
    [CE.specversion]: SPEC_VERSION,
    [CE.id]: envelope.id,
    [CE.source]: envelope.source,
    [CE.type]: envelope.type,
    [CE.datacontenttype]: CONTENT_TYPE,
  };
  if (envelope.time !== undefined) event[CE.time] = envelope.time;
  event[CE.correlationid] = envelope.correlationId;
  if (envelope.causationId !== null) event[CE.causationid] = envelope.causationId;
  if (envelope.traceparent !== undefined) event[CE.traceparent] = envelope.traceparent;
  if (envelope.tracestate !== undefined) event[CE.tracestate] = envelope.tracestate;
  if (envelope.key !== undefined) event[CE.partitionkey] = envelope.key;
  // `undefined` has no JSON form; send it as null rather than drop the member.
  event.data = envelope.data === undefined ? null : envelope.data;
  return event;
}

/**
 * An envelope as a message in `mode` (the event's `contentMode` from the IR; binary when not
 * given): body, logical headers (`extra` included) and ordering key.
 */
export function encodeEnvelope(
  envelope: EventEnvelope,
  extra?: Record<string, string>,
  mode?: ContentMode,
): OutgoingMessage {
  let message: OutgoingMessage;
  if (mode === 'structured') {
    const headers: Headers = { [CONTENT_TYPE_HEADER]: STRUCTURED_CONTENT_TYPE };
    if (extra) {
      for (const name in extra) headers[name] = extra[name]!;
    }
    message = { body: Buffer.from(JSON.stringify(structuredEvent(envelope))), headers };
  } else {
    message = {
      // `undefined` has no JSON form; send it as null rather than fail.
      body: Buffer.from(JSON.stringify(envelope.data) ?? 'null'),
      headers: envelopeHeaders(envelope, extra),
    };
  }
  if (envelope.key !== undefined) message.key = envelope.key;
  return message;
}

// RFC 3339 as CloudEvents requires; cheaper and stricter than Date.parse alone.
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
// A positive integer as text: no sign, exponent, fraction or leading zero.
const POSITIVE_INTEGER = /^[1-9][0-9]{0,14}$/;

/**
 * Where the attributes of one event are read from: the logical headers (binary) or the members of
 * the JSON event (structured). Only own properties count (a JSON member `__proto__` is not one to inherit).
 */
type AttributeSource = Readonly<Record<string, unknown>>;

/**
 * What an event's source says of each attribute (and, structured, of its data), read in one pass
 * over the source's own keys into one shape: cheaper than a lookup per attribute name.
 */
class Members {
  id: unknown = undefined;
  source: unknown = undefined;
  type: unknown = undefined;
  specversion: unknown = undefined;
  time: unknown = undefined;
  datacontenttype: unknown = undefined;
  /** Binary mode: the `content-type` header. */
  contentType: unknown = undefined;
  correlationid: unknown = undefined;
  causationid: unknown = undefined;
  eventversion: unknown = undefined;
  traceparent: unknown = undefined;
  tracestate: unknown = undefined;
  partitionkey: unknown = undefined;
  /** Structured mode: the payload. */
  data: unknown = undefined;
  /** Structured mode: a binary payload, which eventform refuses. */
  dataBase64: unknown = undefined;
}

function readMembers(source: AttributeSource): Members {
  const m = new Members();
  const names = Object.keys(source);
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    switch (name) {
      case CE.id:
        m.id = source[name];
        break;
      case CE.source:
        m.source = source[name];
        break;
      case CE.type:
        m.type = source[name];
        break;
      case CE.specversion:
        m.specversion = source[name];
        break;
      case CE.time:
        m.time = source[name];
        break;
      case CE.datacontenttype:
        m.datacontenttype = source[name];
        break;
      case CONTENT_TYPE_HEADER:
        m.contentType = source[name];
        break;
      case CE.correlationid:
        m.correlationid = source[name];
        break;
      case CE.causationid:
        m.causationid = source[name];
        break;
      case CE.eventversion:
        m.eventversion = source[name];
        break;
      case CE.traceparent:
        m.traceparent = source[name];
        break;
      case CE.tracestate:
        m.tracestate = source[name];
        break;
      case CE.partitionkey:
        m.partitionkey = source[name];
        break;
      case 'data':
        m.data = source[name];
        break;
      case 'data_base64':
        m.dataBase64 = source[name];
        break;
    }
  }
  return m;
}

function stringAttribute(value: unknown, name: string, required: boolean): string | undefined {
  if (value === undefined || value === null || value === '') {
    if (required) throw new EnvelopeError(name, 'missing');
    return undefined;
  }
  if (typeof value !== 'string') throw new EnvelopeError(name, 'invalid', `expected a string, got ${typeof value}`);
  return value;
}

/** `application/json`, or any `+json` type, with or without parameters; case-insensitive. */
function isJsonMediaType(value: string): boolean {
  if (value === CONTENT_TYPE) return true; // what eventform sends, without the string work below
  const type = mediaType(value);
  return type === CONTENT_TYPE || type.endsWith('+json');
}

/** The media type of a content type, without parameters, lower case. */
function mediaType(value: string): string {
  if (value === STRUCTURED_CONTENT_TYPE) return STRUCTURED_MEDIA_TYPE; // what eventform sends
  const semicolon = value.indexOf(';');
  return (semicolon < 0 ? value : value.slice(0, semicolon)).trim().toLowerCase();
}

const STRUCTURED_MEDIA_TYPE = 'application/cloudevents+json';

/** The last `time` found valid: events of the same millisecond carry the same text. */
let validTime = '';

/** An RFC 3339 time that `Date.parse` reads, as CloudEvents requires of `time`. */
function isRfc3339(time: string): boolean {
  if (time === validTime) return true;
  if (!RFC3339.test(time) || Number.isNaN(Date.parse(time))) return false;
  validTime = time;
  return true;
}

/**
 * The attributes of one event. Throws {@link EnvelopeError} naming the first missing or invalid
 * attribute. Required: `id`, `source`, `type`, `specversion` (= 1.0). Optional: `time` (RFC 3339),
 * `datacontenttype` (JSON when present), `correlationid` (a fresh one when absent), `causationid`,
 * `eventversion` (a positive integer; `declaredVersion` when absent), `traceparent`, `tracestate`, `partitionkey`
 * (else `key`, the transport's key).
 */
function readAttributes(
  m: Members,
  contentType: unknown,
  declaredVersion: number,
  key: string | undefined,
): EnvelopeAttributes {
  const type = stringAttribute(m.type, CE.type, true)!;
  const id = stringAttribute(m.id, CE.id, true)!;
  const origin = stringAttribute(m.source, CE.source, true)!;
  const specversion = stringAttribute(m.specversion, CE.specversion, true)!;
  if (specversion !== SPEC_VERSION)
    throw new EnvelopeError(CE.specversion, 'invalid', `expected "1.0", got "${specversion}"`);
  const time = stringAttribute(m.time, CE.time, false);
  if (time !== undefined && !isRfc3339(time))
    throw new EnvelopeError(CE.time, 'invalid', `not an RFC 3339 time: "${time}"`);
  if (contentType !== undefined && contentType !== null && contentType !== '') {
    if (typeof contentType !== 'string' || !isJsonMediaType(contentType)) {
      throw new EnvelopeError(
        CE.datacontenttype,
        'invalid',
        `expected "${CONTENT_TYPE}" (or a +json type), got ${JSON.stringify(contentType)}`,
      );
    }
  }
  let eventVersion = declaredVersion;
  const version = m.eventversion;
  if (version !== undefined && version !== null && version !== '') {
    const text = typeof version === 'number' ? String(version) : version;
    if (typeof text !== 'string' || !POSITIVE_INTEGER.test(text)) {
      throw new EnvelopeError(
        CE.eventversion,
        'invalid',
        `expected a positive integer, got ${JSON.stringify(version)}`,
      );
    }
    eventVersion = Number(text);
  }
  const attributes: EnvelopeAttributes = {
    id,
    type,
    source: origin,
    specversion: SPEC_VERSION,
    datacontenttype: CONTENT_TYPE,
    correlationId: stringAttribute(m.correlationid, CE.correlationid, false) ?? randomUUID(),
    causationId: stringAttribute(m.causationid, CE.causationid, false) ?? null,
    eventVersion,
  };
  if (time !== undefined) attributes.time = time;
  const traceparent = stringAttribute(m.traceparent, CE.traceparent, false);
  if (traceparent !== undefined) attributes.traceparent = traceparent;
  const tracestate = stringAttribute(m.tracestate, CE.tracestate, false);
  if (tracestate !== undefined) attributes.tracestate = tracestate;
  const partitionKey = stringAttribute(m.partitionkey, CE.partitionkey, false) ?? key;
  if (partitionKey !== undefined) attributes.key = partitionKey;
  return attributes;
}

/**
 * Read the CloudEvents attributes of a binary-mode message from its logical headers (see
 * {@link decodeEvent} for the whole delivery). `datacontenttype` is the `content-type` header (or,
 * as older eventform versions and some SDKs also send it, a `datacontenttype` header). Throws
 * {@link EnvelopeError} naming the first missing or invalid attribute.
 */
export function readEnvelopeAttributes(headers: Headers, key?: string, declaredVersion = 1): EnvelopeAttributes {
  const m = readMembers(headers);
  return readAttributes(m, m.contentType ?? m.datacontenttype, declaredVersion, key);
}

/** The content mode a message was sent in, from its content type (the CloudEvents bindings' rule). */
export function contentModeOf(headers: Headers): ContentMode {
  const contentType = headers[CONTENT_TYPE_HEADER];
  return contentType !== undefined && mediaType(contentType).startsWith('application/cloudevents')
    ? 'structured'
    : 'binary';
}

/**
 * Parse a JSON body within `limits` (default: the runtime's defaults, 1 MiB and 128 levels).
 * Throws `BodyTooLargeError`, `InvalidEncodingError` or `InvalidJsonError`; see
 * {@link decodeJsonBody}.
 */
export function parseJsonBody(body: Buffer, limits?: BodyLimits): unknown {
  return decodeJsonBody(body, limits);
}

/** What {@link decodeEvent} needs to know about the consumer. */
export interface DecodeOptions {
  /** Bounds on the body, in either mode. @default 1 MiB, 128 levels (the runtime's defaults) */
  limits?: BodyLimits | undefined;
  /**
   * Checks the event type as soon as it is known (binary: before the body is parsed) and returns
   * the version the consumer declares for it, or an `Error` saying why the consumer does not take
   * it (the delivery is then `unknown-type`). @default every type is taken, as version 1
   */
  resolveType?: (type: string | undefined) => number | Error;
}

/** A delivery read as an event, or why it could not be (a poison message and its dead-letter reason). */
export type DecodedEvent =
  | { ok: true; mode: ContentMode; envelope: EventEnvelope }
  | { ok: false; mode: ContentMode; reason: DeadLetterReason; error: Error };

/**
 * Decode a delivery in either content mode, within bounds. Binary: the type is checked first, then
 * the attributes, then the body. Structured: the body first (the same size, UTF-8 and depth bounds,
 * one more level for the envelope around `data`), then the type and the attributes. Never throws
 * for what came over the wire: the result names the dead-letter reason. The payload is not
 * schema-checked here.
 */
export function decodeEvent(
  delivery: Pick<Delivery, 'body' | 'headers' | 'key'>,
  options: DecodeOptions = {},
): DecodedEvent {
  const headers = delivery.headers;
  const limits = options.limits ?? DEFAULT_BODY_LIMITS;
  const resolveType = options.resolveType ?? (() => 1);
  if (contentModeOf(headers) === 'binary') {
    const type = headers[CE.type];
    const version = resolveType(type || undefined);
    if (version instanceof Error) return { ok: false, mode: 'binary', reason: 'unknown-type', error: version };
    let attributes: EnvelopeAttributes;
    try {
      attributes = readEnvelopeAttributes(headers, delivery.key, version);
    } catch (error) {
      return { ok: false, mode: 'binary', reason: 'invalid-envelope', error: error as Error };
    }
    let data: unknown;
    try {
      data = decodeJsonBody(delivery.body, limits);
    } catch (error) {
      return { ok: false, mode: 'binary', reason: bodyReason(error), error: error as Error };
    }
    const envelope = attributes as EventEnvelope;
    envelope.data = data;
    return { ok: true, mode: 'binary', envelope };
  }
  return decodeStructured(delivery, headers[CONTENT_TYPE_HEADER]!, limits, resolveType);
}

function decodeStructured(
  delivery: Pick<Delivery, 'body' | 'key'>,
  contentType: string,
  limits: BodyLimits,
  resolveType: (type: string | undefined) => number | Error,
): DecodedEvent {
  const format = mediaType(contentType);
  if (format !== STRUCTURED_MEDIA_TYPE) {
    const why =
      format === 'application/cloudevents-batch+json'
        ? 'the batched content mode is not supported; send one event per message'
        : `event format "${format}" is not supported; eventform reads application/cloudevents+json`;
    return structuredFailure('invalid-envelope', new EnvelopeError('content-type', 'invalid', why));
  }
  let event: unknown;
  try {
    event = decodeJsonBody(delivery.body, structuredLimits(limits));
  } catch (error) {
    return structuredFailure(bodyReason(error), error as Error);
  }
  if (event === null || typeof event !== 'object' || Array.isArray(event)) {
    const what = event === null ? 'null' : Array.isArray(event) ? 'an array' : typeof event;
    return structuredFailure(
      'invalid-envelope',
      new EnvelopeError('event', 'invalid', `a structured-mode body must be a JSON object, got ${what}`),
    );
  }
  const members = readMembers(event as AttributeSource);
  const type = members.type;
  const version = resolveType(typeof type === 'string' && type !== '' ? type : undefined);
  if (version instanceof Error) return structuredFailure('unknown-type', version);
  let attributes: EnvelopeAttributes;
  try {
    attributes = readAttributes(members, members.datacontenttype, version, delivery.key);
    if (members.dataBase64 !== undefined) {
      throw new EnvelopeError('data_base64', 'invalid', 'eventform payloads are JSON; send them as "data"');
    }
  } catch (error) {
    return structuredFailure('invalid-envelope', error as Error);
  }
  const envelope = attributes as EventEnvelope;
  // No `data` member is an event without data: its payload is checked as `undefined`.
  envelope.data = members.data;
  return { ok: true, mode: 'structured', envelope };
}

function structuredFailure(reason: DeadLetterReason, error: Error): DecodedEvent {
  return { ok: false, mode: 'structured', reason, error };
}

/** The envelope around `data` is one level more than the payload itself may nest. */
const STRUCTURED_LIMITS = new WeakMap<BodyLimits, BodyLimits>();
function structuredLimits(limits: BodyLimits): BodyLimits {
  let out = STRUCTURED_LIMITS.get(limits);
  if (!out) {
    out = Object.freeze({ maxBodyBytes: limits.maxBodyBytes, maxJsonDepth: limits.maxJsonDepth + 1 });
    STRUCTURED_LIMITS.set(limits, out);
  }
  return out;
}

function bodyReason(error: unknown): DeadLetterReason {
  return error instanceof BodyTooLargeError
    ? 'too-large'
    : error instanceof InvalidEncodingError
      ? 'invalid-encoding'
      : 'invalid-json';
}

/**
 * Decode a delivery into an envelope (attributes + parsed payload, within the default body
 * limits), in either content mode. Throws the error {@link decodeEvent} reports ({@link EnvelopeError},
 * `BodyTooLargeError`, `InvalidEncodingError`, `InvalidJsonError`); the payload is not
 * schema-checked here.
 */
export function decodeDelivery<TData = unknown>(
  delivery: Pick<Delivery, 'body' | 'headers' | 'key'>,
): EventEnvelope<string, TData> {
  const decoded = decodeEvent(delivery);
  if (!decoded.ok) throw decoded.error;
  return decoded.envelope as EventEnvelope<string, TData>;
}

/** The attempt of a delivery for one consumer, as {@link readAttempt} reads it. */
export interface AttemptReading {
  /** 1-based, within `1..retry.attempts` of the consumer. */
  attempt: number;
  /** Set when `ef-attempt` was not taken as sent: what it said and what was made of it. */
  problem?: string | undefined;
}

// A positive integer as the runtime writes it: no sign, exponent, fraction or leading zero.
const ATTEMPT = /^[1-9][0-9]*$/;
/** What nearly every delivery reads: one object, not one per message. */
const FIRST_ATTEMPT: AttemptReading = Object.freeze({ attempt: 1 });

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
  if (raw === undefined || headers[EF.retryFor] !== consumer.id) return FIRST_ATTEMPT;
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
