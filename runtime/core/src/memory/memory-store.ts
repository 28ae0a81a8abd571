/**
 * In-process idempotency store: a bounded map of processed keys with the window as TTL. Right for
 * one process (tests, demos, a single consumer instance); several instances need a shared store
 * such as the PostgreSQL one.
 */
import { MEMORY_STORE_DEFAULTS } from '../defaults.js';
import type { IdempotencyResult, IdempotencyStore } from '../idempotency.js';
import { Deque } from '../deque.js';

export interface MemoryStoreOptions {
  /** Keys remembered; beyond this the oldest-marked are evicted first. @default 100_000 */
  maxEntries?: number;
  /** Interval of the expired-entry sweep; `0` disables it. @default 60_000 */
  purgeIntervalMs?: number;
  /** Clock, for tests. @default Date.now */
  now?: () => number;
}

/**
 * Keys live in a `Map`; a FIFO of marks gives the eviction order (oldest mark first). A run of a key that
 * is already running waits for it (one in-process lock per key) and then re-checks. `close()` keeps
 * the entries, so one instance can back a runtime that is stopped and started again.
 */
export class MemoryIdempotencyStore implements IdempotencyStore {
  readonly name = 'memory';
  private readonly entries = new Map<string, number>(); // full key → expires at (ms)
  // Marking order, for eviction without iterating the Map (iterating past deleted entries is O(n)).
  private readonly order = new Deque<{ key: string; expiresAt: number }>();
  private readonly running = new Map<string, (() => void)[]>();
  private readonly maxEntries: number;
  private readonly purgeIntervalMs: number;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;

  constructor(options: MemoryStoreOptions = {}) {
    this.maxEntries = options.maxEntries ?? MEMORY_STORE_DEFAULTS.maxEntries;
    this.purgeIntervalMs = options.purgeIntervalMs ?? MEMORY_STORE_DEFAULTS.purgeIntervalMs;
    this.now = options.now ?? Date.now;
    if (!(this.maxEntries >= 1)) throw new RangeError('maxEntries must be at least 1');
  }

  async init(): Promise<void> {
    if (this.timer || this.purgeIntervalMs <= 0) return;
    this.timer = setInterval(() => void this.purgeExpired(), this.purgeIntervalMs);
    this.timer.unref();
  }

  async run<T>(
    consumer: string,
    key: string,
    windowMs: number,
    fn: (tx: unknown) => Promise<T>,
  ): Promise<IdempotencyResult<T>> {
    const fullKey = `${consumer}\u0000${key}`;
    // Wait for a run of the same key in progress; loop because another waiter may win the lock.
    for (let lock = this.running.get(fullKey); lock; lock = this.running.get(fullKey)) {
      await new Promise<void>((resolve) => lock!.push(resolve));
    }
    if (this.isMarked(fullKey)) return { duplicate: true };

    // The lock is a waiter list, so the uncontended path allocates no promise for it.
    const waiters: (() => void)[] = [];
    this.running.set(fullKey, waiters);
    try {
      const value = await fn(undefined);
      this.mark(fullKey, windowMs);
      return { duplicate: false, value };
    } finally {
      this.running.delete(fullKey);
      for (const wake of waiters) wake();
    }
  }

  async purgeExpired(): Promise<number> {
    const now = this.now();
    let purged = 0;
    for (const [key, expiresAt] of this.entries) {
      if (expiresAt <= now) {
        this.entries.delete(key);
        purged++;
      }
    }
    return purged;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Number of remembered keys (expired ones not yet purged included). */
  get size(): number {
    return this.entries.size;
  }

  private isMarked(fullKey: string): boolean {
    const expiresAt = this.entries.get(fullKey);
    if (expiresAt === undefined) return false;
    if (expiresAt > this.now()) return true;
    this.entries.delete(fullKey);
    return false;
  }

  private mark(fullKey: string, windowMs: number): void {
    const expiresAt = this.now() + windowMs;
    this.entries.set(fullKey, expiresAt);
    this.order.push({ key: fullKey, expiresAt });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.order.shift();
      if (!oldest) break;
      // Skip records made stale by a purge or a later re-mark of the same key.
      if (this.entries.get(oldest.key) === oldest.expiresAt) this.entries.delete(oldest.key);
    }
    // Stale records pile up only through purges and re-marks; rebuild when they dominate.
    if (this.order.length > 2 * this.maxEntries + 1024) this.rebuildOrder();
  }

  private rebuildOrder(): void {
    const live = [...this.entries].sort((a, b) => a[1] - b[1]);
    this.order.clear();
    for (const [key, expiresAt] of live) this.order.push({ key, expiresAt });
  }
}

/** A new in-memory idempotency store. */
export function createMemoryStore(options?: MemoryStoreOptions): MemoryIdempotencyStore {
  return new MemoryIdempotencyStore(options);
}
