/**
 * Bounded decoding of a message body: everything a consumer receives is untrusted, so the body is
 * checked for size, UTF-8 and JSON nesting depth before `JSON.parse` sees it. The depth bound is
 * what keeps validation, dedupe-key extraction and handlers from overflowing the stack on a
 * payload nested 100,000 levels deep (V8 parses such text, but recursion over the result fails).
 */
import { RUNTIME_DEFAULTS } from './defaults.js';
import { BodyTooLargeError, InvalidEncodingError, InvalidJsonError } from './errors.js';

/** The bounds {@link decodeJsonBody} enforces (see `RuntimeOptions.limits`). */
export interface BodyLimits {
  maxBodyBytes: number;
  maxJsonDepth: number;
}

export const DEFAULT_BODY_LIMITS: Readonly<BodyLimits> = Object.freeze({
  maxBodyBytes: RUNTIME_DEFAULTS.maxBodyBytes,
  maxJsonDepth: RUNTIME_DEFAULTS.maxJsonDepth,
});

// `fatal`: invalid UTF-8 throws instead of becoming U+FFFD. `ignoreBOM`: a byte order mark stays in
// the text, so JSON.parse rejects it, as RFC 8259 allows and as before.
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/**
 * The deepest nesting of arrays and objects in JSON text, in one pass over the bytes without
 * recursion; brackets inside strings do not count. Works on UTF-8 bytes because no byte of a
 * multi-byte sequence is ASCII. Malformed text gets a number too (JSON.parse rejects it later);
 * a stray closing bracket never lowers the count below zero.
 */
export function jsonDepth(bytes: Uint8Array): number {
  let depth = 0;
  let max = 0;
  const n = bytes.length;
  for (let i = 0; i < n; i++) {
    const c = bytes[i]!;
    if (c === QUOTE) {
      // Skip the string: to the next quote not escaped by an odd run of backslashes.
      for (;;) {
        const end = bytes.indexOf(QUOTE, i + 1);
        if (end < 0) return max;
        let slashes = 0;
        while (bytes[end - 1 - slashes] === BACKSLASH) slashes++;
        i = end;
        if (slashes % 2 === 0) break;
      }
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > max) max = depth;
    } else if ((c === CLOSE_ARRAY || c === CLOSE_OBJECT) && depth > 0) {
      depth--;
    }
  }
  return max;
}

/**
 * Whether `json` (UTF-8 bytes, or the text they decode to: a bracket is one byte and one UTF-16
 * unit, and no other character contains one) holds at most `limit` `[` and `{` in all (inside
 * strings too), so that no nesting can go deeper: counted with native searches, which for an
 * ordinary event (a handful of brackets) costs far less than {@link jsonDepth}'s walk over every
 * byte. The text's `indexOf` is the cheaper of the two.
 */
export function fewerOpeningBrackets(json: Uint8Array | string, limit: number): boolean {
  let count = 0;
  if (typeof json === 'string') {
    for (const bracket of OPENING_TEXT) {
      for (let at = json.indexOf(bracket); at >= 0; at = json.indexOf(bracket, at + 1)) {
        if (++count > limit) return false;
      }
    }
    return true;
  }
  for (const bracket of OPENING_BYTES) {
    for (let at = json.indexOf(bracket); at >= 0; at = json.indexOf(bracket, at + 1)) {
      if (++count > limit) return false;
    }
  }
  return true;
}

const OPENING_BYTES = [OPEN_OBJECT, OPEN_ARRAY] as const;
const OPENING_TEXT = ['{', '['] as const;

/**
 * Decode a JSON body within `limits`: its size, then UTF-8 (strict), then its nesting depth, then
 * `JSON.parse`. Throws {@link BodyTooLargeError}, {@link InvalidEncodingError} or
 * {@link InvalidJsonError} (syntax, or nested too deep).
 */
export function decodeJsonBody(body: Uint8Array, limits: BodyLimits = DEFAULT_BODY_LIMITS): unknown {
  if (body.length > limits.maxBodyBytes) {
    throw new BodyTooLargeError(`Body is ${body.length} bytes; this consumer accepts at most ${limits.maxBodyBytes}`);
  }
  let text: string;
  try {
    text = UTF8.decode(body);
  } catch (error) {
    throw new InvalidEncodingError('Body is not valid UTF-8 (JSON text must be)', { cause: error });
  }
  // Nesting deeper than maxJsonDepth takes more than maxJsonDepth bytes, and more opening brackets
  // (counted in the text: each is one byte of UTF-8 and one unit of the string).
  if (body.length > limits.maxJsonDepth && !fewerOpeningBrackets(text, limits.maxJsonDepth)) {
    const depth = jsonDepth(body);
    if (depth > limits.maxJsonDepth) {
      throw new InvalidJsonError(
        `Body is JSON nested ${depth} levels deep; this consumer accepts at most ${limits.maxJsonDepth}`,
      );
    }
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InvalidJsonError(`Body is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
}
