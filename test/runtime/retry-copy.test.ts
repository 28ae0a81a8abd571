import { afterEach, describe, expect, it, vi } from 'vitest';
import { EF, retryCopyHeaders } from '@eventform/runtime';

describe('retryCopyHeaders', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('adds the due time, the consumer and the origin to the runtime headers', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const headers = retryCopyHeaders(
      { kind: 'retry', delayMs: 250, headers: { id: 'e1', [EF.attempt]: '2' } },
      'billing.charge',
      { origin: 'shop.OrderPlaced' },
    );
    expect(headers).toEqual({
      id: 'e1',
      [EF.attempt]: '2',
      [EF.dueAt]: '1000250',
      [EF.retryFor]: 'billing.charge',
      [EF.origin]: 'shop.OrderPlaced',
    });
  });

  it('keeps the first origin, replaces a stale due time and consumer, and is never due in the past', () => {
    vi.useFakeTimers({ now: 5_000 });
    const headers = retryCopyHeaders(
      {
        kind: 'retry',
        delayMs: -40,
        headers: { [EF.origin]: 'first.topic', [EF.dueAt]: '1', [EF.retryFor]: 'other.consumer' },
      },
      'billing.charge',
      { origin: 'billing.charge.retry' },
    );
    expect(headers[EF.origin]).toBe('first.topic');
    expect(headers[EF.dueAt]).toBe('5000');
    expect(headers[EF.retryFor]).toBe('billing.charge');
  });
});
