/**
 * The conformance suite as a user outside this repository gets it: the built
 * `@eventform/runtime/testing` (runtime/core/dist, so run `npm run build` first), loaded by plain
 * Node without vitest, and run under node:test. Each check spawns node in a scratch folder under
 * test/.tmp (inside the repository, so `@eventform/runtime` resolves to the workspace package).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryBroker, createMemoryTransport } from '@eventform/runtime';
import { conformanceCases, conformanceSuiteName } from '@eventform/runtime/testing';
import { topologyFromDocument } from '../../generator/src/spec/index.js';

const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
const DIST = path.join(REPO_ROOT, 'runtime/core/dist');
const caseNames = conformanceCases('memory', () => createMemoryTransport({ broker: new MemoryBroker() }), {
  topology: topologyFromDocument,
}).map((c) => c.name);

let dir = '';

beforeAll(() => {
  const entry = path.join(DIST, 'testing/index.js');
  if (!fs.existsSync(path.join(DIST, 'testing/conformance.js')) || !fs.existsSync(entry))
    throw new Error(`${path.relative(REPO_ROOT, entry)} is missing: run npm run build first`);
  dir = path.join(REPO_ROOT, 'test/.tmp', `conformance-portable-${randomBytes(4).toString('hex')}`);
  fs.mkdirSync(dir, { recursive: true });
});

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run node with `args` in the scratch folder; never rejects on a non-zero exit. */
function node(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  const base = { ...process.env };
  // Nothing from this runner may leak into the child: no preloads, no parent test-runner context.
  delete base['NODE_OPTIONS'];
  delete base['NODE_TEST_CONTEXT'];
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      args,
      { cwd: dir, env: { ...base, ...env }, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const write = (name: string, text: string): void => fs.writeFileSync(path.join(dir, name), text);

/** The summary counts of a node:test TAP report (`# pass 12` …). */
function summary(tap: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const match of tap.matchAll(/^# (tests|suites|pass|fail|cancelled|skipped|todo) (\d+)$/gm))
    counts[match[1]!] = Number(match[2]);
  return counts;
}

/** The subtests a TAP report lists as passed (`ok 3 - title`), skips excluded. */
const passed = (tap: string): string[] =>
  [...tap.matchAll(/^ {4}ok \d+ - (.*)$/gm)].map((m) => m[1]!).filter((title) => !/ # SKIP\b/.test(title));

describe('@eventform/runtime/testing without a test framework', () => {
  it('loads from plain Node without any module of vitest (or another test framework)', async () => {
    // A load hook records every module Node loads (ESM and builtins); require.cache holds the
    // CommonJS ones (ajv), which Node 20 loads past the hooks.
    write(
      'loader-hooks.mjs',
      [
        "import { appendFileSync } from 'node:fs';",
        'let log;',
        'export function initialize(data) { log = data.log; }',
        'export async function load(url, context, nextLoad) {',
        '  appendFileSync(log, `${url}\\n`);',
        '  return nextLoad(url, context);',
        '}',
      ].join('\n'),
    );
    write(
      'register-hooks.mjs',
      "import { register } from 'node:module';\n" +
        "register('./loader-hooks.mjs', import.meta.url, { data: { log: process.env.EF_MODULE_LOG } });\n",
    );
    const log = path.join(dir, 'modules.log');
    const script = [
      "const testing = await import('@eventform/runtime/testing');",
      "const { createRequire } = await import('node:module');",
      "const cjs = Object.keys(createRequire(process.cwd() + '/').cache);",
      'console.log(JSON.stringify({ exports: Object.keys(testing).sort(), cjs }));',
    ].join(' ');
    const run = await node(['--import', './register-hooks.mjs', '--input-type=module', '-e', script], {
      EF_MODULE_LOG: log,
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const { exports, cjs } = JSON.parse(run.stdout) as { exports: string[]; cjs: string[] };
    expect(exports).toEqual(
      expect.arrayContaining([
        'conformanceCases',
        'describeTransportConformance',
        'createTestHarness',
        'uniqueTopologyName',
        'captureLogger',
        'waitFor',
        'sleep',
        'isCi',
      ]),
    );

    const loaded = [...fs.readFileSync(log, 'utf8').split('\n').filter(Boolean), ...cjs];
    // The hook saw the import: the built package, not the sources.
    expect(loaded).toContain(`file://${path.join(DIST, 'testing/conformance.js')}`);
    expect(loaded.filter((m) => m.includes('/runtime/core/src/'))).toEqual([]);
    const frameworks = loaded.filter(
      (m) =>
        /^node:test(\/|$)/.test(m) ||
        /[\\/]node_modules[\\/](vitest|@vitest|vite|jest|@jest|jest-[^\\/]+|mocha|chai|tinyspy)[\\/]/.test(m),
    );
    expect(frameworks).toEqual([]);
  });

  it('is built into dist with imports of node builtins and its declared dependencies only', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'runtime/core/package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      peerDependencies?: Record<string, string>;
    };
    // A peer (the OpenTelemetry API) is declared too: the user's project installs it, npm 7+ by default.
    const allowed = new Set([...Object.keys(pkg.dependencies), ...Object.keys(pkg.peerDependencies ?? {})]);
    const bare = new Map<string, string>(); // specifier -> first file importing it
    const seen = new Set<string>();
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      // The compiler's own scan: static, re-export and dynamic imports, not comments or strings.
      const { importedFiles } = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
      for (const { fileName: specifier } of importedFiles) {
        if (specifier.startsWith('.')) visit(path.resolve(path.dirname(file), specifier));
        else if (!bare.has(specifier)) bare.set(specifier, path.relative(DIST, file));
      }
    };
    visit(path.join(DIST, 'testing/index.js'));
    expect([...seen].map((f) => path.relative(DIST, f))).toEqual(
      expect.arrayContaining(['testing/conformance.js', 'testing/checks.js']),
    );
    const offending = [...bare].filter(([specifier]) => {
      if (specifier.startsWith('node:')) return specifier === 'node:test' || specifier.startsWith('node:test/');
      const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;
      return !allowed.has(name);
    });
    expect(offending).toEqual([]);
  });
});

describe('the conformance suite under node:test', () => {
  it('passes every case against the memory transport', async () => {
    write(
      'memory.test.mjs',
      [
        "import { describe, it } from 'node:test';",
        "import { MemoryBroker, createMemoryTransport } from '@eventform/runtime';",
        "import { describeTransportConformance } from '@eventform/runtime/testing';",
        // The suite's topologies go through the generator, as a transport author's would.
        "import { topologyFromDocument } from 'eventform';",
        'const broker = new MemoryBroker();',
        "describeTransportConformance('memory', () => createMemoryTransport({ broker }), {",
        '  topology: topologyFromDocument,',
        '  test: { describe, it },',
        '});',
      ].join('\n'),
    );
    const run = await node(['--test', '--test-reporter=tap', 'memory.test.mjs']);
    const counts = summary(run.stdout);
    expect(counts, run.stdout + run.stderr).toEqual({
      tests: caseNames.length,
      suites: 1,
      pass: caseNames.length,
      fail: 0,
      cancelled: 0,
      skipped: 0,
      todo: 0,
    });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`ok 1 - ${conformanceSuiteName('memory')}`);
    expect(passed(run.stdout).sort()).toEqual([...caseNames].sort());
  }, 120_000);

  // The factory throws: a suite switched off by skipIf must never reach the broker.
  const skipping = [
    "import { describe, it } from 'node:test';",
    "import { describeTransportConformance } from '@eventform/runtime/testing';",
    "const factory = () => { throw new Error('the factory of a skipped suite was called'); };",
    "const topology = () => { throw new Error('the topology of a skipped suite was built'); };",
    "describeTransportConformance('off-fn', factory, { topology, test: { describe, it }, skipIf: async () => true });",
    "describeTransportConformance('off', factory, { topology, test: { describe, it }, skipIf: true });",
  ].join('\n');

  it('skips a switched-off suite through the test context when not in CI', async () => {
    write('skip.test.mjs', skipping);
    for (const CI of ['', 'false', '0', undefined]) {
      const run = await node(['--test', '--test-reporter=tap', 'skip.test.mjs'], { CI });
      const counts = summary(run.stdout);
      expect(counts, `CI=${CI}\n${run.stdout}${run.stderr}`).toMatchObject({
        tests: 2 * caseNames.length,
        pass: 0,
        fail: 0,
        cancelled: 0,
        skipped: 2 * caseNames.length,
      });
      expect(run.code).toBe(0);
      // The function form skips at run time with the reason; `true` registers with it.skip.
      expect(run.stdout.match(/# SKIP transport "off-fn" is unavailable \(skipIf\)$/gm)).toHaveLength(caseNames.length);
      expect(run.stdout).not.toContain('factory of a skipped suite');
    }
  }, 60_000);

  it('fails every case of a switched-off suite in CI', async () => {
    write('skip.test.mjs', skipping);
    for (const CI of ['true', '1', 'yes']) {
      const run = await node(['--test', '--test-reporter=tap', 'skip.test.mjs'], { CI });
      const counts = summary(run.stdout);
      expect(counts, `CI=${CI}\n${run.stdout}${run.stderr}`).toMatchObject({
        tests: 2 * caseNames.length,
        pass: 0,
        fail: 2 * caseNames.length,
        skipped: 0,
      });
      expect(run.code).toBe(1);
      for (const name of ['off-fn', 'off'])
        expect(
          run.stdout.split(`Transport "${name}" is unavailable, and CI=${CI} forbids skipping its conformance suite`),
        ).toHaveLength(caseNames.length + 1);
    }
  }, 60_000);
});
