import { describe, expect, it } from 'vitest';
import { Deque } from '../../runtime/core/src/deque.js';

describe('Deque', () => {
  it('is FIFO with unshift to the front, across compaction', () => {
    const q = new Deque<number>();
    for (let i = 0; i < 5_000; i++) q.push(i);
    for (let i = 0; i < 3_000; i++) expect(q.shift()).toBe(i);
    q.unshift(-1);
    expect(q.length).toBe(2_001);
    expect(q.shift()).toBe(-1);
    expect([...q].slice(0, 2)).toEqual([3_000, 3_001]);
    q.clear();
    expect(q.shift()).toBeUndefined();
    q.unshift(7);
    expect([...q]).toEqual([7]);
  });
});
