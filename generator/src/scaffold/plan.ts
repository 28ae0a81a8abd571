/**
 * What `eventform scaffold <service>` writes, decided without touching disk: one plan per file of
 * the service folder, each `create`, `overwrite` (only with `force`, never the handlers), or `skip`.
 *
 * - `handlers.ts` comes from the generator's stub module (`planStubs`), so a scaffolded stub is
 *   byte for byte what `eventform generate --stubs` writes. A service without consumers gets none.
 * - `main.ts` is the entry point (./render-main.ts).
 * - `<service>.contract.test.ts` is the contract test (./render-contract-test.ts); only for a
 *   service with consumers, since it tests handlers.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { TopologyIR } from '@eventform/runtime';
import type { Names } from '../naming.js';
import { generatedImport, planStubs, stubFile } from '../stubs/stubs.js';
import { contractTestFileName, renderContractTest } from './render-contract-test.js';
import { renderMain } from './render-main.js';

export type ScaffoldFileKind = 'handlers' | 'main' | 'contract-test';

export interface ScaffoldFilePlan {
  kind: ScaffoldFileKind;
  /** Path as built from `dir` (not resolved). */
  file: string;
  /**
   * `create`: missing, will be written. `overwrite`: exists and differs, `force` rewrites it.
   * `unchanged`: exists with exactly these contents. `skip`: exists, left alone.
   */
  action: 'create' | 'overwrite' | 'unchanged' | 'skip';
  /** Contents to write for `create` and `overwrite`. */
  contents?: string | undefined;
  /** Why a file is skipped (first), then anything else the user should know about it. */
  notes: string[];
  /** For handlers.ts: the handlers the created stub implements. */
  handlers?: string[] | undefined;
}

export interface ScaffoldOptions {
  service: string;
  /** Folder holding one folder per service. @default 'services' */
  dir: string;
  /** The generated output directory. */
  outDir: string;
  /** Rewrite main.ts and the contract test when they differ; handlers.ts is never rewritten. */
  force: boolean;
  runtimeImport: string;
  testingImport: string;
  /** Reads an existing file; `undefined` when it does not exist. */
  read: (file: string) => string | undefined;
  /** The command that runs main.ts, for its header comment. */
  runCommand?: ((mainFile: string) => string) | undefined;
}

export const SCAFFOLD_DEFAULTS = {
  dir: 'services',
  outDir: 'generated',
  runtimeImport: '@eventform/runtime',
} as const;

/** The folder of `service`. */
export function serviceDir(dir: string, service: string): string {
  return path.join(dir, service);
}

/** Plan the files of `options.service`, in the order they are reported: handlers, main, contract test. */
export async function planScaffold(
  ir: TopologyIR,
  names: Names,
  options: ScaffoldOptions,
): Promise<ScaffoldFilePlan[]> {
  const service = ir.services.find((s) => s.name === options.service);
  if (!service) throw new Error(`planScaffold: no service ${options.service}`);
  const plans: ScaffoldFilePlan[] = [];
  const folder = serviceDir(options.dir, service.name);

  if (service.consumers.length > 0) plans.push(await planHandlers(ir, names, options));

  const mainFile = path.join(folder, 'main.ts');
  const main = renderMain({
    ir,
    names,
    service: service.name,
    generatedImport: generatedImport(mainFile, options.outDir),
    runtimeImport: options.runtimeImport,
    runCommand: options.runCommand?.(mainFile) ?? runCommand(mainFile, await readTsconfigDirs()),
  });
  plans.push(planOwnFile('main', mainFile, main, options));

  if (service.consumers.length > 0) {
    const testFile = path.join(folder, contractTestFileName(service.name));
    const test = renderContractTest({
      ir,
      names,
      service: service.name,
      generatedImport: generatedImport(testFile, options.outDir),
      runtimeImport: options.runtimeImport,
      testingImport: options.testingImport,
    });
    plans.push(planOwnFile('contract-test', testFile, test, options));
  }
  return plans;
}

