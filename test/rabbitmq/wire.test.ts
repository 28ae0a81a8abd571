/** Logical message ⇄ AMQP properties mapping (pure). */
import type { ConsumeMessage } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { EF } from '../../runtime/core/src/headers.js';
import { UNDECODABLE } from '../../runtime/rabbitmq/src/header-frames.js';
import {
  KEY_HEADER,
  MAX_DELIVERY_COUNT,
  brokerDeliveryCount,
  publishProperties,
  toDelivery,
} from '../../runtime/rabbitmq/src/wire.js';
import { eventHeaders } from './helpers.js';

function message(headers: Record<string, unknown>, fields: Partial<ConsumeMessage['fields']> = {}): ConsumeMessage {
  return {
    content: Buffer.from('{}'),
    fields: {
      deliveryTag: 1,
      redelivered: false,
      exchange: 'shop.events',
      routingKey: 'OrderCreated',
      consumerTag: 'c',
      ...fields,
    },
    properties: { headers } as ConsumeMessage['properties'],
  };
}

describe('publishProperties', () => {
  it('maps binary mode per the CloudEvents AMQP binding: content-type property, cloudEvents_ headers', () => {
    const headers = eventHeaders('OrderCreated', 'evt-1', {
      time: '2024-05-01T10:00:00.500Z',
      partitionkey: 'order-9',
    });
    const props = publishProperties(headers, 'order-9');
    expect(props).toMatchObject({
      persistent: true,
      contentType: 'application/json',
      messageId: 'evt-1',
      type: 'OrderCreated',
      appId: 'producer',
      timestamp: Date.parse('2024-05-01T10:00:00Z') / 1000,
    });
    expect(props.headers).toEqual({
      cloudEvents_id: 'evt-1',
      cloudEvents_type: 'OrderCreated',
      cloudEvents_source: 'producer',
      cloudEvents_specversion: '1.0',
      cloudEvents_time: '2024-05-01T10:00:00.500Z',
      cloudEvents_correlationid: 'evt-1',
      cloudEvents_partitionkey: 'order-9',
      [EF.attempt]: '1',
    });
  });

  it('carries a key given apart from the headers as cloudEvents_partitionkey, in binary mode only', () => {
    expect(publishProperties({ id: 'x' }, 'k').headers).toEqual({ cloudEvents_id: 'x', cloudEvents_partitionkey: 'k' });
    const structured = publishProperties({ 'content-type': 'application/cloudevents+json; charset=utf-8' }, 'k');
    expect(structured).toMatchObject({ contentType: 'application/cloudevents+json; charset=utf-8', headers: {} });
    expect(structured.headers).toEqual({});
    expect(structured).not.toHaveProperty('messageId');
  });

  it('sets no content type a message did not have', () => {
    expect(publishProperties({ id: 'x' })).not.toHaveProperty('contentType');
  });

  it('never re-publishes broker bookkeeping headers', () => {
    const props = publishProperties(
      { id: 'x', 'x-death': '[...]', 'x-first-death-queue': 'q', 'x-delivery-count': '2', 'x-custom': 'kept' },
      undefined,
    );
    expect(Object.keys(props.headers as object).sort()).toEqual(['cloudEvents_id', 'x-custom']);
  });
});

