/**
 * The packages as a user gets them: `npm pack` of every workspace package, then fresh projects
 * OUTSIDE the repository (nothing resolves from its node_modules) that install the tarballs and run
 * the README's "Add eventform to a project" steps with plain Node:
 *
 *   npm install <tarballs> → npx eventform init → npm install → npm run build → npm start → npm test
 *
 * for a project made by `npm init -y` (CommonJS by default: init makes the fresh project an ES
 * module project), one with `"type": "module"`, and a CommonJS project that already has code (it
 * stays CommonJS and loads the ES module packages through require()). The starter also runs on the
 * machine's RabbitMQ and Kafka. The installed size of @eventform/runtime + @eventform/rabbitmq is
 * printed and held to its 10 MB goal.
 *
 * Needs the built packages (`npm test` builds first), the npm registry (or npm's cache) for the
 * starter's tools, RabbitMQ and Kafka; under CI=true nothing here skips.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireRabbitmq } from '../support/brokers.js';
import { requireKafka } from '../support/kafka.js';

const exec = promisify(execFile);
const REPO = path.resolve(import.meta.dirname, '../..');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const SIZE_GOAL_BYTES = 10 * 1024 * 1024;
const STRICT_FLAGS = [
  'strict',
  'exactOptionalPropertyTypes',
  'noPropertyAccessFromIndexSignature',
  'noUncheckedIndexedAccess',
] as const;

const rabbit = await requireRabbitmq();
const kafka = await requireKafka();

let root: string;
let tarballs: string[];

/** The environment of a user's shell: none of the npm_* variables `npm test` set for this run. */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^npm_|^INIT_CWD$|^NODE_OPTIONS$|^VITEST|^TSX/i.test(k)) env[k] = v;
  }
  return { ...env, NO_COLOR: '1', ...extra };
}

interface Run {
  code: number;
  out: string;
}

