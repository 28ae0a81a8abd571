/**
 * `eventform generate --watch` on the real file system, in a scratch folder: fs.watch is real, the
 * edits are real writes and renames. No wall-clock limit: every assertion is on which runs
 * happened, in which order, what started them and what they wrote (speed is bench/generate.ts's
 * watch row). The last test runs the built CLI and stops it with SIGINT, as Ctrl-C would.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runGenerate } from '../../generator/src/cli/generate.js';
import { watchGenerate, type WatchRun } from '../../generator/src/cli/watch.js';
import { CompileCache } from '../../generator/src/compile-cache.js';
import { captureIo, scratchDir } from './support/tmp.js';
import { REPO_ROOT } from './support/cases.js';

const TOPOLOGY = (description: string, extra = ''): string => `topology: watched
version: 1
schemas:
  Money:
    type: object
    required: [amount]
    properties:
      amount: { type: number }
events:
  PaymentTaken:
    description: ${description}
    key: paymentId
    payload:
      type: object
      required: [paymentId]
      properties:
        paymentId: { type: string }
        total: { $ref: '#/schemas/Money' }${extra}
services:
  billing:
    produces: [PaymentTaken]
`;

/** A watch running in the scratch folder, with its runs observable one at a time. */
function startWatch(dir: string, debounceMs?: number, cache?: CompileCache) {
  const runs: WatchRun[] = [];
  const waiters = new Map<number, ((r: WatchRun) => void)[]>();
  const controller = new AbortController();
  const io = captureIo();
  const done = watchGenerate(
    path.join(dir, 'topology.yaml'),
    {
      out: path.join(dir, 'generated'),
      signal: controller.signal,
      ...(debounceMs !== undefined ? { debounceMs } : {}),
      ...(cache ? { cache } : {}),
      onRun: (r) => {
        runs.push(r);
        for (const resolve of waiters.get(r.n) ?? []) resolve(r);
        waiters.delete(r.n);
      },
    },
    io,
  );
  return {
    runs,
    io,
    /** Run number `n` (1 is the first generation); resolves at once when it already happened. */
    run: (n: number): Promise<WatchRun> =>
      runs[n - 1]
        ? Promise.resolve(runs[n - 1]!)
        : new Promise((resolve) => waiters.set(n, [...(waiters.get(n) ?? []), resolve])),
    stop: async (): Promise<number> => {
      controller.abort();
      return done;
    },
  };
}

const read = (dir: string, file: string) => fs.readFileSync(path.join(dir, file), 'utf8');

