/**
 * A project's package.json as `eventform init` and `eventform scaffold` touch it: they add the
 * dependencies and scripts the files they write need, and never replace what is there. An entry the
 * project already has (any version, a `file:` tarball, a workspace link) is kept as it is.
 *
 * Pure apart from {@link readPackageJson} and {@link writePackageJson}: the plan is data.
 */
import fs from 'node:fs';
import { BROKER_PACKAGES, type BrokerName, type TopologyIR } from '@eventform/runtime';
import { GENERATOR_VERSION } from '../version.js';

export interface PackageJson {
  name?: string | undefined;
  type?: string | undefined;
  scripts?: Record<string, string> | undefined;
  dependencies?: Record<string, string> | undefined;
  devDependencies?: Record<string, string> | undefined;
  peerDependencies?: Record<string, string> | undefined;
  optionalDependencies?: Record<string, string> | undefined;
  [field: string]: unknown;
}

/** A package.json as read: its data and the indentation to write it back with. */
export interface PackageFile {
  json: PackageJson;
  indent: string;
}

/** What the written files need. */
export interface PackageNeeds {
  dependencies?: Record<string, string> | undefined;
  devDependencies?: Record<string, string> | undefined;
  scripts?: Record<string, string> | undefined;
  /** Set `"type": "module"`. */
  module?: boolean | undefined;
}

export interface PackagePlan {
  json: PackageJson;
  /** `dependencies: @eventform/runtime ^0.2.0`, `scripts: build`, `type: commonjs → module`, ... */
  added: string[];
  /** What was wanted but already there with another value or in another place, kept. */
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

/** The package of the PostgreSQL idempotency store (services with `store: postgres`). */
export const POSTGRES_PACKAGE = '@eventform/postgres';

/** The runtime package, which generated and scaffolded code import. */
export const RUNTIME_PACKAGE = '@eventform/runtime';

export interface NeedsInput {
  ir: TopologyIR;
  /** The services whose files are written. */
  services: readonly string[];
  /** What the written code imports the runtime from; a custom specifier is the project's own business. */
  runtimeImport: string;
  /** Transport packages to depend on. @default [] */
  brokers?: readonly BrokerName[] | undefined;
  /** Whether contract tests are written (they run on vitest). */
  contractTests: boolean;
  /** The CLI and the tools the starter builds and tests with (init). @default false */
  tooling?: boolean | undefined;
}

/** The dependencies the files init and scaffold write need: one decision for both commands. */
export function projectNeeds(input: NeedsInput): PackageNeeds {
  const dependencies: Record<string, string> = {};
  if (input.runtimeImport === RUNTIME_PACKAGE) dependencies[RUNTIME_PACKAGE] = PACKAGE_RANGE;
  for (const b of input.brokers ?? []) if (b !== 'memory') dependencies[BROKER_PACKAGES[b]] = PACKAGE_RANGE;
  if (input.ir.services.some((s) => input.services.includes(s.name) && s.store === 'postgres')) {
    dependencies[POSTGRES_PACKAGE] = PACKAGE_RANGE;
  }
  const devDependencies: Record<string, string> = input.tooling ? { eventform: PACKAGE_RANGE, ...TOOL_VERSIONS } : {};
  if (input.contractTests) devDependencies['vitest'] = TOOL_VERSIONS.vitest;
  return { dependencies, devDependencies };
}

/** `npm init -y`'s placeholder test script: replaced, since it only fails. */
const NPM_INIT_TEST = /^echo "Error: no test specified" && exit 1$/;

export function planPackageJson(existing: PackageJson | undefined, needs: PackageNeeds): PackagePlan {
  const json: PackageJson = existing ? structuredClone(existing) : {};
  const added: string[] = [];
  const kept: string[] = [];
  const inField = (field: keyof PackageJson, name: string) =>
    (json[field] as Record<string, string> | undefined)?.[name] !== undefined;

  if (needs.module && json.type !== 'module') {
    added.push(json.type === undefined ? 'type: module' : `type: ${json.type} → module`);
    json.type = 'module';
  }
  for (const [name, range] of Object.entries(needs.dependencies ?? {})) {
    if (inField('dependencies', name) || inField('peerDependencies', name) || inField('optionalDependencies', name))
      continue;
    if (inField('devDependencies', name)) {
      kept.push(`devDependencies.${name} (a service needs it at run time: move it to dependencies)`);
      continue;
    }
    json.dependencies = sortKeys({ ...json.dependencies, [name]: range });
    added.push(`dependencies: ${name} ${range}`);
  }
  for (const [name, range] of Object.entries(needs.devDependencies ?? {})) {
    if (['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies'].some((f) => inField(f, name)))
      continue;
    json.devDependencies = sortKeys({ ...json.devDependencies, [name]: range });
    added.push(`devDependencies: ${name} ${range}`);
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
export function readPackageJson(file: string): PackageFile | undefined {
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
  return { json: json as PackageJson, indent: /^[ \t]+(?=")/m.exec(text)?.[0] ?? '  ' };
}

/** Writes `json` with the file's own indentation and a final newline, atomically (temp file + rename). */
export function writePackageJson(file: string, json: PackageJson, indent = '  '): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(json, null, indent)}\n`);
  fs.renameSync(tmp, file);
}

function sortKeys(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
