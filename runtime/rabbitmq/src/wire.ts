/**
 * Logical messages ⇄ AMQP messages, per the CloudEvents AMQP protocol binding: `datacontenttype`
 * (the logical `content-type` header) is the AMQP `content-type` property, every other CloudEvents
 * attribute a `cloudEvents_` header (runtime/core/headers.ts; `cloudEvents:` is read too), the key
 * the `partitionkey` extension (`cloudEvents_partitionkey`; AMQP has no key field). In structured
 * mode the content type is the event format and the attributes are in the body. The runtime's own
 * headers (`ef-*`) pass through unprefixed.
 */
import type { ConsumeMessage, Options } from 'amqplib';
import {
  CE,
  CONTENT_TYPE_HEADER,
  EF,
  headerValueToString,
  logicalNames,
  setHeader,
  wireNames,
} from '@eventform/runtime';
import type { Delivery, Headers } from '@eventform/runtime';
import type { QueueType } from './ir.js';
import { UNDECODABLE } from './header-frames.js';

/**
 * The header older eventform versions carried `OutgoingMessage.key` in. Still read (as the
 * `partitionkey` attribute, for a mixed rollout); no longer written.
 */
export const KEY_HEADER = 'ef-key';

// Per message the binding maps names with one lookup and reuses these strings (runtime/core/headers.ts).
const WIRE_NAME = wireNames('amqp');
const LOGICAL_NAME = logicalNames('amqp');
/** The AMQP header the key travels in (`cloudEvents_partitionkey`); partition exchanges hash it. */
export const PARTITION_KEY_HEADER = WIRE_NAME.get(CE.partitionkey)!;

/**
 * Broker bookkeeping headers that never reach the runtime and are never re-published: the
 * attempt count is the runtime's own `ef-attempt`, and `x-death` would grow with every retry.
 */
function isBrokerHeader(name: string): boolean {
  // Cheap first test: this runs for every header of every message.
  if (name.charCodeAt(0) !== 120 /* x */ || name.charCodeAt(1) !== 45 /* - */) return false;
  return (
    name === 'x-death' ||
    name.startsWith('x-first-death-') ||
    name.startsWith('x-last-death-') ||
    name === 'x-delivery-count'
  );
}

/**
 * Properties of a message published by this binding: persistent, the logical `content-type` as the
 * AMQP property, CloudEvents attributes as `cloudEvents_` headers. `key` (the transport's
 * `OutgoingMessage.key`) becomes `cloudEvents_partitionkey` when the headers do not carry the
 * attribute already and the message is in binary mode (a structured event holds it in its body).
 * The AMQP `message-id`, `type`, `app-id` and `timestamp` properties repeat the event's id, type,
 * source and time for RabbitMQ tooling, where the headers have them.
 */
export function publishProperties(headers: Headers, key?: string, timestampMs = Date.now()): Options.Publish {
  // toWireHeaders in one pass, without the content type and the broker's headers.
  const wire: Record<string, string> = {};
  for (const name in headers) {
    if (name !== CONTENT_TYPE_HEADER && !isBrokerHeader(name)) wire[WIRE_NAME.get(name) ?? name] = headers[name]!;
  }
  const contentType = headers[CONTENT_TYPE_HEADER];
  if (key !== undefined && wire[PARTITION_KEY_HEADER] === undefined && !isStructured(contentType)) {
    wire[PARTITION_KEY_HEADER] = key;
  }
  const declaredTime = headers[CE.time];
  const time = declaredTime ? Date.parse(declaredTime) : Number.NaN;
  const props: Options.Publish = {
    persistent: true,
    headers: wire,
    // AMQP timestamps are whole seconds.
    timestamp: Math.floor((Number.isFinite(time) ? time : timestampMs) / 1000),
  };
  if (contentType) props.contentType = contentType;
  if (headers[CE.id]) props.messageId = headers[CE.id];
  if (headers[CE.type]) props.type = headers[CE.type];
  if (headers[CE.source]) props.appId = headers[CE.source];
  return props;
}

function isStructured(contentType: string | undefined): boolean {
  return contentType !== undefined && /^\s*application\/cloudevents/i.test(contentType);
}

/**
 * The delivery the runtime sees for an AMQP message consumed from a queue of `queueType`. Never
 * throws: a message whose headers could not be read (see header-frames.ts) or converted comes out
 * with `undecodable` set and the headers that could be.
 */
export function toDelivery(msg: ConsumeMessage, queueType: QueueType): Delivery {
  const properties = msg.properties as ConsumeMessage['properties'] & { [UNDECODABLE]?: string };
  const raw = (properties.headers ?? {}) as Record<string, unknown>;
  // fromWireHeaders in one pass, taking the broker's headers off.
  const headers: Headers = {};
  let legacyKey: string | undefined;
  let deliveryCount: unknown;
  let undecodable = properties[UNDECODABLE];
  try {
    for (const name in raw) {
      const value = raw[name];
      if (name === KEY_HEADER) legacyKey = keyValue(value);
      else if (name === 'x-delivery-count') deliveryCount = value;
      else if (isBrokerHeader(name)) continue;
      else {
        // Native AMQP values (a timestamp, a long, a boolean) as their CloudEvents canonical strings.
        const text = typeof value === 'string' ? value : headerValueToString(value);
        if (text !== undefined) setHeader(headers, LOGICAL_NAME.get(name) ?? name, text);
      }
    }
  } catch (err) {
    undecodable ??= `headers could not be converted: ${err instanceof Error ? err.message : String(err)}`;
  }
  if (typeof properties.contentType === 'string' && properties.contentType !== '') {
    headers[CONTENT_TYPE_HEADER] = properties.contentType;
  }
  // A message from an older eventform version: its key is the partitionkey attribute, and retry or
  // dead-letter copies carry it on as one.
  if (legacyKey !== undefined && headers[CE.partitionkey] === undefined) headers[CE.partitionkey] = legacyKey;
  const key = headers[CE.partitionkey];
  const delivery: Delivery = {
    body: msg.content,
    headers,
    origin: headers[EF.origin] ?? `${msg.fields.exchange}/${msg.fields.routingKey}`,
    redelivered: msg.fields.redelivered,
  };
  if (key !== undefined) delivery.key = key;
  const count = brokerDeliveryCount(queueType, msg.fields.redelivered, deliveryCount);
  if (count !== undefined) delivery.deliveryCount = count;
  if (undecodable !== undefined) delivery.undecodable = undecodable;
  return delivery;
}

/** Above this, a delivery count says nothing more to the runtime (whose limit is far lower); clamped. */
export const MAX_DELIVERY_COUNT = 1_000_000;

/**
 * How many earlier deliveries of a message ended without an outcome, as the broker counted them, or
 * `undefined` where the broker does not count. Only a quorum queue counts, in `x-delivery-count`,
 * and it sets that header only on a redelivery (overwriting whatever the publisher put there): on a
 * first delivery, and on any classic queue, the header is the publisher's, so it is ignored — else a
 * forged count would dead-letter a valid event unhandled. What is believed must be a non-negative
 * integer; it is clamped to {@link MAX_DELIVERY_COUNT}.
 */
export function brokerDeliveryCount(queueType: QueueType, redelivered: boolean, header: unknown): number | undefined {
  if (queueType !== 'quorum' || !redelivered) return undefined;
  if (typeof header !== 'number' || !Number.isSafeInteger(header) || header < 0) return undefined;
  return Math.min(header, MAX_DELIVERY_COUNT);
}

function keyValue(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return undefined;
}
