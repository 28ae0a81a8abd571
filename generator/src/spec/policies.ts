/**
 * Delivery policies of one consumer: built-in defaults, then `defaults:`, then the consumer's own
 * fields, merged field by field. Also remembers which span set each value, so a diagnostic about
 * an inherited value points at the line that wrote it.
 */
import { retryDelays, type IdempotencyIR, type RetryPolicyIR } from '@eventform/runtime';
import { DEFAULTS } from './defaults.js';
import type { Span } from './diagnostics.js';
import type { RawDefaults, RawPolicies, RawRetry } from './raw-topology.js';

export interface EffectivePolicies {
  retry: RetryPolicyIR;
  deadLetter: boolean;
  idempotency: IdempotencyIR;
  concurrency: number;
  /** Where the values that diagnostics talk about were written (absent: built-in default). */
  spans: {
    delay?: Span;
    maxDelay?: Span;
    idempotencyKey?: Span;
    idempotencyEnabled?: Span;
    deadLetter?: Span;
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
  const applyRetry = (raw: RawRetry | undefined): void => {
    if (!raw) return;
    if (raw.disabled) {
      r.attempts = 1;
      return;
    }
    if (raw.attempts) r.attempts = raw.attempts.value;
    if (raw.backoff) r.backoff = raw.backoff.value;
    if (raw.delayMs) {
      r.delayMs = raw.delayMs.value;
      spans.delay = raw.delayMs.span;
    }
    if (raw.maxDelayMs) {
      r.maxDelayMs = raw.maxDelayMs.value;
      spans.maxDelay = raw.maxDelayMs.span;
    }
    if (raw.jitter) r.jitter = raw.jitter.value;
  };
  applyRetry(defaults.retry);
  applyRetry(own.retry);

  const idem: IdempotencyIR = { ...DEFAULTS.idempotency };
  for (const raw of [defaults.idempotency, own.idempotency]) {
    if (!raw) continue;
    if (raw.enabled) {
      idem.enabled = raw.enabled.value;
      spans.idempotencyEnabled = raw.enabled.span;
    }
    if (raw.key) {
      idem.key = raw.key.value;
      spans.idempotencyKey = raw.key.span;
    }
    if (raw.windowMs) idem.windowMs = raw.windowMs.value;
  }

  let deadLetter: boolean = DEFAULTS.deadLetter;
  for (const raw of [defaults.deadLetter, own.deadLetter]) {
    if (raw) {
      deadLetter = raw.value;
      spans.deadLetter = raw.span;
    }
  }

  return {
    retry: { ...r, delaysMs: retryDelays(r) },
    deadLetter,
    idempotency: idem,
    concurrency: own.concurrency?.value ?? defaults.concurrency?.value ?? DEFAULTS.concurrency,
    spans,
  };
}
