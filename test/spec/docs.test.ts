/**
 * docs/diagnostics.md documents every code, and each example there is real: its YAML, saved as
 * topology.yaml, produces the diagnostic line shown under it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CODES, loadTopology } from '../../generator/src/spec/index.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const doc = readFileSync(path.join(ROOT, 'docs/diagnostics.md'), 'utf8');

interface Section {
  code: string;
  yaml?: string;
  files: Record<string, string>;
  expected: string;
}

function sections(): Section[] {
  return doc
    .split(/^## /m)
    .slice(1)
    .map((chunk) => {
      const code = chunk.slice(0, 6);
      const yaml = /```yaml\n([\s\S]*?)```/.exec(chunk)?.[1];
      const files: Record<string, string> = {};
      for (const m of chunk.matchAll(/`([\w.-]+)`:\n\n```json\n([\s\S]*?)\n```/g)) files[m[1]!] = m[2]!;
      const expected = /```text\n(.*)\n/.exec(chunk)?.[1] ?? '';
      return { code, yaml, files, expected };
    });
}

describe('docs/diagnostics.md', () => {
  it('has one section per code, in code order', () => {
    expect(sections().map((s) => s.code)).toEqual(Object.keys(CODES));
  });

  it('states the right severity and title for each code', () => {
    for (const [code, info] of Object.entries(CODES)) {
      expect(doc).toContain(`| [${code}](#${code.toLowerCase()}) | ${info.severity} | ${info.title} |`);
      expect(doc).toContain(`## ${code}\n\n**${info.severity}: ${info.title}.**`);
    }
  });

  it.each(
    sections()
      .filter((s) => s.yaml !== undefined)
      .map((s) => [s.code, s] as const),
  )('%s example is real', (code, s) => {
    const { diagnostics } = loadTopology('topology.yaml', {
      text: s.yaml!,
      readFile: (p) => {
        const text = s.files[path.basename(p)];
        if (text === undefined) throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
        return text;
      },
    });
    const lines = diagnostics
      .filter((d) => d.code === code)
      .map((d) => `${d.file}:${d.line}:${d.col} ${d.severity} ${d.code} ${d.message}`);
    const expected = s.expected.endsWith('...') ? s.expected.slice(0, -3) : s.expected;
    expect(
      lines.some((l) => l.startsWith(expected)),
      `${lines.join('\n')}\n---\n${expected}`,
    ).toBe(true);
  });
});
