/** OnceUntilRejected: one run shared by every caller; again only after a rejection or a reset. */
import { describe, expect, it } from 'vitest';
import { OnceUntilRejected } from '@eventform/runtime';

describe('OnceUntilRejected', () => {
  it('runs once for concurrent and later callers, again after a rejection or reset()', async () => {
    let runs = 0;
    let fail = true;
    const once = new OnceUntilRejected();
    const start = async () => {
      runs++;
      if (fail) throw new Error(`attempt ${runs}`);
    };
    const [a, b] = [once.run(start), once.run(start)];
    expect(a).toBe(b);
    await expect(a).rejects.toThrow('attempt 1');
    fail = false;
    await once.run(start);
    await once.run(start);
    expect(runs).toBe(2);
    once.reset();
    await once.run(start);
    expect(runs).toBe(3);
  });

  it('settled() waits for a start under way, whichever way it ends, and not at all without one', async () => {
    const once = new OnceUntilRejected();
    await once.settled();
    let fail!: (e: Error) => void;
    const running = once.run(() => new Promise<void>((_, reject) => (fail = reject)));
    running.catch(() => undefined);
    let settled = false;
    const waiting = once.settled().then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    fail(new Error('no'));
    await waiting;
    expect(settled).toBe(true);
  });
});
