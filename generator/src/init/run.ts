/**
 * `eventform init`: turns an empty folder, or one made by `npm init -y`, into a project that
 * builds, runs and tests: topology.yaml, a strict tsconfig.json, the starter's handlers and demo
 * under src/, generated/ (by the generator, as `eventform generate` writes it), each service's entry
 * point and contract test (as `eventform scaffold` writes them), and package.json scripts and
 * dependencies at versions matching this CLI.
 *
 * Never overwrites: a file that exists is kept and reported; in package.json only what is missing
 * is added (npm init's placeholder `test` script excepted). Never prompts.
 *
 * Module system: a project without code yet (no .js/.ts files, no src/ or lib/ folder: what
 * `npm init -y` makes, lockfiles and editor folders included) becomes an ES module project
 * (`"type": "module"`), which TypeScript's strictest settings expect. A project that already has
 * code keeps its module system; under CommonJS its tsconfig leaves out
 * `verbatimModuleSyntax`, and the ES module packages of eventform load through `require()`
 * (Node 20.19+).
 */
import fs from 'node:fs';
import path from 'node:path';
import { BROKER_NAMES, type BrokerName } from '@eventform/runtime';
import { runGenerate } from '../cli/generate.js';
import { DEFAULT_TOPOLOGY, EXIT, processIo, readSource, UserError, type CliIo } from '../cli/shared.js';
import { GENERATE_DEFAULTS } from '../generate.js';
import { assignNames } from '../naming.js';
import {
  planPackageJson,
  projectNeeds,
  readPackageJson,
  writePackageJson,
  type PackageFile,
} from '../project/package-json.js';
import { SCAFFOLD_DEFAULTS } from '../scaffold/plan.js';
import { runScaffold } from '../scaffold/run.js';
import { formatDiagnostics, loadTopology } from '../spec/index.js';
import {
  orderHandlers,
  shippingHandlers,
  STARTER,
  STARTER_GITIGNORE,
  starterDemo,
  starterTopology,
  starterTsconfig,
  topologyNameFor,
} from './starter.js';

export const INIT_DEFAULTS = {
  /** Transport packages the starter installs (memory needs none). */
  brokers: ['rabbitmq'] as BrokerName[],
  /** Where the services live: `src/<service>/`. */
  src: 'src',
} as const;

/** What makes a folder "a project with code": its module system is then left alone. */
const CODE_FILE = /\.(?:[cm]?js|[cm]?ts|jsx|tsx)$/;
const CODE_DIRS = new Set(['src', 'lib']);

export interface InitOptions {
  /** Transport packages to depend on, e.g. `['rabbitmq', 'kafka']`. @default ['rabbitmq'] */
  brokers?: BrokerName[] | undefined;
  /** The folder to initialise. @default process.cwd() */
  cwd?: string | undefined;
}

/**
 * The command's body. The CLI's own process only: generate and scaffold work relative to the
 * working directory, which this sets to the project for their duration.
 */
