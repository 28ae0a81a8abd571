/**
 * Hostile input, in process: each case must end with the right diagnostic, without throwing,
 * within a second. (test/cli runs the committed corpus through the real CLI.)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LIMITS, loadTopology } from '../../generator/src/spec/index.js';

function bomb(levels: number, fanout: number): string {
  let s = `topology: bomb\nl0: &l0 [${Array(fanout).fill('"lol"').join(',')}]\n`;
  for (let i = 1; i < levels; i++)
    s += `l${i}: &l${i} [${Array(fanout)
      .fill(`*l${i - 1}`)
      .join(',')}]\n`;
  return s + `events: { BombDropped: { payload: *l${levels - 1} } }\n`;
}

const CASES: { name: string; input: () => string | Uint8Array; code: string; at?: string }[] = [
  { name: 'billion laughs (9×9)', input: () => bomb(9, 9), code: 'EF1008' },
  { name: 'wide alias bomb (20×20)', input: () => bomb(20, 20), code: 'EF1008' },
  { name: 'alias to its own ancestor', input: () => 'topology: t\nevents: &e { A: *e }\n', code: 'EF1008', at: '2:17' },
  {
    name: '100k-deep flow sequence',
    input: () => 'topology: t\nevents: ' + '['.repeat(100_000) + ']'.repeat(100_000) + '\n',
    code: 'EF1009',
  },
  {
    name: '100k-deep flow mapping',
    input: () => 'topology: t\nevents: ' + '{a: '.repeat(100_000) + '1' + '}'.repeat(100_000) + '\n',
    code: 'EF1009',
  },
  {
    name: '10k-deep block sequence',
    input: () => 'topology: t\nevents:\n  ' + '- '.repeat(10_000) + 'x\n',
    code: 'EF1009',
  },
  {
    name: '300-deep indented mapping',
    input: () => 'topology: t\nevents:\n' + Array.from({ length: 300 }, (_, i) => ' '.repeat(i + 1) + 'k:\n').join(''),
    code: 'EF1009',
  },
  {
    name: '70-deep nesting (under the pre-scan, over the limit)',
    input: () => 'topology: t\nevents: ' + '{a: '.repeat(70) + '1' + '}'.repeat(70) + '\n',
    code: 'EF1009',
  },
  { name: 'unclosed brackets', input: () => 'topology: t\nevents: ' + '['.repeat(5000) + '\n', code: 'EF1009' },
  {
    name: 'quoted brackets do not count as nesting',
    input: () => `topology: t\ndescription: "${'['.repeat(5000)}"\nevents: {}\n`,
    code: 'EF2006',
  },
  {
    name: '6 MiB file',
    input: () => 'topology: t\n' + '# padding\n'.repeat((6 * 1024 * 1024) / 10),
    code: 'EF1002',
    at: '1:1',
  },
  { name: 'just over the size limit', input: () => 'x'.repeat(LIMITS.maxFileBytes + 1), code: 'EF1002' },
  { name: 'NUL bytes', input: () => new Uint8Array([0x74, 0x3a, 0x20, 0x00, 0x0a]), code: 'EF1003', at: '1:4' },
  { name: 'invalid UTF-8', input: () => new Uint8Array([0x74, 0x3a, 0x20, 0xc3, 0x28, 0x0a]), code: 'EF1003' },
  {
    name: 'random bytes',
    input: () => new Uint8Array(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256)),
    code: 'EF1003',
  },
  { name: 'empty', input: () => '', code: 'EF1004' },
  { name: 'whitespace only', input: () => '  \n\n   \n', code: 'EF1004' },
  { name: 'document marker only', input: () => '---\n', code: 'EF1004' },
  { name: 'BOM then nothing', input: () => '\ufeff', code: 'EF1004' },
  { name: '10k documents', input: () => 'a: 1\n---\n'.repeat(10_000), code: 'EF1010' },
  { name: '2k duplicate keys', input: () => 'topology: t\n' + 'events: {}\n'.repeat(2_000), code: 'EF1006' },
  {
    name: '3k unknown fields (output capped)',
    input: () => 'topology: t\n' + Array.from({ length: 3_000 }, (_, i) => `k${i}: ${i}`).join('\n') + '\n',
    code: 'EF9014',
  },
  { name: 'custom tag', input: () => 'topology: !shout t\nevents: { A: { payload: true } }\n', code: 'EF9013' },
  { name: 'binary tag', input: () => 'topology: t\nevents: { A: { payload: !!binary aGVsbG8= } }\n', code: 'EF1012' },
  {
    name: 'a 1000-character name',
    input: () => `topology: ${'a'.repeat(1000)}\nevents: { ThingHappened: { payload: true } }\n`,
    code: 'EF3009',
  },
  {
    name: 'catastrophic regex against an example is cut short',
    input: () =>
      'topology: t\nevents:\n  A:\n    payload: { type: string, pattern: "(a+)+$" }\n    examples: ["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!"]\n',
    code: 'EF5002',
  },
];

describe('hostile input', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const input = c.input();
    const r = typeof input === 'string' ? loadTopology('hostile.yaml', { text: input }) : loadBytes(input);
    expect(r.diagnostics.map((d) => d.code)).toContain(c.code);
    if (c.at)
      expect(r.diagnostics.find((d) => d.code === c.code)).toMatchObject({
        line: Number(c.at.split(':')[0]),
        col: Number(c.at.split(':')[1]),
      });
  });
});

/** Bytes go through the file path: write them to a temp file (outside the timed section's cost is fine). */
function loadBytes(bytes: Uint8Array) {
  const dir = mkdtempSync(path.join(tmpdir(), 'eventform-hostile-'));
  try {
    const file = path.join(dir, 'hostile.yaml');
    writeFileSync(file, bytes);
    return loadTopology(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
