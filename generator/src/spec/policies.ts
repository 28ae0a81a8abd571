/**
 * Delivery policies of one consumer: built-in defaults, then `defaults:`, then the consumer's own
 * fields, merged field by field. Also remembers which span set each value, so a diagnostic about
 * an inherited value points at the line that wrote it.
 */
import { retryDelays, type IdempotencyIR, type RetryPolicyIR } from '@eventform/runtime';
import { DEFAULTS } from './defaults.js';
import type { Span } from './diagnostics.js';
import type { Located, RawDefaults, RawPolicies, RawRetry } from './raw-topology.js';

export interface EffectivePolicies {
  retry: RetryPolicyIR;
  deadLetter: boolean;
  idempotency: IdempotencyIR;
  concurrency: number;
  /** Where the values that diagnostics talk about were written (absent: built-in default). */
  spans: {
    delay?: Span | undefined;
    maxDelay?: Span | undefined;
    idempotencyKey?: Span | undefined;
    idempotencyEnabled?: Span | undefined;
    deadLetter?: Span | undefined;
  };
}

export function effectivePolicies(defaults: RawDefaults, own: RawPolicies): EffectivePolicies {
  const spans: EffectivePolicies['spans'] = {};
  const r = { ...DEFAULTS.retry } as {
    attempts: number;
    backoff: 'fixed' | 'exponential';
    delayMs: number;
    maxDelayMs: number;
    jitter: number;
  };
  /** Takes a value that was written: sets it and, under `spanKey`, remembers where it was written. */
  const take = <T>(located: Located<T> | undefined, set: (value: T) => void, spanKey?: keyof typeof spans): void => {
    if (!located) return;
    set(located.value);
    if (spanKey) spans[spanKey] = located.span;
  };
  const applyRetry = (raw: RawRetry | undefined): void => {
    if (!raw) return;
    if (raw.disabled) {
      r.attempts = 1;
      return;
    }
    take(raw.attempts, (v) => (r.attempts = v));
    take(raw.backoff, (v) => (r.backoff = v));
    take(raw.delayMs, (v) => (r.delayMs = v), 'delay');
    take(raw.maxDelayMs, (v) => (r.maxDelayMs = v), 'maxDelay');
    take(raw.jitter, (v) => (r.jitter = v));
  };
  applyRetry(defaults.retry);
  applyRetry(own.retry);

  const idem: IdempotencyIR = { ...DEFAULTS.idempotency };
  for (const raw of [defaults.idempotency, own.idempotency]) {
    take(raw?.enabled, (v) => (idem.enabled = v), 'idempotencyEnabled');
    take(raw?.key, (v) => (idem.key = v), 'idempotencyKey');
    take(raw?.windowMs, (v) => (idem.windowMs = v));
  }

  let deadLetter: boolean = DEFAULTS.deadLetter;
  for (const raw of [defaults.deadLetter, own.deadLetter]) take(raw, (v) => (deadLetter = v), 'deadLetter');

  return {
    retry: { ...r, delaysMs: retryDelays(r) },
    deadLetter,
    idempotency: idem,
    concurrency: own.concurrency?.value ?? defaults.concurrency?.value ?? DEFAULTS.concurrency,
    spans,
  };
}
