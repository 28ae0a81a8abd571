/**
 * In-process idempotency store: a bounded map of processed keys with the window as TTL. Right for
 * one process (tests, demos, a single consumer instance); several instances need a shared store
 * such as the PostgreSQL one.
 */
import { MEMORY_STORE_DEFAULTS } from '../defaults.js';
import type { IdempotencyResult, IdempotencyStore } from '../idempotency.js';

export interface MemoryStoreOptions {
  /** Keys remembered; beyond this the oldest-marked are evicted first. @default 100_000 */
  maxEntries?: number | undefined;
  /** Interval of the expired-entry sweep; `0` disables it. @default 60_000 */
  purgeIntervalMs?: number | undefined;
  /** Clock, for tests. @default Date.now */
  now?: (() => number) | undefined;
}

const DUPLICATE: IdempotencyResult<never> = Object.freeze({ duplicate: true });

/**
 * Keys live in one `Map` whose insertion order is the marking order (a key is marked only while
 * absent, so a re-mark goes to the back): the oldest mark is the first entry. Eviction reads it through
 * one long-lived iterator over the map, which never has to skip more than the entries deleted in
 * front of it since its last step (a fresh iterator per eviction would walk every deleted slot at
 * the front of the table). So marking and evicting cost O(1) amortized, with nothing allocated per
 * mark but the map entry. A run of a key that is already running waits for it (one in-process lock
 * per key) and then re-checks. `close()` keeps the entries, so one instance can back a runtime
 * that is stopped and started again.
 */
export class MemoryIdempotencyStore implements IdempotencyStore {
  readonly name = 'memory';
  private readonly entries = new Map<string, number>(); // full key → expires at (ms), oldest mark first
  /**
   * Where eviction goes on: every entry it has passed was evicted, and a key marked again since
   * went to the back, so the next key it yields is the oldest mark (the Map iterator is live).
   */
  private cursor: IterableIterator<string> | undefined;
  /** Keys being run → the runs waiting for them (`null` while none waits). */
  private readonly running = new Map<string, (() => void)[] | null>();
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

  /**
   * Not async: an uncontended run makes one promise (the reaction to `fn`'s) rather than one per
   * `await`, since each promise costs the async hooks of every AsyncLocalStorage in the process.
   */
  run<T>(
    consumer: string,
    key: string,
    windowMs: number,
    fn: (tx: unknown) => Promise<T>,
  ): Promise<IdempotencyResult<T>> {
    const fullKey = `${consumer}\u0000${key}`;
    if (this.running.has(fullKey)) return this.runAfterOthers(fullKey, windowMs, fn);
    if (this.isMarked(fullKey)) return Promise.resolve(DUPLICATE);
    return this.runLocked(fullKey, windowMs, fn);
  }

  /** A run of the same key is in progress: wait for it; loop because another waiter may win the lock. */
  private async runAfterOthers<T>(
    fullKey: string,
    windowMs: number,
    fn: (tx: unknown) => Promise<T>,
  ): Promise<IdempotencyResult<T>> {
    for (let lock = this.running.get(fullKey); lock !== undefined; lock = this.running.get(fullKey)) {
      await new Promise<void>((resolve) => {
        if (lock) lock.push(resolve);
        else this.running.set(fullKey, [resolve]);
      });
    }
    if (this.isMarked(fullKey)) return DUPLICATE;
    return this.runLocked(fullKey, windowMs, fn);
  }

  /** Runs `fn` holding the key's lock; marks the key once it resolved, then lets the waiters in. */
  private runLocked<T>(
    fullKey: string,
    windowMs: number,
    fn: (tx: unknown) => Promise<T>,
  ): Promise<IdempotencyResult<T>> {
    // Uncontended, the lock allocates nothing: the waiter list is made by the first waiter.
    this.running.set(fullKey, null);
    let outcome: Promise<T>;
    try {
      outcome = Promise.resolve(fn(undefined));
    } catch (error) {
      this.unlock(fullKey);
      return Promise.reject(error);
    }
    return outcome.then(
      (value) => {
        try {
          this.mark(fullKey, windowMs);
        } finally {
          this.unlock(fullKey);
        }
        return { duplicate: false, value };
      },
      (error: unknown) => {
        this.unlock(fullKey);
        throw error;
      },
    );
  }

  private unlock(fullKey: string): void {
    const waiters = this.running.get(fullKey);
    this.running.delete(fullKey);
    if (waiters) for (const wake of waiters) wake();
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
    // The key is absent here (isMarked deleted it if it had expired, and the lock keeps other runs
    // of it out), so `set` appends it: the newest mark is the last entry.
    this.entries.set(fullKey, this.now() + windowMs);
    while (this.entries.size > this.maxEntries) {
      let oldest = this.cursor?.next();
      // A finished iterator stays finished; start again at the front (it is the oldest entry).
      if (oldest === undefined || oldest.done) {
        this.cursor = this.entries.keys();
        oldest = this.cursor.next();
      }
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
  }
}

/** A new in-memory idempotency store. */
export function createMemoryStore(options?: MemoryStoreOptions): MemoryIdempotencyStore {
  return new MemoryIdempotencyStore(options);
}
