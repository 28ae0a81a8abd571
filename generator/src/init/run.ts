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
 * Module system: a fresh project (nothing in it but package.json and npm's own files) becomes an ES
 * module project (`"type": "module"`), which TypeScript's strictest settings expect. A project that
 * already has code keeps its module system; under CommonJS its tsconfig leaves out
 * `verbatimModuleSyntax`, and the ES module packages of eventform load through `require()`
 * (Node 20.19+).
 */
import fs from 'node:fs';
import path from 'node:path';
import { BROKER_NAMES, BROKER_PACKAGES, type BrokerName } from '@eventform/runtime';
import { runGenerate } from '../cli/generate.js';
import { EXIT, processIo, UserError, type CliIo } from '../cli/shared.js';
import { generate } from '../generate.js';
import {
  PACKAGE_RANGE,
  planPackageJson,
  readPackageJson,
  TOOL_VERSIONS,
  writePackageJson,
  type PackageNeeds,
} from '../project/package-json.js';
import { runScaffold } from '../scaffold/run.js';
import { loadTopology } from '../spec/index.js';
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
  topology: 'topology.yaml',
  out: 'generated',
  src: 'src',
} as const;

/** Files a freshly `npm init -y`-ed folder may already have that do not make it "a project with code". */
const FRESH_FILES =
  /^(package\.json|package-lock\.json|npm-shrinkwrap\.json|node_modules|\.git|\.gitignore|\.npmrc|\.nvmrc|readme(\..*)?|license(\..*)?)$/i;

export interface InitOptions {
  /** Transport packages to depend on, e.g. `['rabbitmq', 'kafka']`. @default ['rabbitmq'] */
  brokers?: BrokerName[];
  /** The folder to initialise. @default process.cwd() */
  cwd?: string;
}

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
  const fresh = fs.readdirSync(cwd).every((name) => FRESH_FILES.test(name));
  const esm = pkg?.type === 'module' || fresh;

  const at = (rel: string) => path.join(cwd, rel);
  const report = (rel: string, what: string) => io.stdout(`${rel}: ${what}\n`);
  const writeOnce = (rel: string, contents: string): void => {
    if (fs.existsSync(at(rel))) return report(rel, 'exists, kept');
    fs.mkdirSync(path.dirname(at(rel)), { recursive: true });
    fs.writeFileSync(at(rel), contents, { flag: 'wx' });
    report(rel, 'created');
  };

  // 1. The topology, unless the project has one: then the starter code is skipped (it is written
  //    for the starter topology), and generate/scaffold work from the project's own.
  const hadTopology = fs.existsSync(at(INIT_DEFAULTS.topology));
  writeOnce(INIT_DEFAULTS.topology, starterTopology(topologyNameFor(pkg?.name ?? path.basename(cwd))));
  writeOnce('tsconfig.json', starterTsconfig(esm));
  writeOnce('.gitignore', STARTER_GITIGNORE);

  // 2. package.json: scripts, dependencies, the module type.
  const { ir, diagnostics } = await inCwd(cwd, () => loadTopology(INIT_DEFAULTS.topology));
  if (!ir) {
    io.stderr(`${INIT_DEFAULTS.topology} has errors (${diagnostics.length}); run \`eventform validate\` to see them\n`);
    return EXIT.invalid;
  }
  const dependencies: Record<string, string> = { '@eventform/runtime': PACKAGE_RANGE };
  for (const b of brokers) if (b !== 'memory') dependencies[BROKER_PACKAGES[b]] = PACKAGE_RANGE;
  if (ir.services.some((s) => s.store === 'postgres')) dependencies['@eventform/postgres'] = PACKAGE_RANGE;
  const needs: PackageNeeds = {
    module: fresh,
    dependencies,
    devDependencies: { eventform: PACKAGE_RANGE, ...TOOL_VERSIONS },
    scripts: {
      generate: 'eventform generate',
      check: 'eventform check',
      build: 'tsc',
      start: `node dist/${INIT_DEFAULTS.src}/main.js`,
      test: `vitest run --dir ${INIT_DEFAULTS.src}`,
    },
  };
  const plan = planPackageJson(
    pkg ?? { name: topologyNameFor(path.basename(cwd)), version: '0.1.0', private: true },
    needs,
  );
  if (plan.changed || !pkg) {
    writePackageJson(pkgFile, plan.json);
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

  // 3. generated/, then the starter's own code (for the starter topology only), then each service.
  const generated = await inCwd(cwd, () => runGenerate(INIT_DEFAULTS.topology, { out: INIT_DEFAULTS.out }, io));
  if (generated !== EXIT.ok) return generated;
  if (!hadTopology) {
    const { names } = await generate(ir, { cwd });
    writeOnce(`${INIT_DEFAULTS.src}/${STARTER.producer}/handlers.ts`, orderHandlers(names));
    writeOnce(`${INIT_DEFAULTS.src}/${STARTER.shipper}/handlers.ts`, shippingHandlers(names));
    writeOnce(`${INIT_DEFAULTS.src}/main.ts`, starterDemo(names));
  }
  for (const service of ir.services) {
    const result = await inCwd(cwd, () =>
      runScaffold(
        service.name,
        INIT_DEFAULTS.topology,
        { dir: INIT_DEFAULTS.src, out: INIT_DEFAULTS.out, quiet: true },
        io,
      ),
    );
    if (result.exitCode !== EXIT.ok) return result.exitCode;
  }

  io.stdout(
    [
      '',
      'next:',
      '  npm install',
      '  npm run build',
      `  npm start                 # the demo on the in-memory broker${brokers.includes('rabbitmq') ? '; BROKER=rabbitmq npm start on RabbitMQ' : ''}${brokers.includes('kafka') ? '; BROKER=kafka npm start on Kafka' : ''}`,
      "  npm test                  # every service's contract test",
      `  edit ${INIT_DEFAULTS.topology}, then npm run generate`,
      '',
    ].join('\n'),
  );
  return EXIT.ok;
}

function readPackageJsonOrFail(file: string) {
  try {
    return readPackageJson(file);
  } catch (err) {
    throw new UserError(`cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`, EXIT.usage);
  }
}

/**
 * Runs `body` with `dir` as the working directory: the generate and scaffold commands resolve their
 * paths against it and print them relative to it, as when run there.
 */
async function inCwd<T>(dir: string, body: () => T | Promise<T>): Promise<T> {
  const previous = process.cwd();
  process.chdir(dir);
  try {
    return await body();
  } finally {
    process.chdir(previous);
  }
}
