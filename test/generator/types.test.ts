/**
 * Type tests: test/generator/types/*.ts use the generated shop code (generated/) and mark with
 * `@ts-expect-error` every line that must not compile. Two checks keep them honest:
 * 1. the files compile as they are (an unused directive is itself an error, TS2578);
 * 2. for each directive, a copy of the file without it fails on exactly the line below it —
 *    so no directive can pass by accident, and the test can fail.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './support/cases.js';
import { formatTypeErrors, typecheck } from './support/tsc.js';

const TYPES_DIR = path.join(REPO_ROOT, 'test/generator/types');
const files = fs
  .readdirSync(TYPES_DIR)
  .filter((f) => f.endsWith('.ts') && !f.startsWith('__'))
  .sort()
  .map((f) => path.join(TYPES_DIR, f));

interface Variant {
  file: string;
  /** 1-based line of the removed directive; the error must be on the next line. */
  directiveLine: number;
  reason: string;
}

/** Every file with one directive removed, served from memory next to the original. */
function variantsOf(sources: string[]): { memory: Map<string, string>; variants: Variant[] } {
  const memory = new Map<string, string>();
  const variants: Variant[] = [];
  for (const file of sources) {
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    lines.forEach((line, index) => {
      const match = /^\s*\/\/ @ts-expect-error\s*(.*)$/.exec(line);
      if (!match) return;
      const variantFile = path.join(TYPES_DIR, `__variant_${path.basename(file, '.ts')}_${index + 1}.ts`);
      const copy = [...lines];
      copy[index] = '//';
      memory.set(variantFile, copy.join('\n'));
      variants.push({ file: variantFile, directiveLine: index + 1, reason: match[1] ?? '' });
    });
  }
  return { memory, variants };
}

describe('type tests (@ts-expect-error)', () => {
  // One compiler run for the originals and every variant (the program is the slow part).
  const { memory, variants } = variantsOf(files);
  let errors: ReturnType<typeof typecheck> | undefined;
  const check = (): ReturnType<typeof typecheck> => (errors ??= typecheck(files, [TYPES_DIR], memory));

  it('compile as written, every directive used', () => {
    expect(files.length).toBeGreaterThanOrEqual(2);
    expect(formatTypeErrors(check().filter((e) => files.includes(e.file)))).toBe('');
  }, 120_000);

  it('each directive guards a real compile error', () => {
    expect(variants.length).toBeGreaterThanOrEqual(10);
    for (const variant of variants) {
      const own = check().filter((e) => e.file === variant.file);
      const label = `${path.basename(variant.file)} (${variant.reason})`;
      expect(own.length, `${label}: removing the directive must make tsc fail`).toBeGreaterThan(0);
      expect(
        own.filter((e) => e.line !== variant.directiveLine + 1),
        `${label}: errors elsewhere than the guarded line`,
      ).toEqual([]);
    }
  }, 120_000);
});
