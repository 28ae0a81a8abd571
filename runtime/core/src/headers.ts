/**
 * Header names, in one place. The runtime and transports speak *logical* header names; each
 * binding maps them to its wire names here and nowhere else.
 *
 * CloudEvents 1.0 attributes travel as the CloudEvents protocol bindings say. In binary mode the
 * payload is the message body, `datacontenttype` is the message's content type (the logical
 * `content-type` header: the Kafka `content-type` header, the AMQP `content-type` property) and
 * every other attribute is a header with the binding's prefix (`ce_` in the Kafka binding,
 * `cloudEvents_` in the AMQP binding). In structured mode the whole event is the body and
 * `content-type` is the only header (see envelope.ts). The runtime's own bookkeeping (attempts,
 * dead-letter record) uses `ef-*` headers, which are never prefixed.
 */

/**
 * The message's content type, as a logical header: in binary mode the event's `datacontenttype`,
 * in structured mode the event format (`application/cloudevents+json`). Never prefixed.
 */
export const CONTENT_TYPE_HEADER = 'content-type';

/** CloudEvents attributes and the extensions eventform sets, by logical name. */
export const CE = {
  id: 'id',
  source: 'source',
  type: 'type',
  specversion: 'specversion',
  time: 'time',
  datacontenttype: 'datacontenttype',
  correlationid: 'correlationid',
  causationid: 'causationid',
  eventversion: 'eventversion',
  /** The CloudEvents distributed-tracing extension: W3C Trace Context of the message's creation. */
  traceparent: 'traceparent',
  tracestate: 'tracestate',
  /** The Partitioning extension: the event's ordering key (on Kafka also the record key). */
  partitionkey: 'partitionkey',
} as const;

export type CloudEventAttribute = (typeof CE)[keyof typeof CE];

const CE_ATTRIBUTES = new Set<string>(Object.values(CE));

/** The runtime's own headers. */
export const EF = {
  /** 1-based attempt number of this delivery for the consuming consumer. */
  attempt: 'ef-attempt',
  /** Time of the first failed attempt (ISO 8601), carried across retries. */
  firstFailure: 'ef-first-failure',
  /** Consumer id (`service.handler`) a retry copy is meant for. */
  retryFor: 'ef-retry-for',
  /** Earliest time (epoch ms) a retry copy may be handled. */
  dueAt: 'ef-due-at',
  /** Where the message was first published (exchange/routing key or topic), kept across retries. */
  origin: 'ef-origin',
  dlReason: 'ef-dl-reason',
  dlError: 'ef-dl-error',
  dlStack: 'ef-dl-stack',
  dlAttempts: 'ef-dl-attempts',
  dlOrigin: 'ef-dl-origin',
  dlConsumer: 'ef-dl-consumer',
  dlFirstFailure: 'ef-dl-first-failure',
  dlLastFailure: 'ef-dl-last-failure',
  dlCorrelationId: 'ef-dl-correlation-id',
  /** Set by `eventform dlq replay` on the copy it sends back: the time (ISO 8601) of the replay. */
  replayed: 'ef-replayed',
} as const;

export type Binding = 'kafka' | 'amqp' | 'memory';

/** Wire prefix of CloudEvents attributes per binding. The memory transport keeps logical names. */
export const CE_PREFIX: Record<Binding, string> = {
  kafka: 'ce_',
  amqp: 'cloudEvents_',
  memory: '',
};

/**
 * Prefixes a binding also reads (never writes): the AMQP binding allows `cloudEvents:` as well and
 * asks consumers to understand both separators.
 */
const CE_PREFIX_READ_ALSO: Partial<Record<Binding, string>> = { amqp: 'cloudEvents:' };

/** The two directions of a binding's mapping of CloudEvents attribute names. */
export interface AttributeNames {
  /** Logical → wire (`id` → `ce_id`); other names are not in it. */
  toWire: ReadonlyMap<string, string>;
  /** Wire → logical (`ce_id` → `id`), plus the names read as well (`alsoRead`). */
  fromWire: ReadonlyMap<string, string>;
}

/**
 * The CloudEvents attribute names of a binding whose attributes travel as `<prefix><attribute>`
 * headers. The bindings of runtime/core ({@link Binding}) are built with it; a broker package with
 * a binding of its own calls it once (the CloudEvents NATS and HTTP bindings use `ce-`).
 */