async function run(cwd: string, file: string, args: string[], extra: Record<string, string> = {}): Promise<Run> {
  try {
    const r = await exec(file, args, { cwd, env: userEnv(extra), maxBuffer: 64 * 1024 * 1024, timeout: 600_000 });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string; message: string };
    return { code: typeof e.code === 'number' ? e.code : 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}${e.message}` };
  }
}

async function ok(cwd: string, file: string, args: string[], extra: Record<string, string> = {}): Promise<string> {
  const r = await run(cwd, file, args, extra);
  expect(r.code, `${file} ${args.join(' ')} in ${cwd}:\n${r.out}`).toBe(0);
  return r.out;
}

const npm = (cwd: string, ...args: string[]) => ok(cwd, NPM, [...args, '--no-audit', '--no-fund']);

/** A new project folder made by `npm init -y`, then adjusted by `prepare`. */
async function project(name: string, prepare: (dir: string) => void = () => {}): Promise<string> {
  const dir = path.join(root, name);
  fs.mkdirSync(dir);
  await ok(dir, NPM, ['init', '-y']);
  prepare(dir);
  await npm(dir, 'install', ...tarballs);
  return dir;
}

function packageJson(dir: string): { type?: string; dependencies?: Record<string, string> } {
  return JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { type?: string };
}

/** init → install → build → start → test, and the tsconfig holds the strict flags. */
async function starter(dir: string, esm: boolean): Promise<void> {
  const init = await ok(dir, process.execPath, [
    'node_modules/eventform/bin/eventform.js',
    'init',
    '--broker',
    'rabbitmq,kafka',
  ]);
  expect(init).toContain('topology.yaml: created');
  expect(packageJson(dir).type === 'module').toBe(esm);
  await npm(dir, 'install');
  await ok(dir, NPM, ['run', 'build']);
  const tsconfig = JSON.parse(fs.readFileSync(path.join(dir, 'tsconfig.json'), 'utf8')) as {
    compilerOptions: Record<string, unknown>;
  };
  for (const flag of STRICT_FLAGS) expect(tsconfig.compilerOptions[flag], flag).toBe(true);
  expect(tsconfig.compilerOptions['skipLibCheck']).toBe(false);
  expect(tsconfig.compilerOptions['verbatimModuleSyntax'] === true).toBe(esm);

  const start = await ok(dir, NPM, ['start']);
  expect(start).toContain('"msg":"done: the order shipped"');
  expect(start).toContain('"transport":"memory"');

  const test = await ok(dir, NPM, ['test']);
  expect(test).toMatch(/Tests\s+2 passed/);
}

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'eventform-packages-'));
  for (const pkg of [
    'generator',
    'runtime/core',
    'runtime/rabbitmq',
    'runtime/kafka',
    'runtime/postgres',
    'runtime/nats',
  ]) {
    expect(fs.existsSync(path.join(REPO, pkg, 'dist')), `${pkg}/dist: run npm run build`).toBe(true);
  }
  const out = await ok(REPO, NPM, ['pack', '--workspaces', '--pack-destination', root, '--json', '--silent']);
  const packed = JSON.parse(out.slice(out.indexOf('['))) as { filename: string; files: { path: string }[] }[];
  tarballs = packed.map((p) => path.join(root, p.filename));
  expect(tarballs).toHaveLength(6);
  // What is in the tarballs: the build, no sources, no build info.
  for (const p of packed) {
    const files = p.files.map((f) => f.path);
    expect(files, p.filename).toContain('package.json');
    expect(files, p.filename).toContain('README.md');
    expect(
      files.filter((f) => /\.ts$/.test(f) && !f.endsWith('.d.ts')),
      p.filename,
    ).toEqual([]);
    expect(
      files.filter((f) => f.includes('tsbuildinfo')),
      p.filename,
    ).toEqual([]);
  }
}, 300_000);

afterAll(() => {
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

describe('the packages in a fresh project, from npm pack tarballs', () => {
  it('@eventform/runtime + @eventform/rabbitmq install within 10 MB', async () => {
    const dir = path.join(root, 'lean');
    fs.mkdirSync(dir);
    await ok(dir, NPM, ['init', '-y']);
    const pick = (name: string) => tarballs.find((t) => path.basename(t).startsWith(name))!;
    await npm(dir, 'install', pick('eventform-runtime-'), pick('eventform-rabbitmq-'));
    const bytes = folderBytes(path.join(dir, 'node_modules'));
    const listed = fs.readdirSync(path.join(dir, 'node_modules')).filter((n) => !n.startsWith('.'));
    console.info(
      `installed size of @eventform/runtime + @eventform/rabbitmq: ${(bytes / 1024 / 1024).toFixed(2)} MB ` +
        `(goal at most 10 MB): ${listed.join(', ')}`,
    );
    expect(bytes).toBeLessThanOrEqual(SIZE_GOAL_BYTES);
    // Neither the generator nor its heavy tooling comes along.
    for (const heavy of ['eventform', 'ts-morph', 'typescript', 'json-schema-to-typescript', 'prettier', 'tsx', 'pg'])
      expect(listed).not.toContain(heavy);
    // A CommonJS app (npm init -y) requires the ES module packages with plain node.
    const probe =
      "const r = require('@eventform/runtime'); const b = require('@eventform/rabbitmq');" +
      'console.log(typeof r.createRuntime, typeof b.RabbitMQTransport, typeof b.transportFromEnv)';
    expect((await ok(dir, process.execPath, ['-e', probe])).trim()).toBe('function function function');
    // BROKER=kafka without @eventform/kafka says which package to install.
    const missing = await run(dir, process.execPath, [
      '-e',
      "require('@eventform/runtime').createTransportFromEnv({ broker: 'kafka' }).catch((e) => { console.error(e.message); process.exit(3); })",
    ]);
    expect(missing.code).toBe(3);
    expect(missing.out).toMatch(
      /BROKER=kafka needs the package @eventform\/kafka, which is not installed: npm install @eventform\/kafka@\d/,
    );
  }, 300_000);

  it.skipIf(!rabbit.available || !kafka.available)(
    'npm init -y: init makes the fresh project ESM; build, start, test pass; the demo runs on RabbitMQ and Kafka',
    async () => {
      const dir = await project('npm-init');
      expect(packageJson(dir).type ?? 'commonjs').toBe('commonjs');
      await starter(dir, true);
      const onRabbit = await ok(dir, NPM, ['start'], { BROKER: 'rabbitmq', EVENTFORM_RABBITMQ_URL: rabbit.url });
      expect(onRabbit).toContain('"transport":"rabbitmq"');
      expect(onRabbit).toContain('"msg":"done: the order shipped"');
      const onKafka = await ok(dir, NPM, ['start'], { BROKER: 'kafka', KAFKA_BROKERS: kafka.brokers });
      expect(onKafka).toContain('"transport":"kafka"');
      expect(onKafka).toContain('"msg":"done: the order shipped"');
    },
    600_000,
  );

  it('"type": "module": the starter builds, starts and tests; init run again changes nothing', async () => {
    const dir = await project('esm', (d) => {
      const pkg = packageJson(d);
      fs.writeFileSync(path.join(d, 'package.json'), JSON.stringify({ ...pkg, type: 'module' }, null, 2));
    });
    await starter(dir, true);
    const before = snapshot(dir);
    const again = await ok(dir, process.execPath, ['node_modules/eventform/bin/eventform.js', 'init']);
    expect(again).toContain('topology.yaml: exists, kept');
    expect(snapshot(dir)).toEqual(before);
  }, 600_000);

  it('a CommonJS project with code keeps CommonJS; the starter compiles to require() of the ES module packages', async () => {
    const dir = await project('commonjs-app', (d) => {
      fs.writeFileSync(path.join(d, 'index.js'), "module.exports = 'an existing CommonJS app';\n");
    });
    await starter(dir, false);
    const compiled = fs.readFileSync(path.join(dir, 'dist/src/main.js'), 'utf8');
    expect(compiled).toContain('require("@eventform/runtime")');
  }, 600_000);
});

function folderBytes(dir: string): number {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) total += folderBytes(p);
    else if (entry.isFile()) total += fs.statSync(p).size;
  }
  return total;
}

/** Every file outside node_modules and dist, with its contents. */
function snapshot(dir: string, rel = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = path.join(rel, entry.name);
    if (entry.name === 'node_modules' || entry.name === 'dist') continue;
    if (entry.isDirectory()) Object.assign(out, snapshot(dir, r));
    else out[r] = fs.readFileSync(path.join(dir, r), 'utf8');
  }
  return out;
}
