/**
 * The package manifests: one version for all packages, internal dependencies on exactly that
 * version, `exports` only into dist/, a files whitelist, engines, and the tool versions `init` and
 * `scaffold` write matching the ones this repository builds and tests with.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_RANGE, TOOL_VERSIONS } from '../../generator/src/project/package-json.js';

const REPO = path.resolve(import.meta.dirname, '../..');

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  type?: string;
  engines?: { node?: string };
  exports?: Record<string, unknown>;
  files?: string[];
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  workspaces?: string[];
}

const read = (rel: string) => JSON.parse(fs.readFileSync(path.join(REPO, rel), 'utf8')) as Manifest;
const root = read('package.json');
const packages = root.workspaces!.map((dir) => ({ dir, pkg: read(`${dir}/package.json`) }));

describe('package manifests', () => {
  it('the workspace root is private and lists the six packages', () => {
    expect(root.private).toBe(true);
    expect(packages.map((p) => p.pkg.name).sort()).toEqual([
      '@eventform/kafka',
      '@eventform/nats',
      '@eventform/postgres',
      '@eventform/rabbitmq',
      '@eventform/runtime',
      'eventform',
    ]);
  });

  it('every package has the same version, and depends on its siblings at exactly that version', () => {
    const version = packages[0]!.pkg.version;
    const names = new Set(packages.map((p) => p.pkg.name));
    for (const { pkg } of packages) {
      expect(pkg.version, pkg.name).toBe(version);
      for (const deps of [pkg.dependencies, pkg.peerDependencies]) {
        for (const [name, range] of Object.entries(deps ?? {})) {
          if (names.has(name)) expect(range, `${pkg.name} → ${name}`).toBe(version);
        }
      }
    }
    expect(PACKAGE_RANGE).toBe(`^${version}`);
  });

  it('exports point only into dist/ (.js and .d.ts), files is a whitelist, engines and type are set', () => {
    for (const { dir, pkg } of packages) {
      expect(pkg.type, pkg.name).toBe('module');
      expect(pkg.engines?.node, pkg.name).toBe('>=20.19');
      expect(pkg.files, pkg.name).toContain('dist');
      for (const target of leaves(pkg.exports)) {
        if (/^\.\/(package\.json|topology\.schema\.json)$/.test(target)) continue;
        expect(target, `${pkg.name} export`).toMatch(/^\.\/dist\/.+\.(js|d\.ts)$/);
        expect(fs.existsSync(path.join(REPO, dir, target)), `${pkg.name}: ${target} is built`).toBe(true);
      }
      expect(fs.existsSync(path.join(REPO, dir, 'README.md')), `${dir}/README.md`).toBe(true);
    }
  });

  it('only @eventform/postgres depends on pg; the runtime does not depend on the generator tooling', () => {
    for (const { pkg } of packages) {
      if (pkg.name !== '@eventform/postgres') expect(Object.keys(pkg.dependencies ?? {}), pkg.name).not.toContain('pg');
    }
    const runtime = packages.find((p) => p.pkg.name === '@eventform/runtime')!.pkg;
    expect(Object.keys(runtime.dependencies ?? {}).sort()).toEqual(['ajv', 'ajv-formats']);
  });

  it('the tools init and scaffold declare are the ones the repository builds and tests with', () => {
    for (const [name, range] of Object.entries(TOOL_VERSIONS)) {
      const ours = root.devDependencies?.[name];
      expect(ours, name).toBeDefined();
      // Same major.minor floor: what the starter gets is what this repository tested.
      expect(range.replace(/^\^/, '').split('.').slice(0, 2), name).toEqual(
        ours!.replace(/^\^/, '').split('.').slice(0, 2),
      );
    }
  });
});

/** The target paths of an exports map (its string leaves). */
function leaves(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (value && typeof value === 'object') return Object.values(value).flatMap(leaves);
  return [];
}
