/**
 * `eventform scaffold <service>`: the command's body, callable from tests.
 *
 * Order: load the topology → find the service (did-you-mean when absent) → generate in memory and
 * compare with the output directory (scaffolded code imports the generated code, so it must exist
 * and match the topology; scaffold never writes it, `eventform generate` does) → plan the service
 * folder → write what is missing. Nothing is written unless every check passed.
 *
 * Exit codes (cli/exit-codes.ts), nothing written unless 0: 0 done (also when every file already
 * existed and was skipped); 1 the topology is invalid, or the generated code is missing or out of
 * date (what `generate --check` reports); 2 the topology file cannot be read, the service is not in
 * it, or the output folder is not eventform's.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { TopologyIR } from '@eventform/runtime';
import { generate, GenerateError, MARKER_FILE } from '../generate.js';
import {
  type CliIo,
  EXIT,
  type ExitCode,
  exitCodeFor,
  notLoadedLine,
  processIo,
  readSource,
  useColor,
} from '../cli/shared.js';
import { generateErrorDiagnostic } from '../naming.js';
import { renderGenerateError } from '../cli/generate.js';
import { formatDiagnostics, loadTopology } from '../spec/index.js';
import { closest } from '../spec/suggest.js';
import { diffOutput, inSync, readUserFile, writeUserFile } from '../writer.js';
import { planPackageJson, projectNeeds, readPackageJson, writePackageJson } from '../project/package-json.js';
import {
  planScaffold,
  readTsconfigDirs,
  runCommand,
  SCAFFOLD_DEFAULTS,
  type ScaffoldFilePlan,
  type TsconfigDirs,
} from './plan.js';

export interface ScaffoldCliOptions {
  /** @default 'services' */
  dir?: string | undefined;
  /** @default 'generated' */
  out?: string | undefined;
  /** Rewrite main.ts and the contract test when they differ (never handlers.ts). */
  force?: boolean | undefined;
  /** The specifier `eventform generate --runtime-import` was given. @default '@eventform/runtime' */
  runtimeImport?: string | undefined;
  /** Leave out the "next:" hints (init prints its own). */
  quiet?: boolean | undefined;
}

export interface ScaffoldResult {
  exitCode: ExitCode;
  files: ScaffoldFilePlan[];
}

export async function runScaffold(
  service: string,
  file: string,
  options: ScaffoldCliOptions = {},
  io: CliIo = processIo,
): Promise<ScaffoldResult> {
  const dir = options.dir ?? SCAFFOLD_DEFAULTS.dir;
  const outDir = options.out ?? SCAFFOLD_DEFAULTS.outDir;
  const runtimeImport = options.runtimeImport ?? SCAFFOLD_DEFAULTS.runtimeImport;
  const color = useColor(process.stderr);
  const fail = (exitCode: ExitCode, message: string): ScaffoldResult => {
    io.stderr(message.endsWith('\n') ? message : `${message}\n`);
    return { exitCode, files: [] };
  };
  const generateFailed = (err: GenerateError): ScaffoldResult =>
    fail(exitCodeFor([generateErrorDiagnostic(err)]), renderGenerateError(err, color));

  const { ir: loaded, diagnostics } = loadTopology(sourceSpelling(file, outDir));
  if (diagnostics.length > 0) io.stderr(formatDiagnostics(diagnostics, readSource, { color }));
  if (!loaded) {
    const exitCode = exitCodeFor(diagnostics);
    return fail(exitCode, notLoadedLine(file, 'scaffolded', exitCode));
  }

  if (!loaded.services.some((s) => s.name === service)) return fail(EXIT.usage, unknownService(service, file, loaded));

  let generated: Awaited<ReturnType<typeof generate>>;
  try {
    generated = await generate(loaded, { runtimeImport });
  } catch (err) {
    if (err instanceof GenerateError) return generateFailed(err);
    throw err;
  }
  const regenerate = `eventform generate ${file} --out ${outDir}${runtimeImport === SCAFFOLD_DEFAULTS.runtimeImport ? '' : ` --runtime-import ${runtimeImport}`}`;
  // Missing or empty: not generated yet. Non-empty without the marker: diffOutput says it is foreign.
  if (!fs.existsSync(outDir) || (fs.statSync(outDir).isDirectory() && fs.readdirSync(outDir).length === 0)) {
    return fail(
      EXIT.invalid,
      `error: no generated code in ${display(outDir)}: run \`${regenerate}\` first, then scaffold`,
    );
  }
  try {
    const diff = diffOutput(outDir, generated.files);
    if (!inSync(diff)) {
      const lines = [
        `error: ${display(outDir)} is out of date with ${file}, and the scaffolded service would not compile against it:`,
      ];
      for (const f of diff.stale) lines.push(`  stale     ${f}`);
      for (const f of diff.missing) lines.push(`  missing   ${f}`);
      for (const f of diff.orphaned) lines.push(`  orphaned  ${f}`);
      lines.push(`run \`${regenerate}\` first, then scaffold`);
      return fail(EXIT.invalid, lines.join('\n'));
    }
  } catch (err) {
    if (err instanceof GenerateError) return generateFailed(err);
    throw err;
  }

  const plans = await planScaffold(generated.ir, generated.names, {
    service,
    dir,
    outDir,
    force: options.force ?? false,
    runtimeImport,
    testingImport: testingImportFor(runtimeImport),
    read: readUserFile,
  });

  for (const plan of plans) {
    if ((plan.action === 'create' || plan.action === 'overwrite') && plan.contents !== undefined) {
      writeUserFile(plan.file, plan.contents);
    }
    io.stdout(`${display(plan.file)}: ${describe(plan)}\n`);
    for (const note of plan.notes.slice(1)) io.stderr(`warning: ${note}\n`);
  }
  declareDependencies(generated.ir, service, plans, runtimeImport, io);
  if (!options.quiet) io.stdout(nextSteps(plans, await readTsconfigDirs()));
  return { exitCode: EXIT.ok, files: plans };
}

