/**
 * Logical messages ⇄ AMQP messages: properties, CloudEvents headers (`cloudEvents_` prefix via
 * runtime/core/headers.ts), and the binding's private headers.
 */
import type { ConsumeMessage, Options } from 'amqplib';
import { CE, EF, fromWireHeaders, toWireHeaders } from '../../core/headers.js';
import type { Delivery, Headers } from '../../core/transport.js';

/**
 * Wire header carrying `OutgoingMessage.key` (AMQP has no key field). Private to this binding:
 * it is taken off before the runtime sees the headers and put back on retry/dead-letter copies.
 */
export const KEY_HEADER = 'ef-key';

/**
 * Broker bookkeeping headers that never reach the runtime and are never re-published: the
 * attempt count is the runtime's own `ef-attempt`, and `x-death` would grow with every retry.
 */
function isBrokerHeader(name: string): boolean {
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
  const wire: Record<string, string> = toWireHeaders(withoutBrokerHeaders(headers), 'amqp');
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

/** The delivery the runtime sees for an AMQP message. */
export function toDelivery(msg: ConsumeMessage): Delivery {
  const raw = (msg.properties.headers ?? {}) as Record<string, unknown>;
  const rest: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (name !== KEY_HEADER && !isBrokerHeader(name)) rest[name] = value;
  }
  const headers = fromWireHeaders(rest, 'amqp');
  const key = keyOf(msg);
  const delivery: Delivery = {
    body: msg.content,
    headers,
    origin: headers[EF.origin] ?? `${msg.fields.exchange}/${msg.fields.routingKey}`,
    redelivered: msg.fields.redelivered,
  };
  if (key !== undefined) delivery.key = key;
  return delivery;
}

export function keyOf(msg: ConsumeMessage): string | undefined {
  const value: unknown = (msg.properties.headers as Record<string, unknown> | undefined)?.[KEY_HEADER];
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return undefined;
}

function withoutBrokerHeaders(headers: Headers): Headers {
  const out: Headers = {};
  for (const [name, value] of Object.entries(headers)) if (!isBrokerHeader(name)) out[name] = value;
  return out;
}
