/**
 * `eventform generate` end to end (through runGenerate, the command's body): determinism, the
 * writer's ownership rules and `--check`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runGenerate } from '../../generator/src/cli/generate.js';
import { generate } from '../../generator/src/generate.js';
import { captureIo, scratchDir } from './support/tmp.js';
import { loadValid, REPO_ROOT } from './support/cases.js';

const ROOT_TOPOLOGY = path.join(REPO_ROOT, 'topology.yaml');

describe('determinism', () => {
  it('two runs (at different times) produce identical bytes', async () => {
    const ir = loadValid('topology.yaml');
    vi.useFakeTimers();
    try {
      vi.setSystemTime(new Date('2001-01-01T00:00:00Z'));
      const first = await generate(ir, { cwd: REPO_ROOT });
      vi.setSystemTime(new Date('2031-06-15T12:34:56Z'));
      const second = await generate(structuredClone(ir), { cwd: REPO_ROOT });
      expect([...second.files]).toEqual([...first.files]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('an absolute topology path yields the same output as a relative one', async () => {
    const relative = await generate(loadValid('topology.yaml'), { cwd: REPO_ROOT });
    const absolute = await generate(loadValid(ROOT_TOPOLOGY), { cwd: REPO_ROOT });
    expect([...absolute.files]).toEqual([...relative.files]);
  });

  it('the runtime import is an option', async () => {
    const { files } = await generate(loadValid('topology.yaml'), { cwd: REPO_ROOT, runtimeImport: '@acme/eventform' });
    expect(files.get('index.ts')).toContain("from '@acme/eventform';");
    expect([...files.values()].join('\n')).not.toContain('@eventform/runtime');
  });
});

describe('generate and --check', () => {
  const scratch = scratchDir('cli');
  const out = path.join(scratch.dir, 'out');
  const gen = async (options: { check?: boolean; out?: string } = {}) => {
    const io = captureIo();
    const code = await runGenerate(ROOT_TOPOLOGY, { out, ...options }, io);
    return { code, stdout: io.out(), stderr: io.err() };
  };

  beforeAll(async () => {
    expect((await gen()).code).toBe(0);
  });
  afterAll(() => scratch.cleanup());

  it('writes the same files as the committed generated/', () => {
    const committed = fs.readdirSync(path.join(REPO_ROOT, 'generated'), { recursive: true }).map(String).sort();
    expect(fs.readdirSync(out, { recursive: true }).map(String).sort()).toEqual(committed);
    for (const f of committed) {
      if (fs.statSync(path.join(out, f)).isFile()) {
        expect(fs.readFileSync(path.join(out, f), 'utf8'), f).toBe(
          fs.readFileSync(path.join(REPO_ROOT, 'generated', f), 'utf8'),
        );
      }
    }
  });

  it('--check exits 0 when in sync', async () => {
    const r = await gen({ check: true });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('is up to date');
  });

  it('a second write changes nothing (no write when content is the same)', async () => {
    const file = path.join(out, 'types.ts');
    const before = fs.statSync(file).mtimeMs;
    await new Promise((r) => setTimeout(r, 20));
    const r = await gen();
    // Every file the generator owns in the folder (the marker included) is unchanged.
    const owned = fs.readdirSync(out, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length;
    expect(owned).toBeGreaterThan(5);
    expect(r.stdout).toContain(`(0 written, ${owned} unchanged, 0 deleted)`);
    expect(fs.statSync(file).mtimeMs).toBe(before);
  });

  it('--check exits 1 on a stale file, and writes nothing', async () => {
    const file = path.join(out, 'types.ts');
    fs.appendFileSync(file, '// edited by hand\n');
    const r = await gen({ check: true });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/stale\s+types\.ts/);
    expect(fs.readFileSync(file, 'utf8')).toContain('// edited by hand');
    expect((await gen()).code).toBe(0);
    expect(fs.readFileSync(file, 'utf8')).not.toContain('// edited by hand');
  });

  it('--check exits 1 on an orphaned file; generate deletes it', async () => {
    fs.mkdirSync(path.join(out, 'old'), { recursive: true });
    fs.writeFileSync(path.join(out, 'old', 'leftover.ts'), 'export {};\n');
    const r = await gen({ check: true });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/orphaned\s+old\/leftover\.ts/);
    const w = await gen();
    expect(w.stdout).toContain('1 deleted');
    expect(fs.existsSync(path.join(out, 'old'))).toBe(false);
  });

  it('--check exits 1 on a missing file; generate restores it', async () => {
    fs.rmSync(path.join(out, 'provisioning', 'PLAN.md'));
    const r = await gen({ check: true });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/missing\s+provisioning\/PLAN\.md/);
    expect((await gen()).code).toBe(0);
    expect(fs.existsSync(path.join(out, 'provisioning', 'PLAN.md'))).toBe(true);
    expect((await gen({ check: true })).code).toBe(0);
  });

  it('refuses to wipe a non-empty directory without the marker (exit 2, nothing touched)', async () => {
    const foreign = path.join(scratch.dir, 'foreign');
    fs.mkdirSync(foreign, { recursive: true });
    fs.writeFileSync(path.join(foreign, 'notes.txt'), 'mine\n');
    for (const check of [false, true]) {
      const io = captureIo();
      const code = await runGenerate(ROOT_TOPOLOGY, { out: foreign, check }, io);
      expect(code).toBe(2);
      expect(io.err()).toContain('EF8003');
      expect(io.err()).toContain('not empty and has no .eventform marker');
    }
    expect(fs.readdirSync(foreign)).toEqual(['notes.txt']);
  });

  it('a marker that is not eventform’s does not count', async () => {
    const fake = path.join(scratch.dir, 'fake');
    fs.mkdirSync(fake, { recursive: true });
    fs.writeFileSync(path.join(fake, '.eventform'), 'not json');
    const io = captureIo();
    expect(await runGenerate(ROOT_TOPOLOGY, { out: fake }, io)).toBe(2);
  });

  it('writes into an empty existing directory', async () => {
    const empty = path.join(scratch.dir, 'empty');
    fs.mkdirSync(empty, { recursive: true });
    const io = captureIo();
    expect(await runGenerate(ROOT_TOPOLOGY, { out: empty }, io)).toBe(0);
    expect(fs.existsSync(path.join(empty, '.eventform'))).toBe(true);
  });

  it('an invalid topology exits 1 (as validate does) with diagnostics and writes nothing', async () => {
    const bad = path.join(scratch.dir, 'bad.yaml');
    fs.writeFileSync(
      bad,
      'topology: bad\nversion: 1\nevents:\n  OrderCreated:\n    payload: { type: object }\nservices:\n  svc:\n    produces: [OrderShipped]\n',
    );
    const io = captureIo();
    const target = path.join(scratch.dir, 'bad-out');
    expect(await runGenerate(bad, { out: target }, io)).toBe(1);
    expect(io.err()).toMatch(/EF4001/);
    expect(io.err()).toContain('nothing generated');
    expect(fs.existsSync(target)).toBe(false);
  });

  it('names that cannot be made safe exit 1 with a located EF8002 and write nothing', async () => {
    const clash = path.join(scratch.dir, 'clash.yaml');
    fs.writeFileSync(
      clash,
      [
        'topology: clash',
        'version: 1',
        'events:',
        '  Record: { payload: { type: object } }',
        '  RecordEvent: { payload: { type: object } }',
        'services:',
        '  svc: { produces: [Record, RecordEvent] }',
        '',
      ].join('\n'),
    );
    const io = captureIo();
    const target = path.join(scratch.dir, 'clash-out');
    expect(await runGenerate(clash, { out: target }, io)).toBe(1);
    expect(io.err()).toMatch(
      /clash\.yaml:5:3 error EF8002 event RecordEvent and event Record .* would both be generated as `RecordEvent`/,
    );
    expect(io.err()).toContain('> 5 |');
    expect(fs.existsSync(target)).toBe(false);
  });
});