/**
 * What the written files need in ./package.json, added when missing (never replacing an entry):
 * the runtime, vitest for a contract test, @eventform/postgres for a service whose store is postgres.
 */
function declareDependencies(
  ir: TopologyIR,
  service: string,
  plans: ScaffoldFilePlan[],
  runtimeImport: string,
  io: CliIo,
): void {
  const file = readPackageJson('package.json');
  if (!file) return;
  const needs = projectNeeds({
    ir,
    services: [service],
    runtimeImport,
    contractTests: plans.some((p) => p.kind === 'contract-test'),
  });
  const plan = planPackageJson(file.json, needs);
  for (const k of plan.kept) io.stderr(`warning: package.json: kept ${k}\n`);
  if (!plan.changed) return;
  writePackageJson('package.json', plan.json, file.indent);
  io.stdout(`package.json: added ${plan.added.join(', ')} (run npm install)\n`);
}

function describe(plan: ScaffoldFilePlan): string {
  switch (plan.action) {
    case 'create':
      return plan.handlers ? `created (${plan.handlers.join(', ')})` : 'created';
    case 'overwrite':
      return 'rewritten (--force)';
    case 'unchanged':
      return 'skipped, exists and is what scaffold would write';
    case 'skip':
      return `skipped, ${plan.notes[0] ?? 'exists'}`;
  }
}

function nextSteps(plans: ScaffoldFilePlan[], tsconfig: TsconfigDirs | undefined): string {
  const main = plans.find((p) => p.kind === 'main');
  const test = plans.find((p) => p.kind === 'contract-test');
  const lines = ['next:'];
  if (main)
    lines.push(`  ${runCommand(display(main.file), tsconfig)}    # BROKER=memory|rabbitmq|kafka, default memory`);
  if (test) lines.push(`  npx vitest run ${display(test.file)}`);
  return lines.join('\n') + '\n';
}

/** `service 'x' is not in topology.yaml; did you mean 'y'?` plus the services it has. */
function unknownService(service: string, file: string, ir: TopologyIR): string {
  const names = ir.services.map((s) => s.name);
  const suggestion = closest(service, names);
  const hint = suggestion ? `; did you mean '${suggestion}'?` : '';
  const known = names.length > 0 ? `\n  services in ${file}: ${names.join(', ')}` : `\n  ${file} declares no services`;
  return `error: service '${service}' is not in ${file}${hint}${known}`;
}

/**
 * The topology path as the output directory's marker records it, when it names the same file as
 * `file`: generated banners carry the path as given to `generate`, so `./topology.yaml` and
 * `topology.yaml` must not make the output look stale.
 */
function sourceSpelling(file: string, outDir: string): string {
  try {
    const marker = JSON.parse(fs.readFileSync(path.join(outDir, MARKER_FILE), 'utf8')) as { sourceFile?: unknown };
    if (typeof marker.sourceFile === 'string' && path.resolve(marker.sourceFile) === path.resolve(file)) {
      return marker.sourceFile;
    }
  } catch {
    // No marker or unreadable: the output check below says so.
  }
  return file;
}

/**
 * The test-support entry next to the runtime: `@eventform/runtime` → `@eventform/runtime/testing`
 * (likewise for a package re-exporting it); a relative path → `@eventform/runtime/testing`.
 */
export function testingImportFor(runtimeImport: string): string {
  return runtimeImport.startsWith('.') ? `${SCAFFOLD_DEFAULTS.runtimeImport}/testing` : `${runtimeImport}/testing`;
}

function display(p: string): string {
  const rel = path.relative(process.cwd(), path.resolve(p)) || '.';
  return rel.split(path.sep).join('/');
}
