/** Which patterns may run natively against examples, and that the others cannot hang. */
import { describe, expect, it } from 'vitest';
import { RegexTimeoutError, guardedRegExp, looksLinear } from '../../generator/src/spec/guarded-regexp.js';

describe('looksLinear', () => {
  it.each([
    ['^[a-z]+$', true],
    ['^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$', true],
    ['^[^@]+@[^@]+\\.[a-z]{2,}$', true],
    ['^(EUR|USD|CNY)$', true],
    ['^(ab)?c+$', true],
    ['^a+?b$', true],
    ['[(a+)+]', true], // inside a character class: plain characters
    ['\\(a+\\)+', true], // escaped parentheses are not a group
    ['^(a+)+$', false],
    ['^(a*)*$', false],
    ['^(a|aa)+$', false],
    ['^([a-z]+-?)*$', false],
    ['^(?:x+y?){2,}$', false],
    ['(a)\\1', false],
  ])('%s → %s', (pattern, linear) => {
    expect(looksLinear(pattern)).toBe(linear);
  });
});

describe('guardedRegExp', () => {
  const engine = guardedRegExp();

  it('answers like RegExp for safe and suspicious patterns', () => {
    expect(engine('^[a-z]+$', 'u').test('abc')).toBe(true);
    expect(engine('^(a+)+$', 'u').test('aaa')).toBe(true);
    expect(engine('^(a+)+$', 'u').test('a'.repeat(40))).toBe(true); // long string, via the worker
    expect(engine('^(a+)+$', 'u').test('b'.repeat(40))).toBe(false);
  });

  it('throws for invalid patterns, like RegExp', () => {
    expect(() => engine('(', 'u')).toThrow(SyntaxError);
  });

  it('cuts catastrophic backtracking short', () => {
    // Without the guard this would run for hours; the timeout error is the proof it was cut short.
    expect(() => engine('^(a+)+$', 'u').test('a'.repeat(40) + '!')).toThrow(RegexTimeoutError);
    // A fresh worker serves the next call.
    expect(engine('^(a|b)+$', 'u').test('ab'.repeat(20))).toBe(true);
  });
});
