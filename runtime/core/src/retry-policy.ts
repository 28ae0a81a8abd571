/**
 * Retry decisions from a consumer's {@link RetryPolicyIR}. The runtime only decides *when*; the
 * transport carries the delay out broker-side (the `retry` disposition), so a failing message never
 * blocks the consumer's other messages.
 */
import type { RetryPolicyIR } from './ir.js';

export type RetryDecision = { retry: true; delayMs: number; nextAttempt: number } | { retry: false; attempts: number };

/**
 * The retry timing of the topology format, the one place it is written: the base delay (without
 * jitter) after the failed 1-based `attempt` is `delayMs` (fixed) or `delayMs × 2^(attempt-1)`
 * (exponential), capped at `maxDelayMs`.
 */
export function backoffDelay(
  policy: Pick<RetryPolicyIR, 'backoff' | 'delayMs' | 'maxDelayMs'>,
  attempt: number,
): number {
  const raw = policy.backoff === 'exponential' ? policy.delayMs * 2 ** (attempt - 1) : policy.delayMs;
  return Math.min(raw, policy.maxDelayMs);
}

/**
 * The IR's `delaysMs`: the base delay after each failed attempt but the last, attempts 1 ..
 * `attempts - 1` (the generator fills it in; transports size their retry tiers from it).
 */
export function retryDelays(policy: Pick<RetryPolicyIR, 'attempts' | 'backoff' | 'delayMs' | 'maxDelayMs'>): number[] {
  return Array.from({ length: Math.max(0, policy.attempts - 1) }, (_, i) => backoffDelay(policy, i + 1));
}

/** The base delay (without jitter) after the failed 1-based `attempt`: `delaysMs[attempt - 1]`, else {@link backoffDelay}. */
export function baseRetryDelay(policy: RetryPolicyIR, attempt: number): number {
  return policy.delaysMs[attempt - 1] ?? backoffDelay(policy, attempt);
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
