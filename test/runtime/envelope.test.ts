import { describe, expect, it } from 'vitest';
import {
  EnvelopeError,
  InvalidJsonError,
  PublishOptionsError,
  assertExtraHeaders,
  attemptOf,
  contentModeOf,
  decodeDelivery,
  decodeEvent,
  encodeEnvelope,
  envelopeHeaders,
  fromWireHeaders,
  readAttempt,
  toWireHeaders,
} from '@eventform/runtime';
import type { BodyLimits, ConsumerIR, EventEnvelope } from '@eventform/runtime';

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
  it('writes CloudEvents binary-mode headers (only what is set; no eventversion) and a JSON body', () => {
    const message = encodeEnvelope(envelope, { 'x-tenant': 'acme' });
    expect(message.headers).toEqual({
      id: 'evt-1',
      source: 'order-service',
      type: 'OrderCreated',
      specversion: '1.0',
      'content-type': 'application/json',
      time: '2025-01-02T03:04:05.678Z',
      correlationid: 'corr-1',
      causationid: 'evt-0',
      traceparent: envelope.traceparent,
      partitionkey: 'order-1',
      'x-tenant': 'acme',
    });
    expect(JSON.parse(message.body.toString())).toEqual(envelope.data);
    expect(message.key).toBe('order-1');
    expect(encodeEnvelope(envelope, undefined, 'binary')).toEqual(encodeEnvelope(envelope));
  });

  it('omits causationid, traceparent and partitionkey when absent', () => {
    const { traceparent: _t, key: _k, ...rest } = envelope;
    const headers = envelopeHeaders({ ...rest, causationId: null });
    expect(Object.keys(headers)).toEqual([
      'id',
      'source',
      'type',
      'specversion',
      'content-type',
      'time',
      'correlationid',
    ]);
  });

  it('writes structured mode as one content-type header and the event in the JSON event format', () => {
    const message = encodeEnvelope(envelope, { 'x-tenant': 'acme' }, 'structured');
    expect(message.headers).toEqual({
      'content-type': 'application/cloudevents+json; charset=utf-8',
      'x-tenant': 'acme',
    });
    expect(message.key).toBe('order-1');
    expect(JSON.parse(message.body.toString())).toEqual({
      specversion: '1.0',
      id: 'evt-1',
      source: 'order-service',
      type: 'OrderCreated',
      datacontenttype: 'application/json',
      time: '2025-01-02T03:04:05.678Z',
      correlationid: 'corr-1',
      causationid: 'evt-0',
      traceparent: envelope.traceparent,
      partitionkey: 'order-1',
      data: envelope.data,
    });
    const noData = encodeEnvelope({ ...envelope, data: undefined }, undefined, 'structured');
    expect(JSON.parse(noData.body.toString())).toMatchObject({ data: null });
  });

  it.each(['binary', 'structured'] as const)(
    'round-trips %s mode through decodeDelivery, also through every wire binding',
    (mode) => {
      // eventversion is not sent: read back as the version the consumer declares (2 here).
      const message = encodeEnvelope(envelope, undefined, mode);
      const options = { resolveType: () => 2 };
      const decoded = decodeEvent(message, options);
      expect(decoded).toEqual({ ok: true, mode, envelope });
      for (const binding of ['kafka', 'amqp', 'memory'] as const) {
        const wire = toWireHeaders(message.headers, binding);
        const back = fromWireHeaders(wire, binding);
        expect(decodeEvent({ body: message.body, headers: back, key: 'order-1' }, options)).toEqual(decoded);
      }
    },
  );

  it.each([
    ['x-tenant', true],
    ['id', false],
    ['type', false],
    ['partitionkey', false],
    ['content-type', false],
    ['ef-attempt', false],
    ['ef-anything', false],
  ])('extra header %s allowed: %s', (name, allowed) => {
    const check = () => assertExtraHeaders({ [name]: 'v' });
    if (allowed) expect(check).not.toThrow();
    else expect(check).toThrow(PublishOptionsError);
  });
});

