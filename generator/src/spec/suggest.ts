/** "Did you mean" suggestions by edit distance. */

/** Levenshtein distance, O(n·m) time, O(m) memory; inputs here are short names. */
export function levenshtein(a: string, b: string): number {
  if (a === b) return 0;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * The closest candidate, or undefined when nothing is close enough. A case-insensitive match
 * wins; otherwise the distance must be at most a third of the word (min 1, max 3).
 */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  if (word.length > 200) return undefined;
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestDist = Infinity;
  for (const c of candidates) {
    if (c.toLowerCase() === lower) return c;
    const d = levenshtein(lower, c.toLowerCase());
    if (d < bestDist || (d === bestDist && best !== undefined && c < best)) {
      best = c;
      bestDist = d;
    }
  }
  const limit = Math.min(3, Math.max(1, Math.floor(word.length / 3)));
  if (bestDist <= limit) return best;
  // Inflections and truncations: `retries` → `retry`, `idempotent` → `idempotency`.
  let bestPrefix: string | undefined;
  let bestLen = 0;
  for (const c of candidates) {
    const n = commonPrefix(lower, c.toLowerCase());
    if (n >= 4 && n >= 0.6 * Math.min(word.length, c.length) && n > bestLen) {
      bestPrefix = c;
      bestLen = n;
    }
  }
  return bestPrefix;
}

function commonPrefix(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

/** `did you mean 'x'?` or undefined. */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  const c = closest(word, candidates);
  return c === undefined ? undefined : `did you mean '${c}'?`;
}
