/** Every validation rule: exact code, position, message (and did-you-mean hint) per case. */
import { describe, expect, it } from 'vitest';
import { loadTopology, type Diagnostic } from '../../generator/src/spec/index.js';
import { RULES, type RuleCase } from './rule-cases.js';

const FILE = '/virtual/t.yaml';

function load(c: RuleCase) {
  return loadTopology(FILE, {
    text: c.yaml,
    readFile: (p) => {
      const text = c.files?.[p];
      if (text === undefined) throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
      return text;
    },
  });
}

const show = (d: Diagnostic) =>
  `${d.file === FILE ? '' : d.file.replace('/virtual/', '') + ' '}${d.code} ${d.line}:${d.col} ${d.message}`;

describe('validation rules', () => {
  it.each(RULES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const { ir, diagnostics } = load(c);
    expect(diagnostics.map(show)).toEqual(c.expect);
    const hints = diagnostics.filter((d) => d.hint?.startsWith('did you mean')).map((d) => d.hint);
    expect(hints).toEqual(c.hints ?? []);
    // The IR exists exactly when there is no error.
    const hasError = diagnostics.some((d) => d.severity === 'error');
    expect(ir === null).toBe(hasError);
  });

  it('covers every diagnostic code except the file-system ones', async () => {
    const { CODES } = await import('../../generator/src/spec/codes.js');
    const seen = new Set(RULES.flatMap((c) => load(c).diagnostics.map((d) => d.code)));
    // EF1001 (missing file), EF1002 (size), EF1003 (binary), EF1009 (depth) and EF9013 (YAML
    // warnings) and EF9014 (output cap) are exercised by hostile.test.ts and the CLI corpus.
    const elsewhere = new Set(['EF1001', 'EF1002', 'EF1003', 'EF1009', 'EF9013', 'EF9014']);
    const missing = Object.keys(CODES).filter((c) => !seen.has(c) && !elsewhere.has(c));
    expect(missing).toEqual([]);
  });
});