describe('envelope decoding: what CloudEvents requires, and no more', () => {
  const good = encodeEnvelope(envelope).headers;
  const without = (...names: string[]) => {
    const copy = { ...good };
    for (const name of names) delete copy[name];
    return copy;
  };

  it('reads an event with only the required attributes, filling in what eventform needs', () => {
    const headers = { id: 'e1', source: 'elsewhere', type: 'OrderCreated', specversion: '1.0' };
    const a = decodeEvent({ body: Buffer.from('{"x":1}'), headers }, { resolveType: () => 3 });
    const b = decodeEvent({ body: Buffer.from('{"x":1}'), headers }, { resolveType: () => 3 });
    expect(a.ok && b.ok).toBe(true);
    if (!a.ok || !b.ok) return;
    expect(a.envelope).toEqual({
      id: 'e1',
      source: 'elsewhere',
      type: 'OrderCreated',
      specversion: '1.0',
      datacontenttype: 'application/json',
      correlationId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      causationId: null,
      eventVersion: 3,
      data: { x: 1 },
    });
    // A fresh correlation per event that came without one.
    expect(a.envelope.correlationId).not.toBe(b.envelope.correlationId);
  });

  it('keeps what the producer sent: correlationid, eventversion, the partitionkey over the transport key', () => {
    const headers = { ...good, eventversion: '7' };
    const decoded = decodeEvent({ body: Buffer.from('{}'), headers, key: 'transport-key' }, { resolveType: () => 2 });
    expect(decoded.ok && decoded.envelope).toMatchObject({ correlationId: 'corr-1', eventVersion: 7, key: 'order-1' });
    const keyed = decodeDelivery({ body: Buffer.from('{}'), headers: without('partitionkey'), key: 'transport-key' });
    expect(keyed.key).toBe('transport-key');
  });

  it.each([
    ['type', 'missing', without('type')],
    ['id', 'missing', without('id')],
    ['source', 'missing', without('source')],
    ['specversion', 'missing', without('specversion')],
    ['specversion', 'invalid', { ...good, specversion: '0.3' }],
    ['time', 'invalid', { ...good, time: 'yesterday' }],
    ['time', 'invalid', { ...good, time: '2025-13-45T99:00:00Z' }],
    ['datacontenttype', 'invalid', { ...good, 'content-type': 'text/plain' }],
    ['datacontenttype', 'invalid', { ...without('content-type'), datacontenttype: 'application/xml' }],
    ['eventversion', 'invalid', { ...good, eventversion: 'v1' }],
    ['eventversion', 'invalid', { ...good, eventversion: '0' }],
    ['eventversion', 'invalid', { ...good, eventversion: '1e3' }],
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

  it('accepts no content type, JSON with parameters, +json types and a legacy datacontenttype header', () => {
    const body = Buffer.from('1');
    expect(decodeDelivery({ body, headers: without('content-type', 'time', 'correlationid') }).data).toBe(1);
    for (const type of ['application/json; charset=utf-8', 'Application/JSON', 'application/vnd.acme+json']) {
      expect(decodeDelivery({ body, headers: { ...good, 'content-type': type } }).data).toBe(1);
    }
    expect(
      decodeDelivery({ body, headers: { ...without('content-type'), datacontenttype: 'application/json' } }).data,
    ).toBe(1);
  });

  it.each(['', 'not json', '{"a":', '\u0000'])('rejects body %j as invalid JSON', (body) => {
    expect(() => decodeDelivery({ body: Buffer.from(body), headers: good })).toThrow(InvalidJsonError);
  });

  it('checks the type before the attributes and the body in binary mode', () => {
    const headers = { ...good, id: '' };
    const decoded = decodeEvent({ body: Buffer.from('{'), headers }, { resolveType: () => new Error('not ours') });
    expect(decoded).toMatchObject({
      ok: false,
      mode: 'binary',
      reason: 'unknown-type',
      error: { message: 'not ours' },
    });
    expect(decodeEvent({ body: Buffer.from('{'), headers })).toMatchObject({ ok: false, reason: 'invalid-envelope' });
    expect(decodeEvent({ body: Buffer.from('{'), headers: good })).toMatchObject({ ok: false, reason: 'invalid-json' });
  });
});

describe('structured-mode decoding: untrusted bodies', () => {
  const ct = { 'content-type': 'application/cloudevents+json; charset=utf-8' };
  const event = { specversion: '1.0', id: 'e1', source: 's', type: 'OrderCreated', data: { a: 1 } };
  const decode = (body: string | Buffer, headers: Record<string, string> = ct, limits?: BodyLimits) =>
    decodeEvent(
      { body: Buffer.from(body), headers },
      { limits, resolveType: (t) => (t === 'OrderCreated' ? 1 : new Error(`not ${t}`)) },
    );

  it('reads the mode from the content type, case-insensitively, with or without parameters', () => {
    for (const type of ['application/cloudevents+json', 'APPLICATION/CloudEvents+JSON;charset=UTF-8']) {
      expect(decode(JSON.stringify(event), { 'content-type': type })).toMatchObject({ ok: true, mode: 'structured' });
    }
    expect(contentModeOf({ 'content-type': 'application/json' })).toBe('binary');
    expect(contentModeOf({})).toBe('binary');
  });

  it.each([
    ['too-large', 'x'.repeat(65), undefined, { maxBodyBytes: 64, maxJsonDepth: 8 }],
    ['invalid-encoding', Buffer.from([0x7b, 0xff, 0x7d]), undefined, undefined],
    ['invalid-json', '{"specversion":', undefined, undefined],
    [
      'invalid-json',
      JSON.stringify({ ...event, data: JSON.parse('[[[[[[[[1]]]]]]]]') }),
      undefined,
      { maxBodyBytes: 1e6, maxJsonDepth: 7 },
    ],
    ['invalid-envelope', '[1,2]', undefined, undefined],
    ['invalid-envelope', 'null', undefined, undefined],
    ['invalid-envelope', JSON.stringify({ ...event, specversion: 1 }), undefined, undefined],
    ['invalid-envelope', JSON.stringify({ ...event, id: undefined }), undefined, undefined],
    ['invalid-envelope', JSON.stringify({ ...event, data_base64: 'e30=' }), undefined, undefined],
    ['invalid-envelope', JSON.stringify({ ...event, datacontenttype: 'text/xml' }), undefined, undefined],
    ['invalid-envelope', JSON.stringify({ ...event, eventversion: 1.5 }), undefined, undefined],
    ['invalid-envelope', JSON.stringify([event]), { 'content-type': 'application/cloudevents-batch+json' }, undefined],
    ['invalid-envelope', JSON.stringify(event), { 'content-type': 'application/cloudevents+avro' }, undefined],
    ['unknown-type', JSON.stringify({ ...event, type: 'Other' }), undefined, undefined],
    ['unknown-type', JSON.stringify({ ...event, type: 42 }), undefined, undefined],
  ] as [string, string | Buffer, Record<string, string> | undefined, BodyLimits | undefined][])(
    'classifies a malformed body as %s (%#)',
    (reason, body, headers, limits) => {
      expect(decode(body, headers, limits)).toMatchObject({ ok: false, mode: 'structured', reason });
    },
  );

  it('allows the envelope one level above maxJsonDepth: the payload gets the same bound as in binary mode', () => {
    const limits = { maxBodyBytes: 1e6, maxJsonDepth: 3 };
    expect(decode(JSON.stringify({ ...event, data: [[[1]]] }), ct, limits)).toMatchObject({ ok: true });
    expect(decode(JSON.stringify({ ...event, data: [[[[1]]]] }), ct, limits)).toMatchObject({ reason: 'invalid-json' });
  });

  it('takes a __proto__ member as data, not as a prototype', () => {
    const decoded = decode(
      '{"specversion":"1.0","id":"e","source":"s","type":"OrderCreated","__proto__":{"polluted":1},"data":{}}',
    );
    expect(decoded.ok).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('reads numbers as eventversion and no data as undefined', () => {
    const decoded = decode(JSON.stringify({ ...event, eventversion: 4, data: undefined }));
    expect(decoded.ok && decoded.envelope).toMatchObject({ eventVersion: 4 });
    expect(decoded.ok && 'data' in decoded.envelope && decoded.envelope.data).toBeUndefined();
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
