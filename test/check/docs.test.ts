/** docs/contract-checks.md lists every rule of generator/check/rules.ts, with the same name. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RULES, type RuleId } from '../../generator/src/check/rules.js';

const doc = readFileSync(new URL('../../docs/contract-checks.md', import.meta.url), 'utf8');

describe('docs/contract-checks.md', () => {
  it('has a row for every rule, with its name', () => {
    const rows = new Map<string, string>();
    for (const m of doc.matchAll(/^\| (EFC\d{3}) \| `([a-z-]+)` \|/gm)) rows.set(m[1]!, m[2]!);
    const expected = new Map((Object.keys(RULES) as RuleId[]).map((id) => [id, RULES[id].name] as const));
    expect(rows).toEqual(expected);
  });

  it('mentions only rules that exist', () => {
    const mentioned = new Set([...doc.matchAll(/\bEFC\d{3}\b/g)].map((m) => m[0]));
    expect([...mentioned].filter((id) => !(id in RULES))).toEqual([]);
  });

  it('has the CI workflow the issue asks for', () => {
    expect(doc).toContain('fetch-depth: 0');
    expect(doc).toContain('npm ci');
    expect(doc).toContain('npx eventform check --against origin/main --format github');
    expect(doc).toContain('npx eventform generate --check');
  });
});
