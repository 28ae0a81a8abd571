import { describe, expect, it } from 'vitest';
import { MemoryIdempotencyStore } from '@eventform/runtime';

const later = <T>(ms: number, value: T) => new Promise<T>((r) => setTimeout(() => r(value), ms));

describe('memory idempotency store', () => {
  it('runs a key once, then reports duplicates; keys are per consumer', async () => {
    const store = new MemoryIdempotencyStore();
    expect(await store.run('c1', 'k', 60_000, async () => 'first')).toEqual({ duplicate: false, value: 'first' });
    expect(await store.run('c1', 'k', 60_000, async () => 'again')).toEqual({ duplicate: true });
    expect(await store.run('c2', 'k', 60_000, async () => 'other')).toEqual({ duplicate: false, value: 'other' });
  });

  it('leaves the key unmarked when fn throws', async () => {
    const store = new MemoryIdempotencyStore();
    await expect(store.run('c', 'k', 60_000, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await store.run('c', 'k', 60_000, async () => 'retried')).toEqual({ duplicate: false, value: 'retried' });
  });

  it('serialises concurrent runs of one key: the second waits, then sees a duplicate', async () => {
    const store = new MemoryIdempotencyStore();
    const events: string[] = [];
    const first = store.run('c', 'k', 60_000, async () => {
      events.push('first start');
      await later(30, null);
      events.push('first end');
      return 1;
    });
    const second = store.run('c', 'k', 60_000, async () => {
      events.push('second ran');
      return 2;
    });
    expect(await Promise.all([first, second])).toEqual([{ duplicate: false, value: 1 }, { duplicate: true }]);
    expect(events).toEqual(['first start', 'first end']);
  });

  it('lets a waiting run proceed when the running one fails', async () => {
    const store = new MemoryIdempotencyStore();
    const first = store.run('c', 'k', 60_000, async () => {
      await later(20, null);
      throw new Error('crash');
    });
    const second = store.run('c', 'k', 60_000, async () => 'second');
    await expect(first).rejects.toThrow('crash');
    expect(await second).toEqual({ duplicate: false, value: 'second' });
  });

  it('lets several waiters of one key through one at a time after a failed run', async () => {
    const store = new MemoryIdempotencyStore();
    const ran: number[] = [];
    const runs = [0, 1, 2, 3].map((n) =>
      store.run('c', 'k', 60_000, async () => {
        ran.push(n);
        await later(5, null);
        if (n === 0) throw new Error('first fails');
        return n;
      }),
    );
    const results = await Promise.allSettled(runs);
    expect(results[0]!.status).toBe('rejected');
    // After the failure exactly one waiter runs and marks; the rest see a duplicate.
    expect(ran).toHaveLength(2);
    const values = results.slice(1).map((r) => (r.status === 'fulfilled' ? r.value : r.reason));
    expect(values.filter((v) => JSON.stringify(v) === '{"duplicate":true}')).toHaveLength(2);
  });

  it('runs different keys in parallel', async () => {
    const store = new MemoryIdempotencyStore();
    // Each handler waits for all three to have started: only parallel runs can finish.
    let release!: () => void;
    const allStarted = new Promise<void>((resolve) => (release = resolve));
    let started = 0;
    const runs = ['a', 'b', 'c'].map((k) =>
      store.run('c', k, 60_000, async () => {
        if (++started === 3) release();
        await allStarted;
        return k;
      }),
    );
    await Promise.race([allStarted, later(5_000, null)]);
    expect(started).toBe(3);
    expect(await Promise.all(runs)).toEqual(['a', 'b', 'c'].map((value) => ({ duplicate: false, value })));
  });

  it('forgets a key after its window, and purges expired keys', async () => {
    let now = 1_000;
    const store = new MemoryIdempotencyStore({ now: () => now, purgeIntervalMs: 0 });
    await store.run('c', 'short', 100, async () => 0);
    await store.run('c', 'long', 10_000, async () => 0);
    now += 99;
    expect(await store.run('c', 'short', 100, async () => 1)).toEqual({ duplicate: true });
    now += 1;
    expect(await store.run('c', 'short', 100, async () => 2)).toEqual({ duplicate: false, value: 2 });
    now += 200;
    expect(store.size).toBe(2);
    expect(await store.purgeExpired()).toBe(1);
    expect(store.size).toBe(1);
    expect(await store.run('c', 'long', 10_000, async () => 3)).toEqual({ duplicate: true });
  });

  it('evicts the oldest entries beyond maxEntries', async () => {
    const store = new MemoryIdempotencyStore({ maxEntries: 3 });
    for (const k of ['a', 'b', 'c', 'd']) await store.run('c', k, 60_000, async () => k);
    expect(store.size).toBe(3);
    expect(await store.run('c', 'a', 60_000, async () => 'a again')).toEqual({ duplicate: false, value: 'a again' });
    expect(await store.run('c', 'd', 60_000, async () => 'd again')).toEqual({ duplicate: true });
  });

  it('evicts in marking order, skipping entries already purged or re-marked', async () => {
    let now = 0;
    const store = new MemoryIdempotencyStore({ maxEntries: 2, now: () => now, purgeIntervalMs: 0 });
    await store.run('c', 'a', 10, async () => 0); // expires at 10
    await store.run('c', 'b', 1_000, async () => 0);
    now = 20;
    expect(await store.purgeExpired()).toBe(1); // a gone; its order record is stale
    await store.run('c', 'a', 1_000, async () => 0); // a re-marked, newer than b
    await store.run('c', 'd', 1_000, async () => 0); // over the bound: b (oldest live) goes
    expect(store.size).toBe(2);
    expect(await store.run('c', 'a', 1_000, async () => 1)).toEqual({ duplicate: true });
    expect(await store.run('c', 'd', 1_000, async () => 1)).toEqual({ duplicate: true });
    expect(await store.run('c', 'b', 1_000, async () => 1)).toEqual({ duplicate: false, value: 1 });
  });

  it('stays within maxEntries by count and evicts oldest mark first, across consumers, purges and many evictions', async () => {
    let now = 0;
    const store = new MemoryIdempotencyStore({ maxEntries: 5, now: () => now, purgeIntervalMs: 0 });
    const marked: string[] = []; // full keys in marking order, as the store should keep them
    for (let i = 0; i < 2_000; i++) {
      const consumer = i % 3 === 0 ? 'c2' : 'c1';
      // Every 7th key expires at once and is purged: deleted slots in front of the eviction cursor.
      const windowMs = i % 7 === 0 ? 1 : 1_000_000;
      await store.run(consumer, `k${i}`, windowMs, async () => i);
      marked.push(`${consumer}/k${i}`);
      if (i % 7 === 0) {
        now += 1;
        expect(await store.purgeExpired()).toBe(1);
        marked.pop();
      }
      expect(store.size).toBeLessThanOrEqual(5);
    }
    expect(store.size).toBe(5);
    const kept = marked.slice(-5);
    const evicted = marked.slice(-8, -5);
    for (const full of kept) {
      const [consumer, key] = full.split('/') as [string, string];
      expect(await store.run(consumer, key, 1_000_000, async () => 'again'), full).toEqual({ duplicate: true });
    }
    // Each of these is run (not a duplicate) and marked again, evicting one of the kept ones per run.
    for (const full of evicted) {
      const [consumer, key] = full.split('/') as [string, string];
      expect(await store.run(consumer, key, 1_000_000, async () => 'again'), full).toEqual({
        duplicate: false,
        value: 'again',
      });
    }
    // The three oldest kept keys went; the two newest and the three re-marked ones remain.
    const [consumer, key] = kept[0]!.split('/') as [string, string];
    expect(await store.run(consumer, key, 1_000_000, async () => 'third')).toEqual({
      duplicate: false,
      value: 'third',
    });
    expect(store.size).toBe(5);
  });

  it('keeps entries across close() and init() (a restarted runtime reuses the instance)', async () => {
    const store = new MemoryIdempotencyStore({ purgeIntervalMs: 10 });
    await store.init();
    await store.run('c', 'k', 60_000, async () => 0);
    await store.close();
    await store.init();
    expect(await store.run('c', 'k', 60_000, async () => 1)).toEqual({ duplicate: true });
    await store.close();
  });
});