describe('toDelivery', () => {
  it('maps wire headers back to logical names, the content-type property to the header, and drops x-death', () => {
    const msg = message({
      cloudEvents_id: 'evt-1',
      cloudEvents_type: 'OrderCreated',
      cloudEvents_partitionkey: 'order-9',
      [EF.attempt]: '2',
      'x-death': [{ count: 1, queue: 'q.retry' }],
      'x-first-death-reason': 'expired',
      'x-custom': 'kept',
    });
    msg.properties.contentType = 'application/json';
    const delivery = toDelivery(msg, 'quorum');
    expect(delivery.headers).toEqual({
      id: 'evt-1',
      type: 'OrderCreated',
      partitionkey: 'order-9',
      'content-type': 'application/json',
      [EF.attempt]: '2',
      'x-custom': 'kept',
    });
    expect(delivery.key).toBe('order-9');
    expect(delivery.origin).toBe('shop.events/OrderCreated');
    expect(delivery.redelivered).toBe(false);
  });

  it('reports the delivery count a quorum queue set on a redelivery, which the runtime uses to end crash loops', () => {
    const redelivered = { redelivered: true };
    expect(
      toDelivery(message({ cloudEvents_id: 'a', 'x-delivery-count': 3 }, redelivered), 'quorum').deliveryCount,
    ).toBe(3);
    const first = toDelivery(message({ cloudEvents_id: 'a' }), 'quorum');
    expect(first.deliveryCount).toBeUndefined();
    expect(first.headers).not.toHaveProperty('x-delivery-count');
  });

  it('ignores x-delivery-count where the publisher, not the broker, set it', () => {
    // A first delivery (the broker sets the header only on redeliveries) and any classic queue.
    expect(toDelivery(message({ 'x-delivery-count': 100 }), 'quorum').deliveryCount).toBeUndefined();
    expect(
      toDelivery(message({ 'x-delivery-count': 100 }, { redelivered: true }), 'classic').deliveryCount,
    ).toBeUndefined();
    expect(toDelivery(message({ 'x-delivery-count': 100 }), 'classic').headers).toEqual({});
  });

  it('believes only a non-negative integer count, clamped', () => {
    const count = (header: unknown) => brokerDeliveryCount('quorum', true, header);
    expect([0, 1, 19, 20].map(count)).toEqual([0, 1, 19, 20]);
    for (const forged of [-1, 1.5, Number.NaN, Infinity, '3', null, undefined, 2 ** 53, { '!': 'long', value: 3 }]) {
      expect(count(forged), String(forged)).toBeUndefined();
    }
    expect(count(MAX_DELIVERY_COUNT + 1)).toBe(MAX_DELIVERY_COUNT);
    expect(count(Number.MAX_SAFE_INTEGER)).toBe(MAX_DELIVERY_COUNT);
  });

  it('passes on why the headers could not be decoded, with those that could', () => {
    const msg = message({ cloudEvents_id: 'a' });
    (msg.properties as unknown as Record<symbol, string>)[UNDECODABLE] =
      'header "deep" is nested deeper than 32 levels';
    const delivery = toDelivery(msg, 'quorum');
    expect(delivery.undecodable).toBe('header "deep" is nested deeper than 32 levels');
    expect(delivery.headers).toEqual({ id: 'a' });
    expect(toDelivery(message({ cloudEvents_id: 'a' }), 'quorum').undecodable).toBeUndefined();
  });

  it('never throws: a header that cannot be converted makes the delivery undecodable', () => {
    const hostile = {
      toJSON: () => {
        throw new Error('no');
      },
    };
    const delivery = toDelivery(message({ cloudEvents_id: 'a', odd: hostile }), 'classic');
    expect(delivery.undecodable).toMatch(/^headers could not be converted: no/);
    expect(delivery.headers).toEqual({ id: 'a' });
  });

  it('names the original exchange for retries coming back through the default exchange', () => {
    const retried = toDelivery(
      message({ [EF.origin]: 'shop.events/OrderCreated' }, { exchange: '', routingKey: 'shop.a.b', redelivered: true }),
      'quorum',
    );
    expect(retried.origin).toBe('shop.events/OrderCreated');
    expect(retried.redelivered).toBe(true);
    const raw = toDelivery(message({}, { exchange: '', routingKey: 'shop.a.b' }), 'classic');
    expect(raw.origin).toBe('/shop.a.b');
    expect(raw.key).toBeUndefined();
  });
});

describe('toDelivery: what other AMQP producers send', () => {
  it('reads the cloudEvents: prefix too', () => {
    const delivery = toDelivery(
      message({ 'cloudEvents:id': 'e', 'cloudEvents:type': 'T', 'cloudEvents:specversion': '1.0' }),
      'classic',
    );
    expect(delivery.headers).toEqual({ id: 'e', type: 'T', specversion: '1.0' });
  });

  it('reads native AMQP values as CloudEvents canonical strings: timestamp, long, boolean', () => {
    const delivery = toDelivery(
      message({
        cloudEvents_time: { '!': 'timestamp', value: 1714557600 },
        cloudEvents_eventversion: 3,
        cloudEvents_sampled: true,
      }),
      'classic',
    );
    expect(delivery.headers).toEqual({ time: '2024-05-01T10:00:00Z', eventversion: '3', cloudEvents_sampled: 'true' });
  });

  it('takes the ef-key of older eventform versions as the partitionkey, so copies carry it on', () => {
    const delivery = toDelivery(message({ cloudEvents_id: 'e', [KEY_HEADER]: 'k-old' }), 'quorum');
    expect(delivery.key).toBe('k-old');
    expect(delivery.headers).toEqual({ id: 'e', partitionkey: 'k-old' });
    expect(publishProperties(delivery.headers).headers).toEqual({
      cloudEvents_id: 'e',
      cloudEvents_partitionkey: 'k-old',
    });
  });

  it('keeps a structured message as it came: the content type, no attributes', () => {
    const msg = message({});
    msg.properties.contentType = 'application/cloudevents+json; charset=utf-8';
    const delivery = toDelivery(msg, 'quorum');
    expect(delivery.headers).toEqual({ 'content-type': 'application/cloudevents+json; charset=utf-8' });
    expect(delivery.key).toBeUndefined();
  });
});
