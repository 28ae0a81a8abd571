/**
 * `eventform init` as a user runs it (the built CLI, in folders outside the repository), and the
 * pieces it decides with: which folders count as fresh, what package.json gains and keeps, the
 * topology name. Installing, building and running the starter is test/packages/user-project.test.ts.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { starterTopology, topologyNameFor } from '../../generator/src/init/starter.js';
import {
  PACKAGE_RANGE,
  planPackageJson,
  projectNeeds,
  TOOL_VERSIONS,
} from '../../generator/src/project/package-json.js';
import { loadTopology } from '../../generator/src/spec/index.js';

const CLI = path.resolve(import.meta.dirname, '../../generator/bin/eventform.js');
const roots: string[] = [];
afterAll(() => roots.forEach((r) => fs.rmSync(r, { recursive: true, force: true })));

function folder(files: Record<string, string> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eventform-init-'));
  roots.push(dir);
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  }
  return dir;
}

function init(dir: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, 'init', ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const read = (dir: string, rel: string) => fs.readFileSync(path.join(dir, rel), 'utf8');
const pkg = (dir: string) => JSON.parse(read(dir, 'package.json')) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Every file under `dir` with its contents. */
function snapshot(dir: string, rel = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = path.join(rel, e.name);
    if (e.isDirectory()) Object.assign(out, snapshot(dir, r));
    else out[r] = read(dir, r);
  }
  return out;
}

const NPM_INIT = {
  name: 'my-shop',
  version: '1.0.0',
  main: 'index.js',
  scripts: { test: 'echo "Error: no test specified" && exit 1' },
  license: 'ISC',
  type: 'commonjs',
};

