/**
 * bin/eventform.mjs: runs the CLI from a cached esbuild bundle, rebuilt when its sources change,
 * and falls back to tsx when it cannot. Each test uses its own cache directory
 * (EVENTFORM_CACHE_DIR) so it never disturbs the shared one.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin/eventform.mjs');
const VERSION = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
// Inside the package: a bundle resolves its dependencies from where it is.
const work = path.join(ROOT, 'test/.tmp', `launcher-${process.pid}-${Date.now()}`);
fs.mkdirSync(work, { recursive: true });
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

function cli(args: string[], env: Record<string, string>) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', ...env },
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const bundles = (cache: string) =>
  fs.existsSync(cache) ? fs.readdirSync(cache).filter((n) => /^[0-9a-f]{20}$/.test(n)) : [];
const manifest = (cache: string) =>
  JSON.parse(fs.readFileSync(path.join(cache, 'manifest.json'), 'utf8')) as { format: string; inputs: string[] };

describe('bin/eventform.mjs', () => {
  it('builds the bundle once, lists what it was built from, and runs from it afterwards', () => {
    const cache = path.join(work, 'reuse');
    expect(cli(['--version'], { EVENTFORM_CACHE_DIR: cache }).stdout.trim()).toBe(VERSION);
    const [hash] = bundles(cache);
    expect(bundles(cache)).toHaveLength(1);
    expect(manifest(cache).inputs).toEqual(
      expect.arrayContaining(['bin/eventform.mjs', 'generator/cli/main.ts', 'generator/spec/load-topology.ts']),
    );
    // Prove the second run takes the bundle as it is: swap its entry for a stand-in.
    fs.writeFileSync(
      path.join(cache, hash!, 'main.mjs'),
      'export async function run() { process.stdout.write("from the cached bundle\\n"); return 0; }\n',
    );
    expect(cli(['--version'], { EVENTFORM_CACHE_DIR: cache }).stdout).toBe('from the cached bundle\n');
  });

  it('rebuilds when the files it was built from no longer hash the same', () => {
    const cache = path.join(work, 'rebuild');
    expect(cli(['--version'], { EVENTFORM_CACHE_DIR: cache }).code).toBe(0);
    // As if the bundle had been built from one more file, which has since changed.
    const extra = path.join(ROOT, 'test/.tmp', `launcher-${process.pid}.ts`);
    fs.mkdirSync(path.dirname(extra), { recursive: true });
    fs.writeFileSync(extra, 'export {};\n');
    try {
      const m = manifest(cache);
      fs.writeFileSync(
        path.join(cache, 'manifest.json'),
        JSON.stringify({ ...m, inputs: [...m.inputs, path.relative(ROOT, extra).split(path.sep).join('/')] }),
      );
      const r = cli(['--version'], { EVENTFORM_CACHE_DIR: cache });
      expect(r.stdout.trim()).toBe(VERSION);
      expect(manifest(cache).inputs.some((i) => i.startsWith('test/.tmp/'))).toBe(false);
    } finally {
      fs.rmSync(extra, { force: true });
    }
  });

  it('generates exactly what the tsx path generates', () => {
    const cache = path.join(work, 'same-output');
    const fixture = 'test/fixtures/generator/rides/topology.yaml';
    const viaBundle = path.join(work, 'out-bundle');
    const viaTsx = path.join(work, 'out-tsx');
    expect(cli(['generate', fixture, '--out', viaBundle], { EVENTFORM_CACHE_DIR: cache }).code).toBe(0);
    expect(bundles(cache)).toHaveLength(1);
    const tsxCache = path.join(work, 'unused');
    expect(
      cli(['generate', fixture, '--out', viaTsx], { EVENTFORM_LAUNCHER: 'tsx', EVENTFORM_CACHE_DIR: tsxCache }).code,
    ).toBe(0);
    expect(fs.existsSync(tsxCache)).toBe(false);
    const files = (dir: string) => fs.readdirSync(dir, { recursive: true }).map(String).sort();
    expect(files(viaBundle)).toEqual(files(viaTsx));
    for (const f of files(viaTsx)) {
      if (fs.statSync(path.join(viaTsx, f)).isFile()) {
        expect(fs.readFileSync(path.join(viaBundle, f), 'utf8'), f).toBe(fs.readFileSync(path.join(viaTsx, f), 'utf8'));
      }
    }
  });

  it('falls back to tsx when the cache is outside the package', () => {
    const r = cli(['--version'], { EVENTFORM_CACHE_DIR: path.join(os.tmpdir(), `eventform-launcher-${process.pid}`) });
    fs.rmSync(path.join(os.tmpdir(), `eventform-launcher-${process.pid}`), { recursive: true, force: true });
    expect(r.stdout.trim()).toBe(VERSION);
  });

  it('falls back to tsx when the cache cannot be written', () => {
    const notADirectory = path.join(work, 'a-file');
    fs.writeFileSync(notADirectory, '');
    const r = cli(['validate', 'test/fixtures/generator/bare/topology.yaml'], {
      EVENTFORM_CACHE_DIR: path.join(notADirectory, 'cache'),
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('0 errors');
  });
});