export async function runInit(options: InitOptions = {}, io: CliIo = processIo): Promise<number> {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const brokers = options.brokers ?? INIT_DEFAULTS.brokers;
  for (const b of brokers) {
    if (!BROKER_NAMES.includes(b))
      throw new UserError(`unknown broker "${b}" (one of ${BROKER_NAMES.join(', ')})`, EXIT.usage);
  }
  if (!fs.existsSync(cwd) || !fs.statSync(cwd).isDirectory()) {
    throw new UserError(`${cwd} is not a folder`, EXIT.usage);
  }
  const pkgFile = path.join(cwd, 'package.json');
  const pkg = readPackageJsonOrFail(pkgFile);
  const hasCode = fs
    .readdirSync(cwd, { withFileTypes: true })
    .some((e) => (e.isFile() && CODE_FILE.test(e.name)) || (e.isDirectory() && CODE_DIRS.has(e.name)));
  const esm = pkg?.json.type === 'module' || !hasCode;

  const at = (rel: string) => path.join(cwd, rel);
  const report = (rel: string, what: string) => io.stdout(`${rel}: ${what}\n`);
  const writeOnce = (rel: string, contents: string): void => {
    if (fs.existsSync(at(rel))) return report(rel, 'exists, kept');
    fs.mkdirSync(path.dirname(at(rel)), { recursive: true });
    fs.writeFileSync(at(rel), contents, { flag: 'wx' });
    report(rel, 'created');
  };

  // 1. The topology, unless the project has one: then the starter code is skipped (it is written
  //    for the starter topology), and generate and scaffold work from the project's own. Nothing
  //    else is written until it loads.
  const topologyFile = DEFAULT_TOPOLOGY;
  const ownTopology = fs.existsSync(at(topologyFile));
  writeOnce(topologyFile, starterTopology(topologyNameFor(pkg?.json.name ?? path.basename(cwd))));
  const { ir, diagnostics } = await inCwd(cwd, () => loadTopology(topologyFile));
  if (!ir) {
    io.stderr(formatDiagnostics(diagnostics, (f) => readSource(path.resolve(cwd, f))));
    io.stderr(`${topologyFile} has errors (above): nothing else written\n`);
    return EXIT.invalid;
  }
  writeOnce('tsconfig.json', starterTsconfig(esm));
  writeOnce('.gitignore', STARTER_GITIGNORE);

  // 2. package.json: scripts, dependencies, the module type.
  const needs = projectNeeds({
    ir,
    services: ir.services.map((s) => s.name),
    runtimeImport: GENERATE_DEFAULTS.runtimeImport,
    brokers,
    contractTests: ir.consumers.length > 0,
    tooling: true,
  });
  needs.module = !hasCode;
  needs.scripts = {
    generate: 'eventform generate',
    check: 'eventform check',
    build: 'tsc',
    start: `node dist/${INIT_DEFAULTS.src}/main.js`,
    test: `vitest run --dir ${INIT_DEFAULTS.src}`,
  };
  const base = pkg?.json ?? { name: topologyNameFor(path.basename(cwd)), version: '0.1.0', private: true };
  const plan = planPackageJson(base, needs);
  if (plan.changed || !pkg) {
    writePackageJson(pkgFile, plan.json, pkg?.indent);
    report('package.json', pkg ? `added ${plan.added.join(', ')}` : 'created');
  }
  for (const k of plan.kept) io.stderr(`warning: package.json: kept ${k}\n`);
  if (!esm) {
    io.stderr(
      'note: this project is CommonJS and already has code, so its module system is kept: tsconfig.json leaves out ' +
        "verbatimModuleSyntax (TypeScript refuses import/export in CommonJS files under it), and eventform's ES module " +
        'packages load through require() (Node 20.19+).\n',
    );
  }

  // 3. generated/, the starter's own code (starter topology only), then each service's files.
  const generated = await inCwd(cwd, () => runGenerate(topologyFile, { out: SCAFFOLD_DEFAULTS.outDir }, io));
  if (generated !== EXIT.ok) return generated;
  if (!ownTopology) {
    const names = assignNames(ir);
    writeOnce(`${INIT_DEFAULTS.src}/${STARTER.producer}/handlers.ts`, orderHandlers(names));
    writeOnce(`${INIT_DEFAULTS.src}/${STARTER.shipper}/handlers.ts`, shippingHandlers(names));
    writeOnce(`${INIT_DEFAULTS.src}/main.ts`, starterDemo(names));
  }
  for (const service of ir.services) {
    const options = { dir: INIT_DEFAULTS.src, out: SCAFFOLD_DEFAULTS.outDir, quiet: true };
    const result = await inCwd(cwd, () => runScaffold(service.name, topologyFile, options, io));
    if (result.exitCode !== EXIT.ok) return result.exitCode;
  }

  const onBrokers = brokers
    .filter((b) => b !== 'memory')
    .map((b) => `BROKER=${b} npm start`)
    .join(', ');
  io.stdout(
    [
      '',
      'next:',
      '  npm install',
      '  npm run build',
      `  npm start                 # the demo on the in-memory broker${onBrokers ? `; ${onBrokers} on a real one` : ''}`,
      "  npm test                  # every service's contract test",
      `  edit ${topologyFile}, then npm run generate`,
      '',
    ].join('\n'),
  );
  return EXIT.ok;
}

function readPackageJsonOrFail(file: string): PackageFile | undefined {
  try {
    return readPackageJson(file);
  } catch (err) {
    throw new UserError(`cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`, EXIT.usage);
  }
}

/** Runs `body` with `dir` as the working directory, as if the command had been started there. */
async function inCwd<T>(dir: string, body: () => T | Promise<T>): Promise<T> {
  const previous = process.cwd();
  process.chdir(dir);
  try {
    return await body();
  } finally {
    process.chdir(previous);
  }
}
