/**
 * Idempotent handling: at-least-once delivery + a store that remembers what each consumer has
 * processed = each event handled once in effect.
 *
 * Implementations: runtime/stores/memory (one process) and runtime/stores/postgres (shared by every
 * instance of a service, with side effects committed in the same transaction as the mark).
 */
import type { IdempotencyIR } from './ir.js';
import type { TransactionalOutbox } from './outbox.js';

export type IdempotencyResult<T> = { duplicate: true } | { duplicate: false; value: T };

/**
 * Remembers which (consumer, key) pairs were processed.
 *
 * Contract of {@link IdempotencyStore.run}:
 * - If `key` was marked for `consumer` less than `windowMs` ago, `fn` is not called and the result
 *   is `{ duplicate: true }`.
 * - Otherwise `fn(tx)` runs, and the key is marked if and only if `fn` resolves — atomically with
 *   whatever `fn` wrote through `tx` when the store is transactional. If `fn` throws (or the
 *   process dies), the key stays unmarked and the error propagates, so a redelivery runs again.
 * - Concurrent runs of the same key, in this process or (for shared stores) another: one runs
 *   `fn`; the others wait for it, then see a duplicate (it succeeded) or run themselves (it failed).
 * - An entry older than `windowMs` counts as absent (the key may be processed again).
 */
export interface IdempotencyStore {
  /** `memory`, `postgres`, ... (for logs and health). */
  readonly name: string;
  /** Prepare (create tables, start cleanup timers). Idempotent; may be called again after `close`. */
  init(): Promise<void>;
  run<T>(
    consumer: string,
    key: string,
    windowMs: number,
    fn: (tx: unknown) => Promise<T>,
  ): Promise<IdempotencyResult<T>>;
  /**
   * A transaction without a processed-event record, for consumers with idempotency off, so their
   * handlers get `ctx.tx` (and the outbox) too. Absent on stores without transactions.
   */
  transaction?<T>(fn: (tx: unknown) => Promise<T>): Promise<T>;
  /**
   * The transactional outbox that writes through this store's transactions (see
   * `TransactionalOutbox`); absent on stores without one. The runtime uses it unless
   * `RuntimeOptions.outbox` is `false`.
   */
  readonly outbox?: TransactionalOutbox | undefined;
  /** Delete expired entries now; returns how many. */
  purgeExpired(): Promise<number>;
  /** Stop timers and release resources the store owns (not a pool that was passed in). */
  close(): Promise<void>;
}

/**
 * The dedupe key of an event for a consumer: the value of the payload field named by
 * `idempotency.key` (a dotted path reaches nested fields), else the event id. A missing or empty
 * field falls back to the event id — the event is still processed once per id.
 */
export function dedupeKey(idempotency: IdempotencyIR, eventId: string, payload: unknown): string {
  if (idempotency.key === null) return eventId;
  const value = readPath(payload, idempotency.key);
  if (value === undefined || value === null || value === '') return eventId;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function readPath(value: unknown, path: string): unknown {
  let current = value;
  for (const part of path.includes('.') ? path.split('.') : [path]) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

/** The namespace under which a consumer's keys are stored: `<topology>.<service>.<handler>`. */
export function idempotencyNamespace(topologyName: string, consumerId: string): string {
  return `${topologyName}.${consumerId}`;
}
