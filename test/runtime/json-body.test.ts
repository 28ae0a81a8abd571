import { describe, expect, it } from 'vitest';
import {
  BodyTooLargeError,
  InvalidEncodingError,
  InvalidJsonError,
  RUNTIME_DEFAULTS,
  fewerOpeningBrackets,
  jsonDepth,
  parseJsonBody,
} from '@eventform/runtime';

const nested = (levels: number, open = '[', close = ']') => open.repeat(levels) + close.repeat(levels);

describe('jsonDepth', () => {
  it.each([
    ['a scalar', 0, '42'],
    ['a string', 0, '"x"'],
    ['an empty object', 1, '{}'],
    ['objects and arrays', 4, '{"a":[1,{"b":[]}]}'],
    ['siblings do not add up', 3, '[[1],[2],[[3]]]'],
    ['brackets inside a string', 1, '["[[[{{{"]'],
    ['an escaped quote inside a string', 1, '["a\\"[[[", 1]'],
    ['an escaped backslash ending a string', 3, '["a\\\\", [[2]]]'],
    ['three backslashes then a quote', 2, '["\\\\\\"[[", []]'],
    ['an unterminated string', 2, '[["abc'],
    ['multi-byte UTF-8 text', 2, '{"é€😀":["ü"]}'],
    ['malformed closing brackets', 1, ']]]]['],
    ['100,000 levels', 100_000, nested(100_000)],
  ])('%s → %i', (_name, depth, text) => {
    expect(jsonDepth(Buffer.from(text))).toBe(depth);
  });
});

describe('fewerOpeningBrackets: the cheap test before jsonDepth', () => {
  it.each([
    ['{"a":[1,2],"b":{}}', 3, true],
    ['{"a":[1,2],"b":{}}', 2, false],
    ['"[[[[{{{{"', 7, false], // brackets inside strings count too: then jsonDepth decides
    ['1', 0, true],
  ])('%s with limit %i: %s', (text, limit, expected) => {
    expect(fewerOpeningBrackets(Buffer.from(text), limit)).toBe(expected);
  });

  it('never lets a body through that jsonDepth would refuse', () => {
    const limits = { maxBodyBytes: 1e6, maxJsonDepth: 4 };
    expect(() => parseJsonBody(Buffer.from('{"s":"[[[[[[","a":[[[[1]]]]}'), limits)).toThrow(InvalidJsonError);
    expect(parseJsonBody(Buffer.from('{"s":"[[[[[[","a":[[[1]]]}'), limits)).toEqual({ s: '[[[[[[', a: [[[1]]] });
  });
});

describe('parseJsonBody within limits', () => {
  const limits = { maxBodyBytes: 64, maxJsonDepth: 3 };

  it('parses what is within the limits', () => {
    expect(parseJsonBody(Buffer.from('{"a":[[1]]}'), limits)).toEqual({ a: [[1]] });
    expect(parseJsonBody(Buffer.from('"' + 'x'.repeat(60) + '"'), limits)).toBe('x'.repeat(60));
  });

  it('refuses a body over maxBodyBytes before decoding it', () => {
    const body = Buffer.from('"' + 'x'.repeat(63) + '"');
    expect(() => parseJsonBody(body, limits)).toThrow(BodyTooLargeError);
    expect(() => parseJsonBody(body, limits)).toThrow('Body is 65 bytes; this consumer accepts at most 64');
  });

  it('refuses invalid UTF-8 instead of replacing it with U+FFFD', () => {
    for (const bytes of [
      [0x22, 0xff, 0x22], // a byte that never occurs in UTF-8
      [0x22, 0xc3, 0x22], // a truncated two-byte sequence
      [0x22, 0xed, 0xa0, 0x80, 0x22], // an encoded surrogate
      [0x22, 0xc0, 0xaf, 0x22], // an overlong encoding of "/"
    ]) {
      expect(() => parseJsonBody(Buffer.from(bytes), limits), JSON.stringify(bytes)).toThrow(InvalidEncodingError);
    }
    expect(parseJsonBody(Buffer.from('"é€😀"'), limits)).toBe('é€😀');
  });

  it('refuses JSON nested deeper than maxJsonDepth, saying how deep, before parsing it', () => {
    expect(parseJsonBody(Buffer.from(nested(3)), limits)).toEqual([[[]]]);
    expect(() => parseJsonBody(Buffer.from(nested(4)), limits)).toThrow(InvalidJsonError);
    expect(() => parseJsonBody(Buffer.from(nested(100_000)), { maxBodyBytes: 1e6, maxJsonDepth: 128 })).toThrow(
      'Body is JSON nested 100000 levels deep; this consumer accepts at most 128',
    );
  });

  it('keeps rejecting what is not JSON, a byte order mark included', () => {
    expect(() => parseJsonBody(Buffer.from('{oops'), limits)).toThrow(/^Body is not valid JSON/);
    expect(() => parseJsonBody(Buffer.from('\uFEFF{}'), limits)).toThrow(InvalidJsonError);
  });

  it('uses the runtime defaults without limits: 1 MiB and 128 levels', () => {
    expect(RUNTIME_DEFAULTS).toMatchObject({ maxBodyBytes: 1_048_576, maxJsonDepth: 128 });
    expect(parseJsonBody(Buffer.from(nested(128)))).toBeDefined();
    expect(() => parseJsonBody(Buffer.from(nested(129)))).toThrow(InvalidJsonError);
    const big = Buffer.from(JSON.stringify('x'.repeat(1_048_575)));
    expect(() => parseJsonBody(big)).toThrow(BodyTooLargeError);
  });
});
