import { describe, expect, it } from 'vitest';
import { backoffDelay, baseRetryDelay, decideRetry, retryDelay, retryDelays } from '@eventform/runtime';
import type { RetryPolicyIR } from '@eventform/runtime';

const policy = (p: Partial<RetryPolicyIR>): RetryPolicyIR => {
  const base = { attempts: 4, backoff: 'exponential' as const, delayMs: 100, maxDelayMs: 250, jitter: 0, ...p };
  return { ...base, delaysMs: p.delaysMs ?? retryDelays(base) };
};

describe('retry policy', () => {
  it.each([
    ['exponential, capped', policy({}), [100, 200, 250]],
    ['fixed', policy({ backoff: 'fixed' }), [100, 100, 100]],
    ['from delaysMs as given', policy({ delaysMs: [5, 7, 9] }), [5, 7, 9]],
    ['computed when delaysMs is short', policy({ delaysMs: [] }), [100, 200, 250]],
  ])('%s', (_name, p, expected) => {
    expect([1, 2, 3].map((attempt) => baseRetryDelay(p, attempt))).toEqual(expected);
    expect([1, 2, 3].map((attempt) => retryDelay(p, attempt))).toEqual(expected);
  });

  it.each([
    [0, 80], // random 0 → -20%
    [0.5, 100],
    [0.999999, 120],
  ])('jitter ±20%% with random %f → %i', (r, expected) => {
    expect(retryDelay(policy({ jitter: 0.2 }), 1, () => r)).toBe(expected);
  });

  it('never exceeds maxDelayMs with jitter', () => {
    expect(retryDelay(policy({ jitter: 0.5 }), 3, () => 0.99)).toBe(250);
  });

  it.each([
    [1, { retry: true, delayMs: 100, nextAttempt: 2 }],
    [3, { retry: true, delayMs: 250, nextAttempt: 4 }],
    [4, { retry: false, attempts: 4 }],
    [9, { retry: false, attempts: 9 }],
  ])('after attempt %i → %j', (attempt, expected) => {
    expect(decideRetry(policy({}), attempt)).toEqual(expected);
  });

  it.each([
    [{ attempts: 5, backoff: 'exponential' as const, delayMs: 100, maxDelayMs: 300 }, [100, 200, 300, 300]],
    [{ attempts: 3, backoff: 'fixed' as const, delayMs: 250, maxDelayMs: 100 }, [100, 100]],
    [{ attempts: 1, backoff: 'exponential' as const, delayMs: 100, maxDelayMs: 300 }, []],
  ])('retryDelays(%j) = %j, one backoffDelay per failed attempt but the last', (p, expected) => {
    expect(retryDelays(p)).toEqual(expected);
    expect(expected.map((_, i) => backoffDelay(p, i + 1))).toEqual(expected);
  });

  it('attempts: 1 never retries', () => {
    expect(decideRetry(policy({ attempts: 1 }), 1)).toEqual({ retry: false, attempts: 1 });
  });
});
