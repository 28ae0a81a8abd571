/**
 * A project's package.json as `eventform init` and `eventform scaffold` touch it: they add the
 * dependencies and scripts the files they write need, and never replace what is there. An entry the
 * project already has (any version, a `file:` tarball, a workspace link) is kept as it is.
 *
 * Pure apart from {@link readPackageJson} and {@link writePackageJson}: the plan is data.
 */
import fs from 'node:fs';
import { GENERATOR_VERSION } from '../version.js';

export interface PackageJson {
  name?: string;
  type?: string;
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  [field: string]: unknown;
}

/** What the written files need. */
export interface PackageNeeds {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  scripts?: Record<string, string>;
  /** Set `"type": "module"`. */
  module?: boolean;
}

export interface PackagePlan {
  json: PackageJson;
  /** `dependencies: @eventform/runtime ^0.2.0`, `scripts: build`, ... */
  added: string[];
  /** What was wanted but already there with another value, kept. */
  kept: string[];
  changed: boolean;
}

/** The version range of eventform's own packages that files written by this CLI need. */
export const PACKAGE_RANGE = `^${GENERATOR_VERSION}`;

/**
 * Tools the starter and scaffolded tests run with: the versions this repository builds and tests
 * with (test/init checks they match its package.json).
 */
export const TOOL_VERSIONS = {
  typescript: '^6.0.3',
  '@types/node': '^20.19.0',
  vitest: '^4.1.12',
} as const;

/** `npm init -y`'s placeholder test script: replaced, since it only fails. */
const NPM_INIT_TEST = /^echo "Error: no test specified" && exit 1$/;

export function planPackageJson(existing: PackageJson | undefined, needs: PackageNeeds): PackagePlan {
  const json: PackageJson = existing ? structuredClone(existing) : {};
  const added: string[] = [];
  const kept: string[] = [];
  const has = (name: string) => json.dependencies?.[name] !== undefined || json.devDependencies?.[name] !== undefined;

  if (needs.module && json.type !== 'module') {
    json.type = 'module';
    added.push('type: module');
  }
  for (const field of ['dependencies', 'devDependencies'] as const) {
    for (const [name, range] of Object.entries(needs[field] ?? {})) {
      if (has(name)) continue;
      json[field] = sortKeys({ ...json[field], [name]: range });
      added.push(`${field}: ${name} ${range}`);
    }
  }
  for (const [name, command] of Object.entries(needs.scripts ?? {})) {
    const current = json.scripts?.[name];
    if (current === command) continue;
    if (current !== undefined && !(name === 'test' && NPM_INIT_TEST.test(current))) {
      kept.push(`scripts.${name} (yours: "${current}"; eventform's: "${command}")`);
      continue;
    }
    json.scripts = { ...json.scripts, [name]: command };
    added.push(`scripts: ${name}`);
  }
  return { json, added, kept, changed: added.length > 0 };
}

/** The package.json at `file`; `undefined` when there is none. A file that is not a JSON object throws. */
export function readPackageJson(file: string): PackageJson | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const json = JSON.parse(text) as unknown;
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new Error(`${file} is not a JSON object`);
  }
  return json as PackageJson;
}

/** Writes `json` as npm does: two spaces, a final newline; atomically (temp file + rename). */
export function writePackageJson(file: string, json: PackageJson): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(json, null, 2)}\n`);
  fs.renameSync(tmp, file);
}

function sortKeys(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
