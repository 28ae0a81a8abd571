/** docs/dlq.md documents every sub-command and option `eventform dlq` has, and every dead-letter reason. */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { DEAD_LETTER_REASONS } from '@eventform/runtime';
import { register } from '../../generator/src/cli/dlq.js';

const doc = readFileSync(new URL('../../docs/dlq.md', import.meta.url), 'utf8');

describe('docs/dlq.md', () => {
  const dlq = register(new Command('eventform'));

  it('names every sub-command and every option', () => {
    const missing: string[] = [];
    for (const sub of dlq.commands) {
      if (!doc.includes(`## ${sub.name()}`)) missing.push(`section ${sub.name()}`);
      for (const option of sub.options) if (!doc.includes(option.long!)) missing.push(`${sub.name()} ${option.long}`);
    }
    expect(dlq.commands.map((c) => c.name())).toEqual(['list', 'show', 'replay', 'purge']);
    expect(missing).toEqual([]);
  });

  it('lists every dead-letter reason', () => {
    expect(DEAD_LETTER_REASONS.filter((r) => !doc.includes(`\`${r}\``))).toEqual([]);
  });
});