describe('generate --watch', () => {
  let scratch: ReturnType<typeof scratchDir>;
  let w: ReturnType<typeof startWatch> | undefined;
  beforeEach(() => {
    scratch = scratchDir('watch');
    fs.writeFileSync(path.join(scratch.dir, 'topology.yaml'), TOPOLOGY('first'));
  });
  afterEach(async () => {
    expect(await w?.stop()).toBe(0);
    w = undefined;
    scratch.cleanup();
  });

  it('generates at once, then once per edit; a run writes only the files whose contents changed', async () => {
    w = startWatch(scratch.dir);
    const first = await w.run(1);
    expect(first).toMatchObject({ n: 1, exitCode: 0, changed: [] });
    expect(first.watched).toEqual([path.join(scratch.dir, 'topology.yaml')]);
    expect(read(scratch.dir, 'generated/types.ts')).toContain('first');

    fs.writeFileSync(path.join(scratch.dir, 'topology.yaml'), TOPOLOGY('second'));
    const second = await w.run(2);
    expect(second).toMatchObject({ n: 2, exitCode: 0, changed: [path.join(scratch.dir, 'topology.yaml')] });
    expect(read(scratch.dir, 'generated/types.ts')).toContain('second');
    expect(second.written).toContain('types.ts');
    expect(w.io.err()).toMatch(/\[watch\] run 2: generated in \d+ ms/);

    // Saved again unchanged: a run, and nothing written.
    fs.writeFileSync(path.join(scratch.dir, 'topology.yaml'), TOPOLOGY('second'));
    const third = await w.run(3);
    expect(third).toMatchObject({ n: 3, exitCode: 0, written: [] });
  });

  it('reuses the validators across an edit of a description; the output is what a cold generate writes', async () => {
    const cache = new CompileCache();
    w = startWatch(scratch.dir, undefined, cache);
    await w.run(1);
    fs.writeFileSync(path.join(scratch.dir, 'topology.yaml'), TOPOLOGY('second'));
    expect((await w.run(2)).exitCode).toBe(0);
    expect(cache.stats('validators')).toEqual({ computed: 1, reused: 1 });
    expect(cache.stats('types')).toEqual({ computed: 2, reused: 0 });

    const cold = path.join(scratch.dir, 'cold');
    expect(await runGenerate(path.join(scratch.dir, 'topology.yaml'), { out: cold }, captureIo())).toBe(0);
    const files = (dir: string) =>
      fs
        .readdirSync(dir, { recursive: true })
        .map(String)
        .filter((f) => fs.statSync(path.join(dir, f)).isFile())
        .sort();
    expect(files(path.join(scratch.dir, 'generated'))).toEqual(files(cold));
    for (const f of files(cold)) expect(read(scratch.dir, `generated/${f}`), f).toBe(read(cold, f));
  });

  it('keeps the last good output on errors, prints the diagnostics as generate does, recovers on the fix', async () => {
    w = startWatch(scratch.dir);
    await w.run(1);
    const snapshot = () =>
      Object.fromEntries(
        fs
          .readdirSync(path.join(scratch.dir, 'generated'), { recursive: true })
          .map(String)
          .filter((f) => fs.statSync(path.join(scratch.dir, 'generated', f)).isFile())
          .map((f) => [f, read(scratch.dir, `generated/${f}`)]),
      );
    const good = snapshot();

    fs.writeFileSync(
      path.join(scratch.dir, 'topology.yaml'),
      TOPOLOGY('broken').replace('key: paymentId', 'key: nope'),
    );
    const broken = await w.run(2);
    expect(broken.exitCode).toBe(1);
    expect(broken.written).toEqual([]);
    expect(snapshot()).toEqual(good);
    expect(w.io.err()).toMatch(/topology\.yaml:\d+:\d+ error EF\d{4} /);
    expect(w.io.err()).toContain('the last good output is kept');

    fs.writeFileSync(path.join(scratch.dir, 'topology.yaml'), TOPOLOGY('fixed'));
    const fixed = await w.run(3);
    expect(fixed.exitCode).toBe(0);
    expect(read(scratch.dir, 'generated/types.ts')).toContain('fixed');
  });

  it('follows $ref files as they come and go, a missing one (in a missing folder) included', async () => {
    w = startWatch(scratch.dir);
    await w.run(1);
    const schema = path.join(scratch.dir, 'schemas', 'fee.json');
    const withRef = TOPOLOGY('with a fee', "\n        fee: { $ref: './schemas/fee.json' }");

    fs.writeFileSync(path.join(scratch.dir, 'topology.yaml'), withRef);
    const missing = await w.run(2);
    expect(missing.exitCode).toBe(1);
    expect(w.io.err()).toMatch(/error EF4006 schema file '\.\/schemas\/fee\.json' does not exist/);
    expect(missing.watched).toContain(schema);

    // The folder and the file appear: the watch on the topology's folder sees `schemas` arrive.
    fs.mkdirSync(path.dirname(schema));
    fs.writeFileSync(
      schema,
      JSON.stringify({ title: 'Fee', type: 'object', properties: { cents: { type: 'integer' } } }),
    );
    let run = await w.run(3);
    // The folder may show up in one run and the file in the next; what counts is reaching a good one.
    while (run.exitCode !== 0) run = await w.run(run.n + 1);
    expect(read(scratch.dir, 'generated/types.ts')).toMatch(/export interface Fee \{[^}]*cents\?: number/);

    // An edit of the $ref'd file alone regenerates.
    fs.writeFileSync(
      schema,
      JSON.stringify({ title: 'Fee', type: 'object', properties: { basisPoints: { type: 'integer' } } }),
    );
    const edited = await w.run(run.n + 1);
    expect(edited.changed).toEqual([schema]);
    expect(read(scratch.dir, 'generated/types.ts')).toContain('basisPoints');

    // Dropping the ref lets the file go.
    fs.writeFileSync(path.join(scratch.dir, 'topology.yaml'), TOPOLOGY('no fee'));
    const dropped = await w.run(edited.n + 1);
    expect(dropped.exitCode).toBe(0);
    expect(dropped.watched).not.toContain(schema);
  });

  it('sees an atomic save (write a temporary file, rename it over the topology) and ignores other files', async () => {
    w = startWatch(scratch.dir);
    await w.run(1);
    fs.writeFileSync(path.join(scratch.dir, 'notes.txt'), 'not watched');
    const tmp = path.join(scratch.dir, '.topology.yaml.swp');
    fs.writeFileSync(tmp, TOPOLOGY('renamed into place'));
    fs.renameSync(tmp, path.join(scratch.dir, 'topology.yaml'));
    const run = await w.run(2);
    // The write of notes.txt came first, yet only the topology started the run.
    expect(run.changed).toEqual([path.join(scratch.dir, 'topology.yaml')]);
    expect(read(scratch.dir, 'generated/types.ts')).toContain('renamed into place');
    // The replaced inode is still watched: the next plain write is seen as well.
    fs.writeFileSync(path.join(scratch.dir, 'topology.yaml'), TOPOLOGY('after the rename'));
    await w.run(3);
    expect(read(scratch.dir, 'generated/types.ts')).toContain('after the rename');
  });

  it('debounces a burst of writes into fewer runs than writes; the last write wins', async () => {
    w = startWatch(scratch.dir);
    await w.run(1);
    const writes = 20;
    for (let i = 1; i <= writes; i++) fs.writeFileSync(path.join(scratch.dir, 'topology.yaml'), TOPOLOGY(`burst ${i}`));
    // Wait for the run that saw the last write.
    let run = await w.run(2);
    while (!read(scratch.dir, 'generated/types.ts').includes(`burst ${writes}`)) run = await w.run(run.n + 1);
    expect(run.n - 1).toBeLessThan(writes);
    expect(run.exitCode).toBe(0);
  });
});

