/**
 * `runScaffold` in process, for the refusals that need no compiled project: each exits with the
 * code of its kind (exit-codes.ts: 1 a finding, 2 a usage error), prints one clear message without
 * a stack trace, and writes nothing.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runGenerate } from '../../generator/src/cli/generate.js';
import { EXIT } from '../../generator/src/cli/exit-codes.js';
import { runScaffold } from '../../generator/src/scaffold/run.js';

const FIXTURE = path.join(import.meta.dirname, 'fixtures/helpdesk.yaml');

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eventform-scaffold-'));
  fs.copyFileSync(FIXTURE, path.join(dir, 'topology.yaml'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function capture() {
  let out = '';
  let err = '';
  return {
    stdout: (t: string) => void (out += t),
    stderr: (t: string) => void (err += t),
    out: () => out,
    err: () => err,
  };
}

const at = (...parts: string[]) => path.join(dir, ...parts);

describe('runScaffold refusals', () => {
  it('a missing topology file', async () => {
    const io = capture();
    const r = await runScaffold('triage-service', at('nope.yaml'), { dir: at('services'), out: at('generated') }, io);
    expect(r.exitCode).toBe(EXIT.usage);
    expect(io.err()).toContain('EF1001');
    expect(io.err()).toContain('nothing scaffolded');
    expect(fs.existsSync(at('services'))).toBe(false);
  });

  it('an invalid topology', async () => {
    const text = fs
      .readFileSync(at('topology.yaml'), 'utf8')
      .replace('event: TicketEscalated', 'event: TicketEscalatd');
    fs.writeFileSync(at('topology.yaml'), text);
    const io = capture();
    const r = await runScaffold(
      'triage-service',
      at('topology.yaml'),
      { dir: at('services'), out: at('generated') },
      io,
    );
    expect(r.exitCode).toBe(EXIT.invalid);
    expect(io.err()).toContain('TicketEscalatd');
    expect(io.err()).toContain('nothing scaffolded, the topology has errors');
    expect(fs.existsSync(at('services'))).toBe(false);
  });

  it('an output directory that is not eventform’s', async () => {
    fs.mkdirSync(at('generated'));
    fs.writeFileSync(at('generated', 'mine.ts'), 'export {};\n');
    const io = capture();
    const r = await runScaffold(
      'triage-service',
      at('topology.yaml'),
      { dir: at('services'), out: at('generated') },
      io,
    );
    expect(r.exitCode).toBe(EXIT.usage);
    expect(io.err()).toContain('EF8003');
    expect(io.err()).not.toMatch(/\n\s+at /);
    expect(fs.existsSync(at('services'))).toBe(false);
  });

  it('output generated with another --runtime-import is out of date unless scaffold is given the same', async () => {
    const gen = capture();
    const generateOptions = { out: at('generated'), runtimeImport: '@acme/eventform/runtime' };
    expect(await runGenerate(at('topology.yaml'), generateOptions, gen)).toBe(0);

    const io = capture();
    const options = { dir: at('services'), out: at('generated') };
    const stale = await runScaffold('helpdesk', at('topology.yaml'), options, io);
    expect(stale.exitCode).toBe(EXIT.invalid);
    expect(io.err()).toContain('is out of date with');

    const ok = await runScaffold(
      'helpdesk',
      at('topology.yaml'),
      { ...options, runtimeImport: '@acme/eventform/runtime' },
      capture(),
    );
    expect(ok.exitCode).toBe(0);
    expect(fs.readFileSync(at('services', 'helpdesk', 'main.ts'), 'utf8')).toContain("from '@acme/eventform/runtime';");
  });

  it('the topology path spelled differently from the one generate was given is not "out of date"', async () => {
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      expect(await runGenerate('./topology.yaml', { out: 'generated' }, capture())).toBe(0);
      const io = capture();
      const r = await runScaffold('helpdesk', 'topology.yaml', { dir: 'services', out: 'generated' }, io);
      expect(r.exitCode, io.err()).toBe(0);
    } finally {
      process.chdir(cwd);
    }
  });
});
