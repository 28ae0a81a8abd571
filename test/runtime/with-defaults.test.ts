/** withDefaults: an option given as `undefined` keeps its default, where a spread would lose it. */
import { describe, expect, it } from 'vitest';
import { withDefaults } from '@eventform/runtime';

describe('withDefaults', () => {
  it('keeps a default for an option given as undefined, takes every other value', () => {
    const defaults = { initialDelayMs: 100, maxDelayMs: 5_000, factor: 2 };
    expect(withDefaults(defaults, { initialDelayMs: undefined, maxDelayMs: 0, factor: 3 })).toEqual({
      initialDelayMs: 100,
      maxDelayMs: 0,
      factor: 3,
    });
    expect(withDefaults(defaults, undefined)).toEqual(defaults);
    // A spread, for contrast: what the transports did before.
    expect({ ...defaults, ...{ initialDelayMs: undefined } }.initialDelayMs).toBeUndefined();
  });

  it('does not change the defaults object, and takes keys the defaults lack', () => {
    const defaults: { a: number; b?: string | undefined } = { a: 1 };
    const out = withDefaults(defaults, { b: 'x' });
    expect(out).toEqual({ a: 1, b: 'x' });
    expect(defaults).toEqual({ a: 1 });
  });

  it('treats a __proto__ key as data to ignore, never as the prototype', () => {
    const hostile = JSON.parse('{"__proto__": {"polluted": true}, "a": 2}') as { a: number };
    const out = withDefaults({ a: 1 }, hostile);
    expect(out).toEqual({ a: 2 });
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});
