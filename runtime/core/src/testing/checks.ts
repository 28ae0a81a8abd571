/**
 * The assertions the conformance suite makes, on `node:assert/strict` so it runs under any test
 * framework (each of them reports an `AssertionError` as a failure, with its actual/expected diff).
 *
 * Every helper takes an optional `what` that prefixes the generated message instead of replacing
 * it (`node:assert` drops its diff when given a message), so a failure names the check and still
 * shows the values. The stack of a failure starts at the helper's caller.
 */
import assert from 'node:assert/strict';
import { inspect } from 'node:util';

type StackStart = (...args: never[]) => unknown;

/** Run `check`; rethrow its AssertionError with `what: ` in front of the message. */
function labelled(what: string | undefined, stackStartFn: StackStart, check: () => void): void {
  try {
    check();
  } catch (error) {
    if (!(error instanceof assert.AssertionError)) throw error;
    throw failure(what, error.message, error.actual, error.expected, error.operator, stackStartFn);
  }
}

/**
 * An AssertionError with exactly `message` (prefixed with `what`). `actual`, `expected` and
 * `operator` are set after construction: given an operator such as deepStrictEqual, some Node
 * versions append their own diff to a custom message, which would repeat the one it already has.
 */
function failure(
  what: string | undefined,
  message: string,
  actual: unknown,
  expected: unknown,
  operator: string,
  stackStartFn: StackStart,
): assert.AssertionError {
  const error = new assert.AssertionError({
    message: what === undefined ? message : `${what}: ${message}`,
    stackStartFn,
  });
  Object.assign(error, { actual, expected, operator });
  return error;
}

const show = (value: unknown): string =>
  value instanceof Error ? `${value.name}: ${value.message}` : inspect(value, { depth: 4, breakLength: Infinity });

/** `Object.is(actual, expected)`. */
export function equal(actual: unknown, expected: unknown, what?: string): void {
  labelled(what, equal, () => assert.equal(actual, expected));
}

/** `actual` is not `unexpected` (`Object.is`). */
export function notEqual(actual: unknown, unexpected: unknown, what?: string): void {
  labelled(what, notEqual, () => assert.notEqual(actual, unexpected));
}

/** Deep strict equality (same prototypes, same keys, `Object.is` leaves). */
export function deepEqual(actual: unknown, expected: unknown, what?: string): void {
  labelled(what, deepEqual, () => assert.deepEqual(actual, expected));
}

/** `value` is truthy; `message` says what was expected and what was found. */
export function ok(value: unknown, message: string): void {
  labelled(undefined, ok, () => assert.ok(value, message));
}

/**
 * Every property of `expected` is in `actual` with an equal value; nested plain objects are
 * matched the same way (a subset), arrays element by element with the same length: the semantics
 * of `expect(actual).toMatchObject(expected)`. The diff shows only the properties `expected` names.
 */
export function matchObject(actual: unknown, expected: Record<string, unknown>, what?: string): void {
  labelled(what, matchObject, () => assert.deepEqual(project(actual, expected), expected));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** `actual` cut down to the shape of `expected` (a property `expected` names but `actual` lacks stays missing). */
function project(actual: unknown, expected: unknown): unknown {
  if (isPlainObject(expected) && actual !== null && typeof actual === 'object' && !Array.isArray(actual)) {
    const source = actual as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(expected)) if (key in source) out[key] = project(source[key], expected[key]);
    return out;
  }
  if (Array.isArray(expected) && Array.isArray(actual) && actual.length === expected.length)
    return actual.map((value, i) => project(value, expected[i]));
  return actual;
}

const relations = {
  '>=': { holds: (a: number, b: number) => a >= b, words: 'greater than or equal to' },
  '<': { holds: (a: number, b: number) => a < b, words: 'less than' },
  '<=': { holds: (a: number, b: number) => a <= b, words: 'less than or equal to' },
} as const;

/** `actual <op> bound`, e.g. `compare(gap, '>=', delay - 2, 'gap before attempt 2')`. */
export function compare(actual: number, op: keyof typeof relations, bound: number, what?: string): void {
  const relation = relations[op];
  if (typeof actual === 'number' && relation.holds(actual, bound)) return;
  const message = `expected ${show(actual)} to be ${relation.words} ${show(bound)}`;
  throw failure(what, message, actual, bound, op, compare);
}

/** A string contains `part`, or an array contains `part` (`Object.is`). */
export function includes(container: unknown, part: unknown, what?: string): void {
  const found =
    (typeof container === 'string' && typeof part === 'string' && container.includes(part)) ||
    (Array.isArray(container) && container.some((value) => Object.is(value, part)));
  if (found) return;
  const message = `expected ${show(container)} to contain ${show(part)}`;
  throw failure(what, message, container, part, 'includes', includes);
}

/** `list` has `length` elements; the message shows the list. */
export function hasLength(list: readonly unknown[], length: number, what?: string): void {
  if (list.length === length) return;
  const message = `expected ${show(list)} to have a length of ${length} but got ${list.length}`;
  throw failure(what, message, list.length, length, 'length', hasLength);
}

/** `value` is an instance of `type`. */
export function instanceOf(value: unknown, type: abstract new (...args: never[]) => unknown, what?: string): void {
  if (value instanceof type) return;
  const message = `expected ${show(value)} to be an instance of ${type.name}`;
  throw failure(what, message, value, type, 'instanceof', instanceOf);
}

/** `text` matches `pattern`. */
export function matches(text: unknown, pattern: RegExp, what?: string): void {
  if (typeof text === 'string' && pattern.test(text)) return;
  const message = `expected ${show(text)} to match ${String(pattern)}`;
  throw failure(what, message, text, pattern, 'match', matches);
}

/** `promise` rejects with an instance of `type`; resolves to the error. */
export async function rejectsWith<T>(
  promise: Promise<unknown>,
  type: abstract new (...args: never[]) => T,
  what?: string,
): Promise<T> {
  const outcome = await promise.then(
    (value: unknown) => ({ rejected: false as const, value }),
    (error: unknown) => ({ rejected: true as const, error }),
  );
  if (outcome.rejected) {
    instanceOf(outcome.error, type, what);
    return outcome.error as T;
  }
  const message = `expected a rejection with ${type.name}, but it resolved to ${show(outcome.value)}`;
  throw failure(what, message, outcome.value, type, 'rejects', rejectsWith);
}