/** The stub, through the generator's stub planner; an existing stub is never written. */
async function planHandlers(ir: TopologyIR, names: Names, options: ScaffoldOptions): Promise<ScaffoldFilePlan> {
  const file = stubFile(options.dir, options.service);
  // Only this service's stub is read: every other one is planned as missing, which costs a render
  // and no ts-morph parse, and is then ignored.
  const read = (f: string): string | undefined => (f === file ? options.read(f) : undefined);
  const stubPlans = await planStubs(ir, names, { stubsDir: options.dir, outDir: options.outDir, read });
  const plan = stubPlans.find((p) => p.service === options.service);
  if (!plan) throw new Error(`planStubs gave no plan for ${options.service}`);
  if (plan.action === 'create') {
    return { kind: 'handlers', file, action: 'create', contents: plan.contents!, notes: [], handlers: plan.added };
  }

  const notes = ['exists; handler code is yours and is never overwritten, not even with --force'];
  if (plan.action === 'append') {
    notes.push(
      `the topology has handlers it lacks (${plan.added.join(', ')}): \`eventform generate --stubs ${toPosix(options.dir)}\` appends them`,
    );
  }
  if (plan.action === 'skipped') notes.push(...plan.warnings);
  if (plan.removed.length > 0)
    notes.push(`it implements handlers the topology no longer has: ${plan.removed.join(', ')}`);
  return { kind: 'handlers', file, action: 'skip', notes };
}

function planOwnFile(
  kind: ScaffoldFileKind,
  file: string,
  contents: string,
  options: ScaffoldOptions,
): ScaffoldFilePlan {
  const existing = options.read(file);
  if (existing === undefined) return { kind, file, action: 'create', contents, notes: [] };
  if (existing === contents) return { kind, file, action: 'unchanged', notes: [] };
  if (options.force) return { kind, file, action: 'overwrite', contents, notes: [] };
  return { kind, file, action: 'skip', notes: ['exists and differs; --force rewrites it'] };
}

/**
 * How to run a scaffolded entry point. With the project's tsconfig.json (in the working directory)
 * naming an `outDir`: plain Node on the build, `node dist/src/x/main.js`. Otherwise through tsx, as
 * `node --import tsx` rather than the `tsx` command: the command relays SIGTERM to a child process
 * and SIGKILLs it when the child does not acknowledge within 30 ms, which on a loaded machine skips
 * the graceful shutdown.
 */
export function runCommand(mainFile: string, tsconfig: TsconfigDirs | undefined): string {
  if (tsconfig?.outDir) {
    const rel = path.relative(path.resolve(tsconfig.rootDir ?? '.'), path.resolve(mainFile));
    if (!rel.startsWith('..')) return `node ${toPosix(path.join(tsconfig.outDir, rel)).replace(/\.ts$/, '.js')}`;
  }
  return `node --import tsx ${toPosix(mainFile)}`;
}

export interface TsconfigDirs {
  outDir?: string | undefined;
  rootDir?: string | undefined;
}

/**
 * `outDir` and `rootDir` of ./tsconfig.json (comments and trailing commas allowed, as tsc allows
 * them; `extends` is not followed). TypeScript's own parser, through ts-morph, loaded only here.
 */
export async function readTsconfigDirs(file = 'tsconfig.json'): Promise<TsconfigDirs | undefined> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const { ts } = await import('ts-morph');
  const { config } = ts.parseConfigFileTextToJson(file, text) as {
    config?: { compilerOptions?: Record<string, unknown> };
  };
  const o = config?.compilerOptions ?? {};
  const dirs: TsconfigDirs = {};
  if (typeof o['outDir'] === 'string') dirs.outDir = o['outDir'];
  if (typeof o['rootDir'] === 'string') dirs.rootDir = o['rootDir'];
  return dirs;
}

function toPosix(p: string): string {
  return p.split(path.sep).join('/');
}
