/**
 * Every default and limit of the topology format, in one place, except those of the broker
 * sections (`rabbitmq:`, `kafka:`, ...), which their packages' `topologySection` holds.
 * docs/topology-format.md quotes these values; change both together.
 */
import type { BackoffKind, Compatibility, ContentMode, IdempotencyStoreKind } from '@eventform/runtime';

export const DEFAULTS = {
  version: 1,
  eventVersion: 1,
  retry: {
    attempts: 3,
    backoff: 'exponential' as BackoffKind,
    delayMs: 200,
    maxDelayMs: 5_000,
    jitter: 0,
  },
  deadLetter: true,
  idempotency: { enabled: true, key: null as string | null, windowMs: 7 * 86_400_000 },
  concurrency: 1,
  /** A service's idempotency store. */
  store: 'memory' as IdempotencyStoreKind,
  compatibility: 'backward' as Compatibility,
  /** How events travel as CloudEvents; `defaults.contentMode`, then per event. */
  contentMode: 'binary' as ContentMode,
} as const;

export const LIMITS = {
  /**
   * Files above this are refused unparsed. The YAML parser manages roughly 0.5-1 MiB/s, and a
   * hostile file must still be answered in well under a second; 512 KiB is about 100 times the
   * shop topology. Large schemas can live in external `$ref` files (each has the same limit).
   */
  maxFileBytes: 512 * 1024,
  /** Deepest nesting accepted in any document. */
  maxDepth: 64,
  /** Raw-text nesting estimate above which the document is not even composed. */
  prescanDepth: 256,
  /** Alias expansions (`*name`), counting nested ones. */
  maxAliasCount: 1000,
  /** Nodes after alias expansion. */
  maxNodes: 100_000,
  maxAttempts: 100,
  maxConcurrency: 1000,
  /** setTimeout's and RabbitMQ's per-message TTL practical ceiling (2^31-1 ms, ~24.8 days). */
  maxDelayMs: 2_147_483_647,
  /** Idempotency windows: ten years is plenty. */
  maxWindowMs: 3650 * 86_400_000,
  maxExternalSchemas: 500,
} as const;
