import { describe, expect, it } from 'vitest';
import {
  DEAD_LETTER_DEFAULTS,
  EF,
  NotADeadLetterError,
  deadLetterHeaders,
  readDeadLetter,
  fromWireHeaders,
  setHeader,
  toWireHeaders,
  truncateUtf8,
} from '@eventform/runtime';
import type { DeadLetterInput } from '@eventform/runtime';

const original = {
  id: 'evt-1',
  type: 'OrderCreated',
  source: 'order-service',
  correlationid: 'corr-1',
  'ef-attempt': '3',
  'ef-retry-for': 'svc.handler',
  'ef-due-at': '123',
  'x-custom': 'kept',
};
const input: DeadLetterInput = {
  reason: 'retries-exhausted',
  error: new Error('database unavailable'),
  attempts: 3,
  origin: 'shop.events/OrderCreated',
  consumer: 'inventory-service.reserveStock',
  firstFailure: '2025-01-01T00:00:00.000Z',
  lastFailure: '2025-01-01T00:00:01.000Z',
};

describe('dead-letter record', () => {
  it('keeps the original headers, drops transport bookkeeping, adds the record', () => {
    const headers = deadLetterHeaders(original, input);
    expect(headers).toMatchObject({
      id: 'evt-1',
      'x-custom': 'kept',
      'ef-attempt': '3',
      [EF.dlReason]: 'retries-exhausted',
      [EF.dlError]: 'database unavailable',
      [EF.dlAttempts]: '3',
      [EF.dlOrigin]: 'shop.events/OrderCreated',
      [EF.dlConsumer]: 'inventory-service.reserveStock',
      [EF.dlFirstFailure]: input.firstFailure,
      [EF.dlLastFailure]: input.lastFailure,
      [EF.dlCorrelationId]: 'corr-1',
    });
    expect(headers[EF.dlStack]).toContain('database unavailable');
    expect(headers).not.toHaveProperty(EF.retryFor);
    expect(headers).not.toHaveProperty(EF.dueAt);
  });

  it('round-trips through readDeadLetter', () => {
    const body = Buffer.from('{"orderId":"o1"}');
    const record = readDeadLetter({ body, headers: deadLetterHeaders(original, input) });
    expect(record).toMatchObject({
      reason: 'retries-exhausted',
      error: 'database unavailable',
      attempts: 3,
      origin: input.origin,
      consumer: input.consumer,
      firstFailure: input.firstFailure,
      lastFailure: input.lastFailure,
      correlationId: 'corr-1',
      eventId: 'evt-1',
      eventType: 'OrderCreated',
      body,
    });
    expect(record.stack).toMatch(/^Error: database unavailable/);
    expect(Object.keys(record.headers).some((h) => h.startsWith('ef-dl-'))).toBe(false);
    expect(record.headers['x-custom']).toBe('kept');
  });

  it('handles non-Error failures and a missing correlation id', () => {
    const { correlationid: _c, ...noCorrelation } = original;
    const record = readDeadLetter({
      body: Buffer.alloc(0),
      headers: deadLetterHeaders(noCorrelation, { ...input, reason: 'invalid-json', error: 'bad bytes' }),
    });
    expect(record).toMatchObject({ reason: 'invalid-json', error: 'bad bytes', stack: null, correlationId: null });
  });

  it('truncates long stacks and messages to their byte budget', () => {
    const error = new Error('é'.repeat(5_000));
    error.stack = 'x'.repeat(10_000);
    const headers = deadLetterHeaders(original, { ...input, error });
    expect(Buffer.byteLength(headers[EF.dlStack]!)).toBeLessThanOrEqual(DEAD_LETTER_DEFAULTS.maxStackBytes);
    expect(Buffer.byteLength(headers[EF.dlError]!)).toBeLessThanOrEqual(DEAD_LETTER_DEFAULTS.maxErrorBytes);
    expect(headers[EF.dlError]!.endsWith('…')).toBe(true);
    expect(headers[EF.dlError]!).not.toContain('\uFFFD');
  });

  it.each([
    ['short', 10, 'short'],
    ['abcdefghij', 6, 'abc…'],
    ['ééé', 5, 'é…'],
  ])('truncateUtf8(%j, %i) = %j', (text, max, expected) => expect(truncateUtf8(text, max)).toBe(expected));

  it.each([
    ['no reason', {}],
    ['unknown reason', { [EF.dlReason]: 'bored' }],
    [
      'no attempts',
      {
        [EF.dlReason]: 'invalid-json',
        [EF.dlOrigin]: 'o',
        [EF.dlConsumer]: 'c',
        [EF.dlFirstFailure]: 't',
        [EF.dlLastFailure]: 't',
      },
    ],
    ['bad attempts', { ...deadLetterHeaders(original, input), [EF.dlAttempts]: 'zero' }],
    [
      'no consumer',
      (() => {
        const h = deadLetterHeaders(original, input);
        delete h[EF.dlConsumer];
        return h;
      })(),
    ],
  ])('readDeadLetter rejects a message with %s', (_name, headers) => {
    expect(() => readDeadLetter({ body: Buffer.alloc(0), headers })).toThrow(NotADeadLetterError);
  });

  it('keeps a header named __proto__ as an own header through the record and the wire mapping', () => {
    const hostile: Record<string, string> = { ...original };
    setHeader(hostile, '__proto__', 'from-the-wire');
    expect(Object.getPrototypeOf(hostile)).toBe(Object.prototype);
    const headers = deadLetterHeaders(hostile, input);
    expect(Object.prototype.hasOwnProperty.call(headers, '__proto__')).toBe(true);
    expect(Object.getOwnPropertyDescriptor(headers, '__proto__')?.value).toBe('from-the-wire');
    expect(Object.getPrototypeOf(headers)).toBe(Object.prototype);
    const record = readDeadLetter({ body: Buffer.alloc(0), headers });
    expect(Object.getOwnPropertyDescriptor(record.headers, '__proto__')?.value).toBe('from-the-wire');
    for (const binding of ['kafka', 'amqp'] as const) {
      const back = fromWireHeaders(toWireHeaders(headers, binding), binding);
      expect(Object.getOwnPropertyDescriptor(back, '__proto__')?.value).toBe('from-the-wire');
      expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    }
  });
});