describe('generate --watch through the CLI', () => {
  it('Ctrl-C (SIGINT) stops it cleanly with exit 0', async () => {
    const scratch = scratchDir('watch-cli');
    try {
      fs.writeFileSync(path.join(scratch.dir, 'topology.yaml'), TOPOLOGY('cli'));
      const child = spawn(
        process.execPath,
        [path.join(REPO_ROOT, 'generator/bin/eventform.js'), 'generate', '--watch', '--out', 'generated'],
        { cwd: scratch.dir, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stderr = '';
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      await new Promise<void>((resolve, reject) => {
        child.stderr.on('data', (chunk: Buffer) => {
          stderr += chunk.toString();
          if (stderr.includes('waiting for changes')) resolve();
        });
        child.on('exit', () => reject(new Error(`exited before watching:\n${stderr}`)));
      });
      expect(fs.existsSync(path.join(scratch.dir, 'generated/types.ts'))).toBe(true);
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(stderr).toContain('[watch] stopped');
      expect(stderr).not.toMatch(/\n\s+at /);
    } finally {
      scratch.cleanup();
    }
  });

  it('--watch with --check is a usage error', async () => {
    const { run } = await import('../../generator/src/cli/main.js');
    const io = captureIo();
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((t: string) => (io.stderr(String(t)), true)) as typeof process.stderr.write;
    try {
      expect(await run(['node', 'eventform', 'generate', '--watch', '--check'])).toBe(2);
    } finally {
      process.stderr.write = write;
    }
    expect(io.err()).toContain('--watch and --check exclude each other');
  });
});
