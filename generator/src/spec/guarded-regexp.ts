/**
 * A RegExp engine for ajv that cannot hang the loader. Topology `pattern`s run against the
 * topology's own `examples` at validation time; a pattern like `(a+)+$` on a long example would
 * backtrack for minutes. Patterns that are plainly linear (no quantified group that itself
 * contains a quantifier or an alternation, no back-references) run natively; the others run in
 * a worker thread, and the loader waits for the answer at most {@link REGEX_TIMEOUT_MS}.
 */
import { Worker } from 'node:worker_threads';

/** How long one suspicious pattern may take on one string. */
export const REGEX_TIMEOUT_MS = 250;
/** Strings this short cannot backtrack for long whatever the pattern (2^16 steps). */
const SHORT = 16;

export class RegexTimeoutError extends Error {
  constructor(pattern: string) {
    super(`pattern /${pattern}/ took longer than ${REGEX_TIMEOUT_MS}ms (catastrophic backtracking?)`);
    this.name = 'RegexTimeoutError';
  }
}

interface RegExpLike {
  test(s: string): boolean;
}

/** ajv `code.regExp` engine. */
export function guardedRegExp(): ((pattern: string, flags: string) => RegExpLike) & { code: string } {
  const engine = (pattern: string, flags: string): RegExpLike => {
    const native = new RegExp(pattern, flags); // throws for invalid patterns, as ajv expects
    if (looksLinear(pattern)) return native;
    return {
      test: (s: string) => (s.length <= SHORT ? native.test(s) : sandbox.test(pattern, flags, s)),
      toString: () => `${native.toString()} (guarded)`,
    } as RegExpLike;
  };
  // Only used when ajv emits standalone code, which the loader never does.
  engine.code = 'new RegExp';
  return engine;
}

/**
 * Star height ≤ 1 and no alternation under a repeat and no back-reference: cannot backtrack
 * exponentially. Conservative: false means "maybe slow", not "slow".
 */
export function looksLinear(pattern: string): boolean {
  const groups: { risky: boolean }[] = [];
  let riskyClosed: boolean | undefined; // the group that just closed, if any
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    const wasGroup = riskyClosed;
    riskyClosed = undefined;
    if (c === '\\') {
      if (/[1-9k]/.test(pattern[i + 1] ?? '')) return false; // back-reference
      i++;
      continue;
    }
    if (c === '[') {
      // Skip the character class.
      for (i++; i < pattern.length && pattern[i] !== ']'; i++) if (pattern[i] === '\\') i++;
      continue;
    }
    if (c === '(') {
      groups.push({ risky: false });
      continue;
    }
    if (c === ')') {
      riskyClosed = groups.pop()?.risky ?? false;
      continue;
    }
    if (c === '|') {
      const top = groups[groups.length - 1];
      if (top) top.risky = true;
      continue;
    }
    if (c === '*' || c === '+' || c === '{' || c === '?') {
      if (c === '?' && wasGroup === undefined && /[*+?}]/.test(pattern[i - 1] ?? '')) continue; // lazy modifier
      const repeats = c !== '?';
      if (repeats && wasGroup === true) return false; // (…+…)+ or (a|b)+
      if (repeats) for (const g of groups) g.risky = true;
      if (c === '{') while (i < pattern.length && pattern[i] !== '}') i++;
    }
  }
  return true;
}

/** One worker per process, started on first use, replaced after a timeout. */
const sandbox = new (class {
  private worker: Worker | undefined;
  private shared: Int32Array | undefined;

  test(pattern: string, flags: string, s: string): boolean {
    const { worker, shared } = this.start();
    Atomics.store(shared, 1, 0);
    worker.postMessage({ pattern, flags, s });
    if (Atomics.wait(shared, 1, 0, REGEX_TIMEOUT_MS) === 'timed-out') {
      void worker.terminate();
      this.worker = undefined;
      throw new RegexTimeoutError(pattern);
    }
    return Atomics.load(shared, 2) === 1;
  }

  private start(): { worker: Worker; shared: Int32Array } {
    if (this.worker && this.shared) return { worker: this.worker, shared: this.shared };
    // [0] ready, [1] done, [2] result
    const shared = new Int32Array(new SharedArrayBuffer(12));
    const worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       const a = workerData;
       parentPort.on('message', ({ pattern, flags, s }) => {
         let r = 0;
         try { r = new RegExp(pattern, flags).test(s) ? 1 : 0; } catch { r = 0; }
         Atomics.store(a, 2, r); Atomics.store(a, 1, 1); Atomics.notify(a, 1);
       });
       Atomics.store(a, 0, 1); Atomics.notify(a, 0);`,
      { eval: true, workerData: shared },
    );
    worker.unref();
    // Start-up is not part of the pattern's budget; allow a slow machine several seconds.
    Atomics.wait(shared, 0, 0, 10_000);
    this.worker = worker;
    this.shared = shared;
    return { worker, shared };
  }
})();
