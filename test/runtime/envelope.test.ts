import { describe, expect, it } from 'vitest';
import {
  EnvelopeError,
  InvalidJsonError,
  PublishOptionsError,
  assertExtraHeaders,
  attemptOf,
  decodeDelivery,
  encodeEnvelope,
  envelopeHeaders,
  fromWireHeaders,
  readAttempt,
  toWireHeaders,
} from '@eventform/runtime';
import type { ConsumerIR, EventEnvelope } from '@eventform/runtime';

const envelope: EventEnvelope = {
  id: 'evt-1',
  type: 'OrderCreated',
  source: 'order-service',
  specversion: '1.0',
  time: '2025-01-02T03:04:05.678Z',
  datacontenttype: 'application/json',
  correlationId: 'corr-1',
  causationId: 'evt-0',
  eventVersion: 2,
  traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  key: 'order-1',
  data: { orderId: 'order-1', total: { amount: 1.5, currency: 'EUR' } },
};

describe('envelope encoding', () => {
  it('writes CloudEvents binary-mode headers and a JSON body', () => {
    const message = encodeEnvelope(envelope, { 'x-tenant': 'acme' });
    expect(message.headers).toEqual({
      id: 'evt-1',
      source: 'order-service',
      type: 'OrderCreated',
      specversion: '1.0',
      time: '2025-01-02T03:04:05.678Z',
      datacontenttype: 'application/json',
      correlationid: 'corr-1',
      causationid: 'evt-0',
      eventversion: '2',
      traceparent: envelope.traceparent,
      'x-tenant': 'acme',
    });
    expect(JSON.parse(message.body.toString())).toEqual(envelope.data);
    expect(message.key).toBe('order-1');
  });

  it('omits causationid and traceparent when absent', () => {
    const { traceparent: _t, ...rest } = envelope;
    const headers = envelopeHeaders({ ...rest, causationId: null });
    expect(headers).not.toHaveProperty('causationid');
    expect(headers).not.toHaveProperty('traceparent');
  });

  it('round-trips through decodeDelivery, also through every wire binding', () => {
    const message = encodeEnvelope(envelope);
    expect(decodeDelivery(message)).toEqual(envelope);
    for (const binding of ['kafka', 'amqp', 'memory'] as const) {
      const wire = toWireHeaders(message.headers, binding);
      const back = fromWireHeaders(wire, binding);
      expect(decodeDelivery({ body: message.body, headers: back, key: 'order-1' })).toEqual(envelope);
    }
  });

  it.each([
    ['x-tenant', true],
    ['id', false],
    ['type', false],
    ['ef-attempt', false],
    ['ef-anything', false],
  ])('extra header %s allowed: %s', (name, allowed) => {
    const check = () => assertExtraHeaders({ [name]: 'v' });
    if (allowed) expect(check).not.toThrow();
    else expect(check).toThrow(PublishOptionsError);
  });
});

describe('envelope decoding errors', () => {
  const good = encodeEnvelope(envelope).headers;
  const without = (name: string) => {
    const copy = { ...good };
    delete copy[name];
    return copy;
  };
  it.each([
    ['type', 'missing', without('type')],
    ['id', 'missing', without('id')],
    ['source', 'missing', without('source')],
    ['specversion', 'missing', without('specversion')],
    ['specversion', 'invalid', { ...good, specversion: '0.3' }],
    ['time', 'missing', without('time')],
    ['time', 'invalid', { ...good, time: 'yesterday' }],
    ['time', 'invalid', { ...good, time: '2025-13-45T99:00:00Z' }],
    ['datacontenttype', 'invalid', { ...good, datacontenttype: 'text/plain' }],
    ['correlationid', 'missing', without('correlationid')],
    ['eventversion', 'missing', without('eventversion')],
    ['eventversion', 'invalid', { ...good, eventversion: 'v1' }],
    ['eventversion', 'invalid', { ...good, eventversion: '0' }],
    ['id', 'missing', { ...good, id: '' }],
  ])('%s %s', (attribute, problem, headers) => {
    let error: unknown;
    try {
      decodeDelivery({ body: Buffer.from('{}'), headers });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(EnvelopeError);
    expect(error).toMatchObject({ attribute, problem, code: 'EF_INVALID_ENVELOPE' });
    expect((error as Error).message).toContain(attribute);
  });

  it('accepts a missing datacontenttype and a JSON content type with parameters', () => {
    expect(decodeDelivery({ body: Buffer.from('1'), headers: without('datacontenttype') }).data).toBe(1);
    expect(
      decodeDelivery({
        body: Buffer.from('1'),
        headers: { ...good, datacontenttype: 'application/json; charset=utf-8' },
      }).data,
    ).toBe(1);
  });

  it.each(['', 'not json', '{"a":', '\u0000'])('rejects body %j as invalid JSON', (body) => {
    expect(() => decodeDelivery({ body: Buffer.from(body), headers: good })).toThrow(InvalidJsonError);
  });
});

describe('readAttempt', () => {
  const consumer = { id: 'svc.handler', retry: { attempts: 3 } } as Pick<ConsumerIR, 'id' | 'retry'>;
  const copy = (attempt: string) => ({ 'ef-attempt': attempt, 'ef-retry-for': 'svc.handler' });
  it.each([
    ['no header', 1, {}, false],
    ['a retry copy for this consumer', 3, copy('3'), false],
    ['a first delivery (no ef-retry-for) with a forged attempt', 1, { 'ef-attempt': '3' }, false],
    ['a copy made for another consumer', 1, { 'ef-attempt': '3', 'ef-retry-for': 'other.handler' }, false],
    ['a replayed dead letter (ef-retry-for stripped)', 1, { 'ef-attempt': '3', 'ef-dl-reason': 'x' }, false],
    ['zero', 1, copy('0'), true],
    ['not a number', 1, copy('x'), true],
    ['a fraction', 1, copy('2.5'), true],
    ['an exponent', 1, copy('1e3'), true],
    ['a sign', 1, copy('+2'), true],
    ['above attempts (stale after a topology change, or forged)', 3, copy('4'), true],
    ['far above attempts', 3, copy('9'.repeat(400)), true],
  ])('%s → %i', (_name, attempt, headers, problem) => {
    const reading = readAttempt(headers, consumer);
    expect(reading.attempt).toBe(attempt);
    expect(reading.problem !== undefined).toBe(problem);
    expect(attemptOf(headers, consumer)).toBe(attempt);
  });

  it('names what it read in the problem, shortened', () => {
    expect(readAttempt(copy('9'.repeat(400)), consumer).problem).toMatch(
      /^ef-attempt "9{24}"… is above .* 3 attempts; read as 3$/,
    );
  });
});
