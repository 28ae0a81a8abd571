/**
 * Memoized compile steps for a long-lived process (`generate --watch`): the two costly library
 * calls of the emitters, ajv's standalone code (validators.ts) and json-schema-to-typescript
 * (types.ts), are pure functions of the data they are given, so an edit that leaves that data
 * alone (a description of an event, a service, a retry policy) reuses the last result.
 *
 * Correct by construction:
 * - The key is the exact input of the call, serialized without loss (key order, `-0`, non-finite
 *   numbers and `undefined` kept apart) and hashed with SHA-256, plus the slot naming the call.
 *   Every other input of those calls is a constant of this process (library options in code).
 * - A value that cannot be serialized so (a function, a class instance) is never cached: the call
 *   just runs. A call that throws caches nothing.
 * - Bounded: {@link CompileCache.sweep} (called at the end of every `generate`) forgets every
 *   entry the run did not use, so the cache holds at most one run's results.
 *
 * A one-shot `generate` passes no cache and pays nothing for it.
 */
import { createHash } from 'node:crypto';

/** The compile steps that are cached, by name. */
export type CompileSlot = 'types' | 'validators';

export class CompileCache {
  private entries = new Map<string, string>();
  private used = new Set<string>();
  private counts = new Map<CompileSlot, { computed: number; reused: number }>();

  /**
   * The result of `compute` for `input`: the one kept from an earlier call with an equal input
   * in `slot`, or `compute()`'s, kept for next time.
   */
  async memo(slot: CompileSlot, input: unknown, compute: () => string | Promise<string>): Promise<string> {
    const serialized = serialize(input);
    const count = this.countOf(slot);
    if (serialized === undefined) {
      count.computed++;
      return compute();
    }
    const key = `${slot}:${createHash('sha256').update(serialized).digest('hex')}`;
    const kept = this.entries.get(key);
    if (kept !== undefined) {
      this.used.add(key);
      count.reused++;
      return kept;
    }
    count.computed++;
    const value = await compute();
    this.entries.set(key, value);
    this.used.add(key);
    return value;
  }

  /** Ends a run: forgets every entry not used since the previous sweep. */
  sweep(): void {
    for (const key of this.entries.keys()) if (!this.used.has(key)) this.entries.delete(key);
    this.used.clear();
  }

  /** How often `slot` was computed and reused since this cache was made (tests, diagnostics). */
  stats(slot: CompileSlot): { computed: number; reused: number } {
    return { ...this.countOf(slot) };
  }

  /** Entries kept. */
  get size(): number {
    return this.entries.size;
  }

  private countOf(slot: CompileSlot): { computed: number; reused: number } {
    let count = this.counts.get(slot);
    if (!count) this.counts.set(slot, (count = { computed: 0, reused: 0 }));
    return count;
  }
}

/**
 * `value` as text that differs whenever the value differs (JSON-like trees: plain objects in key
 * order, arrays, strings, numbers, booleans, null, undefined); undefined for anything else,
 * shared nodes and cycles included (then the caller compiles without the cache).
 */
export function serialize(value: unknown): string | undefined {
  const parts: string[] = [];
  const seen = new Set<object>();
  const walk = (v: unknown): boolean => {
    switch (typeof v) {
      case 'string':
        parts.push(JSON.stringify(v));
        return true;
      case 'number':
        // String(-0) is "0" and JSON has no NaN/Infinity: Object.is tells -0 apart.
        parts.push(Object.is(v, -0) ? 'n-0' : `n${String(v)}`);
        return true;
      case 'boolean':
        parts.push(v ? 't' : 'f');
        return true;
      case 'undefined':
        parts.push('u');
        return true;
      case 'object': {
        if (v === null) {
          parts.push('z');
          return true;
        }
        // A cycle has no finite text; a node shared by two parents is refused too: the compilers'
        // output depends on identity (json-schema-to-typescript names a titled node used twice
        // once, two equal copies X and X1), which this text cannot show.
        if (seen.has(v)) return false;
        seen.add(v);
        if (Array.isArray(v)) {
          parts.push('[');
          for (let i = 0; i < v.length; i++) {
            if (i > 0) parts.push(',');
            if (!walk(v[i])) return false;
          }
          parts.push(']');
        } else {
          const proto = Object.getPrototypeOf(v) as unknown;
          if (proto !== Object.prototype && proto !== null) return false;
          parts.push('{');
          let first = true;
          for (const key of Object.keys(v)) {
            if (!first) parts.push(',');
            first = false;
            parts.push(JSON.stringify(key), ':');
            if (!walk((v as Record<string, unknown>)[key])) return false;
          }
          parts.push('}');
        }
        return true;
      }
      default:
        return false;
    }
  };
  return walk(value) ? parts.join('') : undefined;
}
