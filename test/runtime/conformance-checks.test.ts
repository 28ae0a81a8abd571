/**
 * The assertions of the transport conformance suite (runtime/core/src/testing/checks.ts, on
 * node:assert so the suite runs under any test framework) and `isCi`, which decides whether a
 * switched-off suite may skip.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isCi } from '@eventform/runtime/testing';
import {
  compare,
  deepEqual,
  equal,
  hasLength,
  includes,
  instanceOf,
  matchObject,
  matches,
  rejectsWith,
} from '../../runtime/core/src/testing/checks.js';

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('isCi', () => {
  it('is true for CI=true, CI=1 and any other non-empty value but "false" and "0"', () => {
    for (const CI of ['true', '1', 'yes', 'TRUE', 'github']) expect(isCi({ CI }), CI).toBe(true);
    for (const CI of [undefined, '', 'false', '0']) expect(isCi({ CI }), String(CI)).toBe(false);
  });

  it('reads process.env by default', () => {
    vi.stubEnv('CI', '1');
    expect(isCi()).toBe(true);
    vi.stubEnv('CI', 'false');
    expect(isCi()).toBe(false);
  });
});

describe('the checks (node:assert based)', () => {
  const failure = (check: () => void): assert.AssertionError => {
    try {
      check();
    } catch (error) {
      expect(error).toBeInstanceOf(assert.AssertionError);
      return error as assert.AssertionError;
    }
    throw new Error('the check passed');
  };

  it('matchObject matches a subset, nested objects as subsets, arrays element by element', () => {
    matchObject({ a: 1, b: { c: 2, d: 3 }, e: [{ f: 1, g: 2 }] }, { a: 1, b: { c: 2 }, e: [{ f: 1 }] });
    matchObject({ a: null }, { a: null });
    expect(failure(() => matchObject({ a: 1 }, { a: 1, b: undefined })).message).toContain('b: undefined');
    expect(failure(() => matchObject({ a: [1, 2] }, { a: [1] })).message).toMatch(/deep-equal/);
    expect(failure(() => matchObject({ a: '2' }, { a: 2 }, 'fields')).message).toMatch(/^fields: Expected/);
    expect(failure(() => matchObject(undefined, { a: 1 }, 'line')).message).toMatch(/^line: /);
  });

  it('prefixes the label and keeps the diff once', () => {
    const error = failure(() => deepEqual([1, 3, 2], [1, 2, 3], 'order of k-a'));
    expect(error.message.startsWith('order of k-a: Expected values to be strictly deep-equal')).toBe(true);
    expect(error.message.split('+ actual - expected')).toHaveLength(2);
    expect(error.actual).toEqual([1, 3, 2]);
    expect(error.expected).toEqual([1, 2, 3]);
    expect(failure(() => equal('2', 2, 'attempt')).message).toMatch(/^attempt: Expected values to be strictly equal/);
  });

  it('compare, includes, hasLength, matches and instanceOf say what was expected', () => {
    compare(98, '>=', 98);
    compare(1, '<', 2);
    compare(2, '<=', 2);
    expect(failure(() => compare(50, '>=', 98, 'gap before attempt 2')).message).toBe(
      'gap before attempt 2: expected 50 to be greater than or equal to 98',
    );
    expect(failure(() => compare(2, '<', 2)).message).toBe('expected 2 to be less than 2');
    expect(failure(() => compare(3, '<=', 2)).message).toBe('expected 3 to be less than or equal to 2');
    includes('boom-1 at x', 'boom-1');
    includes(['/item/quantity'], '/item/quantity');
    expect(failure(() => includes(null, 'boom', 'stack')).message).toBe("stack: expected null to contain 'boom'");
    hasLength([1, 2], 2);
    expect(failure(() => hasLength([1, 2, 3], 2, 'dead letters')).message).toBe(
      'dead letters: expected [ 1, 2, 3 ] to have a length of 2 but got 3',
    );
    matches('itemId must be string', /itemId/);
    expect(failure(() => matches(undefined, /itemId/)).message).toBe('expected undefined to match /itemId/');
    instanceOf(new TypeError('x'), TypeError);
    expect(failure(() => instanceOf(new RangeError('x'), TypeError)).message).toBe(
      'expected RangeError: x to be an instance of TypeError',
    );
  });

  it('rejectsWith wants a rejection of the given class', async () => {
    const error = new TypeError('bad');
    expect(await rejectsWith(Promise.reject(error), TypeError)).toBe(error);
    await expect(rejectsWith(Promise.resolve(3), TypeError, 'publish')).rejects.toThrow(
      'publish: expected a rejection with TypeError, but it resolved to 3',
    );
    await expect(rejectsWith(Promise.reject(new RangeError('x')), TypeError)).rejects.toThrow(
      'expected RangeError: x to be an instance of TypeError',
    );
  });
});
