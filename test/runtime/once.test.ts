/** OnceUntilRejected: one run shared by every caller; again only after a rejection or a reset. */
import { describe, expect, it } from 'vitest';
import { OnceUntilRejected } from '@eventform/runtime';

describe('OnceUntilRejected', () => {
  it('runs once for concurrent and later callers, again after a rejection or reset()', async () => {
    let runs = 0;
    let fail = true;
    const once = new OnceUntilRejected(async () => {
      runs++;
      if (fail) throw new Error(`attempt ${runs}`);
    });
    const [a, b] = [once.run(), once.run()];
    expect(a).toBe(b);
    await expect(a).rejects.toThrow('attempt 1');
    fail = false;
    await once.run();
    await once.run();
    expect(runs).toBe(2);
    once.reset();
    await once.run();
    expect(runs).toBe(3);
  });
});