export function attributeNames(prefix: string, alsoRead?: string): AttributeNames {
  const toWire = new Map([...CE_ATTRIBUTES].map((name) => [name, prefix + name]));
  const fromWire = new Map([...CE_ATTRIBUTES].map((name): [string, string] => [prefix + name, name]));
  if (alsoRead !== undefined) for (const name of CE_ATTRIBUTES) fromWire.set(alsoRead + name, name);
  return { toWire, fromWire };
}

// Logical ↔ wire names of the CloudEvents attributes per binding, built once: the conversions run
// for every message sent and received.
const TO_WIRE = new Map<Binding, ReadonlyMap<string, string>>();
const FROM_WIRE = new Map<Binding, ReadonlyMap<string, string>>();
for (const [binding, prefix] of Object.entries(CE_PREFIX) as [Binding, string][]) {
  const names = attributeNames(prefix, CE_PREFIX_READ_ALSO[binding]);
  TO_WIRE.set(binding, names.toWire);
  FROM_WIRE.set(binding, names.fromWire);
}

/**
 * The wire name of each CloudEvents attribute for a binding (`id` → `ce_id`), for a binding that
 * maps headers itself in one pass with other work; other names stay as they are.
 */
export function wireNames(binding: Binding): ReadonlyMap<string, string> {
  return TO_WIRE.get(binding)!;
}

/** The reverse of {@link wireNames} (`ce_id` → `id`), plus the names a binding also reads (`cloudEvents:id`). */
export function logicalNames(binding: Binding): ReadonlyMap<string, string> {
  return FROM_WIRE.get(binding)!;
}

/**
 * Sets `out[name] = value` as an own, enumerable property whatever the name: a header named
 * `__proto__` from the wire is a header like any other, where plain assignment would try to
 * replace the object's prototype and drop the value. Every copy of untrusted header names goes
 * through it.
 */
export function setHeader<T>(out: Record<string, T>, name: string, value: T): void {
  if (name === '__proto__')
    Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
  else out[name] = value;
}

/** Logical headers → wire headers for a binding. */
export function toWireHeaders(headers: Record<string, string>, binding: Binding): Record<string, string> {
  const names = wireNames(binding);
  const out: Record<string, string> = {};
  for (const name of Object.keys(headers)) setHeader(out, names.get(name) ?? name, headers[name]!);
  return out;
}

/**
 * Wire headers → logical headers. Values that are not strings (Buffers from Kafka, numbers from
 * AMQP) are converted; `undefined`/`null` ones dropped. Unknown headers pass through unchanged,
 * so a dead-lettered message keeps whatever the producer sent.
 */
export function fromWireHeaders(
  headers: Record<string, unknown> | undefined,
  binding: Binding,
): Record<string, string> {
  const names = logicalNames(binding);
  const out: Record<string, string> = {};
  if (!headers) return out;
  for (const name of Object.keys(headers)) {
    const value = headerValueToString(headers[name]);
    if (value !== undefined) setHeader(out, names.get(name) ?? name, value);
  }
  return out;
}

/**
 * A wire header value as a string. An AMQP timestamp (amqplib's `{ '!': 'timestamp', value }`,
 * seconds) becomes RFC 3339, the canonical string of a CloudEvents Timestamp, since the AMQP
 * binding lets senders use native AMQP types; numbers and booleans become their canonical strings.
 */
export function headerValueToString(raw: unknown): string | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === 'string') return raw;
  if (Buffer.isBuffer(raw)) return raw.toString(); // UTF-8; without the argument Node takes a shorter path
  if (Array.isArray(raw)) return raw.map((v) => headerValueToString(v) ?? '').join(',');
  if (typeof raw === 'object') {
    const tagged = raw as { '!'?: unknown; value?: unknown };
    if (tagged['!'] === 'timestamp' && typeof tagged.value === 'number') {
      const date = new Date(tagged.value * 1000);
      if (!Number.isNaN(date.getTime())) return date.toISOString().replace('.000Z', 'Z');
    }
    return JSON.stringify(raw);
  }
  return String(raw);
}
