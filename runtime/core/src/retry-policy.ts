/**
 * Retry decisions from a consumer's {@link RetryPolicyIR}. The runtime only decides *when*; the
 * transport carries the delay out broker-side (the `retry` disposition), so a failing message never
 * blocks the consumer's other messages.
 */
import type { RetryPolicyIR } from './ir.js';

export type RetryDecision = { retry: true; delayMs: number; nextAttempt: number } | { retry: false; attempts: number };

/**
 * The base delay (without jitter) after the failed 1-based `attempt`: `delaysMs[attempt - 1]`, or
 * — for an IR that lacks the entry — computed from `backoff`, `delayMs` and `maxDelayMs`.
 */
export function baseRetryDelay(policy: RetryPolicyIR, attempt: number): number {
  const listed = policy.delaysMs[attempt - 1];
  if (listed !== undefined) return listed;
  const raw = policy.backoff === 'exponential' ? policy.delayMs * 2 ** (attempt - 1) : policy.delayMs;
  return Math.min(raw, policy.maxDelayMs);
}

/**
 * The delay after the failed `attempt`, with jitter applied (±`jitter` × delay, uniformly) and
 * capped at `maxDelayMs`. `random` is injectable for tests.
 */
export function retryDelay(policy: RetryPolicyIR, attempt: number, random: () => number = Math.random): number {
  const base = baseRetryDelay(policy, attempt);
  if (policy.jitter <= 0 || base === 0) return base;
  const spread = base * policy.jitter * (2 * random() - 1);
  return Math.max(0, Math.min(Math.round(base + spread), policy.maxDelayMs));
}

/** Retry after the failed 1-based `attempt`, or give up when it was the last one. */
export function decideRetry(policy: RetryPolicyIR, attempt: number, random?: () => number): RetryDecision {
  if (attempt >= policy.attempts) return { retry: false, attempts: attempt };
  return { retry: true, delayMs: retryDelay(policy, attempt, random), nextAttempt: attempt + 1 };
}
