/**
 * The raw sides of the broker benches send "eventform's wire format" so that eventform / raw is the
 * framework's own cost; that only holds while they send what eventform sends. Compared here with
 * what the runtime and the transports' own mappings put on the wire, attribute for attribute.
 */
import { describe, expect, it } from 'vitest';
import { encodeEnvelope, toWireHeaders, type EventEnvelope } from '@eventform/runtime';
import { publishProperties } from '../../runtime/rabbitmq/src/wire.js';
import {
  JSON_CONTENT_TYPE,
  STRUCTURED_CONTENT_TYPE,
  binaryHeaders,
  eventAttributes,
  samplePayload,
  structuredBody,
} from '../../bench/support.js';
import { BENCH_EVENT, BENCH_PRODUCER } from '../../bench/order-topology.js';

/** The envelope the runtime builds for the same attributes. */
function envelopeOf(a: Record<string, string>, data: unknown): EventEnvelope {
  return {
    id: a.id!,
    type: a.type!,
    source: a.source!,
    specversion: '1.0',
    time: a.time!,
    datacontenttype: 'application/json',
    correlationId: a.correlationid!,
    causationId: null,
    eventVersion: 1,
    key: a.partitionkey!,
    data,
  };
}

describe('the raw bench sides send what eventform sends', () => {
  const payload = samplePayload(7);
  const a = eventAttributes(7);
  const envelope = envelopeOf(a, payload);

  it('names the bench event as the eventform side publishes it', () => {
    expect([a.source, a.type, a.partitionkey]).toEqual([BENCH_PRODUCER, BENCH_EVENT, payload.orderId]);
  });

  it('Kafka, binary: the same headers in the same order', () => {
    const message = encodeEnvelope(envelope, undefined, 'binary');
    expect(binaryHeaders('ce_', a)).toEqual(toWireHeaders(message.headers, 'kafka'));
    expect(Object.keys(binaryHeaders('ce_', a))).toEqual(Object.keys(toWireHeaders(message.headers, 'kafka')));
    expect(JSON.stringify(payload)).toBe(message.body.toString());
  });

  it('Kafka, structured: the same header and the same body', () => {
    const message = encodeEnvelope(envelope, undefined, 'structured');
    expect(toWireHeaders(message.headers, 'kafka')).toEqual({ 'content-type': STRUCTURED_CONTENT_TYPE });
    expect(structuredBody(a, payload)).toBe(message.body.toString());
  });

  it('AMQP, binary: the same headers and properties', () => {
    const props = publishProperties(encodeEnvelope(envelope, undefined, 'binary').headers);
    expect(binaryHeaders('cloudEvents_', a)).toEqual(props.headers);
    expect(Object.keys(binaryHeaders('cloudEvents_', a))).toEqual(Object.keys(props.headers!));
    expect(props).toMatchObject({ contentType: JSON_CONTENT_TYPE, messageId: a.id, type: a.type, appId: a.source });
  });

  it('AMQP, structured: the content type alone', () => {
    const props = publishProperties(encodeEnvelope(envelope, undefined, 'structured').headers);
    expect(props.contentType).toBe(STRUCTURED_CONTENT_TYPE);
    expect(props.headers).toEqual({});
  });
});
