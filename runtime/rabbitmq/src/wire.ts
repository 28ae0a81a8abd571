/**
 * Logical messages ⇄ AMQP messages: properties, CloudEvents headers (`cloudEvents_` prefix via
 * runtime/core/headers.ts), and the binding's private headers.
 */
import type { ConsumeMessage, Options } from 'amqplib';
import { CE, EF, fromWireHeaders, logicalNames, wireNames } from '@eventform/runtime';
import type { Delivery, Headers } from '@eventform/runtime';
import { UNDECODABLE } from './header-frames.js';

/**
 * Wire header carrying `OutgoingMessage.key` (AMQP has no key field). Private to this binding:
 * it is taken off before the runtime sees the headers and put back on retry/dead-letter copies.
 */
export const KEY_HEADER = 'ef-key';

// Per message the binding maps names with one lookup and reuses these strings (runtime/core/headers.ts).
const WIRE_NAME = wireNames('amqp');
const LOGICAL_NAME = logicalNames('amqp');

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

/** Properties of a message published by this binding: persistent JSON, CloudEvents headers. */
export function publishProperties(
  headers: Headers,
  key: string | undefined,
  timestampMs = Date.now(),
): Options.Publish {
  // toWireHeaders in one pass, without the broker's headers.
  const wire: Record<string, string> = {};
  for (const name in headers) {
    if (!isBrokerHeader(name)) wire[WIRE_NAME.get(name) ?? name] = headers[name]!;
  }
  if (key !== undefined) wire[KEY_HEADER] = key;
  const declaredTime = headers[CE.time];
  const time = declaredTime ? Date.parse(declaredTime) : Number.NaN;
  const props: Options.Publish = {
    persistent: true,
    contentType: headers[CE.datacontenttype] ?? 'application/json',
    headers: wire,
    // AMQP timestamps are whole seconds.
    timestamp: Math.floor((Number.isFinite(time) ? time : timestampMs) / 1000),
  };
  if (headers[CE.id]) props.messageId = headers[CE.id];
  if (headers[CE.type]) props.type = headers[CE.type];
  if (headers[CE.source]) props.appId = headers[CE.source];
  return props;
}

/**
 * The delivery the runtime sees for an AMQP message. Never throws: a message whose headers could not
 * be read (see header-frames.ts) or converted comes out with `undecodable` set and the headers that
 * could be.
 */
export function toDelivery(msg: ConsumeMessage): Delivery {
  const properties = msg.properties as ConsumeMessage['properties'] & { [UNDECODABLE]?: string };
  const raw = (properties.headers ?? {}) as Record<string, unknown>;
  // fromWireHeaders in one pass, taking the key and the broker's headers off.
  const headers: Headers = {};
  let key: string | undefined;
  let deliveryCount: number | undefined;
  let undecodable = properties[UNDECODABLE];
  try {
    for (const name in raw) {
      const value = raw[name];
      if (name === KEY_HEADER) key = keyValue(value);
      else if (name === 'x-delivery-count') deliveryCount = Number(value);
      else if (isBrokerHeader(name)) continue;
      else if (typeof value === 'string') headers[LOGICAL_NAME.get(name) ?? name] = value;
      else Object.assign(headers, fromWireHeaders({ [name]: value }, 'amqp'));
    }
  } catch (err) {
    undecodable ??= `headers could not be converted: ${err instanceof Error ? err.message : String(err)}`;
  }
  const delivery: Delivery = {
    body: msg.content,
    headers,
    origin: headers[EF.origin] ?? `${msg.fields.exchange}/${msg.fields.routingKey}`,
    redelivered: msg.fields.redelivered,
  };
  if (key !== undefined) delivery.key = key;
  // Quorum queues count deliveries that ended without an ack (crash, lost channel, requeue).
  if (deliveryCount !== undefined && Number.isFinite(deliveryCount)) delivery.deliveryCount = deliveryCount;
  if (undecodable !== undefined) delivery.undecodable = undecodable;
  return delivery;
}

export function keyOf(msg: ConsumeMessage): string | undefined {
  return keyValue((msg.properties.headers as Record<string, unknown> | undefined)?.[KEY_HEADER]);
}

function keyValue(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return undefined;
}