describe('eventform init', () => {
  it('in an empty folder: a package.json, the starter and generated code; a second run changes nothing', () => {
    const dir = folder();
    const first = init(dir);
    expect(first.code, first.stderr).toBe(0);
    for (const f of [
      'topology.yaml',
      'tsconfig.json',
      '.gitignore',
      'src/main.ts',
      'src/order-service/handlers.ts',
      'src/order-service/main.ts',
      'src/order-service/order-service.contract.test.ts',
      'src/shipping-service/handlers.ts',
      'src/shipping-service/main.ts',
      'src/shipping-service/shipping-service.contract.test.ts',
      'generated/index.ts',
      'generated/validators.ts',
    ]) {
      expect(fs.existsSync(path.join(dir, f)), f).toBe(true);
    }
    const json = pkg(dir);
    expect(json).toMatchObject({
      type: 'module',
      scripts: {
        build: 'tsc',
        start: 'node dist/src/main.js',
        test: 'vitest run --dir src',
        generate: 'eventform generate',
      },
      dependencies: { '@eventform/runtime': PACKAGE_RANGE, '@eventform/rabbitmq': PACKAGE_RANGE },
      devDependencies: { eventform: PACKAGE_RANGE, ...TOOL_VERSIONS },
    });
    expect(json['dependencies']['@eventform/kafka']).toBeUndefined();
    expect(read(dir, 'topology.yaml')).toContain(`topology: ${topologyNameFor(path.basename(dir))}`);
    expect(JSON.parse(read(dir, 'tsconfig.json')).compilerOptions.verbatimModuleSyntax).toBe(true);
    expect(first.stdout).toContain('next:');

    const before = snapshot(dir);
    const again = init(dir);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('topology.yaml: exists, kept');
    expect(snapshot(dir)).toEqual(before);
  });

  it('after npm init -y (with a lockfile and an editor folder): becomes ESM, says what it changed, replaces only the placeholder test script', () => {
    const dir = folder({
      'package.json': JSON.stringify(NPM_INIT, null, 4),
      'package-lock.json': '{}',
      '.vscode/settings.json': '{}',
      'pnpm-lock.yaml': '',
    });
    const r = init(dir, '--broker', 'kafka,rabbitmq');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('type: commonjs → module');
    const json = pkg(dir);
    expect(json['type']).toBe('module');
    expect(json['scripts']['test']).toBe('vitest run --dir src');
    expect(Object.keys(json['dependencies']).sort()).toEqual([
      '@eventform/kafka',
      '@eventform/rabbitmq',
      '@eventform/runtime',
    ]);
    expect(json['license']).toBe('ISC'); // everything else kept
    expect(read(dir, 'package.json')).toMatch(/^\{\n {4}"name"/); // and its indentation
  });

  it('a CommonJS project with code stays CommonJS: tsconfig without verbatimModuleSyntax, and says why', () => {
    const dir = folder({ 'package.json': JSON.stringify(NPM_INIT), 'index.js': 'module.exports = 1;\n' });
    const r = init(dir);
    expect(r.code, r.stderr).toBe(0);
    expect(pkg(dir)['type']).toBe('commonjs');
    expect(JSON.parse(read(dir, 'tsconfig.json')).compilerOptions.verbatimModuleSyntax).toBeUndefined();
    expect(r.stderr).toContain('this project is CommonJS and already has code');
  });

  it("keeps the user's scripts and dependencies, and warns about a runtime package in devDependencies", () => {
    const dir = folder({
      'package.json': JSON.stringify({
        name: 'x',
        type: 'module',
        scripts: { build: 'make', start: 'node server.js' },
        devDependencies: { '@eventform/runtime': 'file:../runtime.tgz', typescript: '5.9.0' },
      }),
    });
    const r = init(dir);
    expect(r.code, r.stderr).toBe(0);
    const json = pkg(dir);
    expect(json['scripts']).toMatchObject({ build: 'make', start: 'node server.js', test: 'vitest run --dir src' });
    expect(json['devDependencies']).toMatchObject({ '@eventform/runtime': 'file:../runtime.tgz', typescript: '5.9.0' });
    expect(json['dependencies']['@eventform/runtime']).toBeUndefined();
    expect(r.stderr).toContain('kept scripts.build (yours: "make"');
    expect(r.stderr).toContain('kept devDependencies.@eventform/runtime');
  });

  it("with the project's own topology: no starter code, every service of that topology scaffolded", () => {
    const own = starterTopology('own')
      .replace(/order-service/g, 'billing')
      .replace(/shipping-service/g, 'warehouse');
    const dir = folder({ 'topology.yaml': own });
    const r = init(dir);
    expect(r.code, r.stderr).toBe(0);
    expect(read(dir, 'topology.yaml')).toBe(own);
    expect(fs.existsSync(path.join(dir, 'src/main.ts'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'src/billing/main.ts'))).toBe(true);
    expect(fs.existsSync(path.join(dir, 'src/warehouse/warehouse.contract.test.ts'))).toBe(true);
  });

  it('an invalid topology of the project: exit 1 with its diagnostics, nothing else written', () => {
    const dir = folder({ 'topology.yaml': 'topology: x\nversion: 1\nevents: 3\n' });
    const r = init(dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/topology\.yaml:\d+:\d+ error EF/);
    expect(fs.readdirSync(dir)).toEqual(['topology.yaml']);
  });

  it('an unknown broker is a usage error', () => {
    const dir = folder();
    const r = init(dir, '--broker', 'carrier-pigeon');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown broker "carrier-pigeon"');
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});

describe('topologyNameFor', () => {
  it.each([
    ['order-app', 'order-app'],
    ['@acme/Order_App', 'order-app'],
    ['myShopAPI', 'my-shop-api'],
    ['Café-Über', 'cafe-uber'],
    ['123-go', 'go'],
    ['', 'starter'],
    ['@scope/---', 'starter'],
    [undefined, 'starter'],
    ['a-very-long-package-name-that-goes-on-and-on-forever', 'a-very-long-package-name-that-goes-on'],
  ])('%s → %s', (name, expected) => {
    const result = topologyNameFor(name);
    expect(result).toBe(expected);
    expect(result).toMatch(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/); // kebab-case, as the format requires
    expect(result.length).toBeLessThanOrEqual(40);
  });
});

describe('planPackageJson and projectNeeds', () => {
  it('adds what is missing, counts peer and optional dependencies as present, never replaces', () => {
    const plan = planPackageJson(
      {
        peerDependencies: { '@eventform/runtime': '*' },
        optionalDependencies: { vitest: '1' },
        scripts: { test: 'jest' },
      },
      {
        dependencies: { '@eventform/runtime': '^1.0.0', x: '1' },
        devDependencies: { vitest: '^4' },
        scripts: { test: 'vitest' },
      },
    );
    expect(plan.json['dependencies']).toEqual({ x: '1' });
    expect(plan.json['devDependencies']).toBeUndefined();
    expect(plan.json.scripts).toEqual({ test: 'jest' });
    expect(plan.added).toEqual(['dependencies: x 1']);
    expect(plan.kept).toEqual(['scripts.test (yours: "jest"; eventform\'s: "vitest")']);
  });

  it('needs: the runtime only for the default import, postgres only for a postgres service, vitest for contract tests', () => {
    const { ir } = loadTopology(path.resolve(import.meta.dirname, '../scaffold/fixtures/helpdesk.yaml'));
    const needs = (services: string[], runtimeImport = '@eventform/runtime', contractTests = true) =>
      projectNeeds({ ir: ir!, services, runtimeImport, contractTests });
    expect(needs(['audit-log'])).toEqual({
      dependencies: { '@eventform/runtime': PACKAGE_RANGE, '@eventform/postgres': PACKAGE_RANGE },
      devDependencies: { vitest: TOOL_VERSIONS.vitest },
    });
    expect(needs(['helpdesk'], '../my-runtime.js', false)).toEqual({ dependencies: {}, devDependencies: {} });
  });
});
