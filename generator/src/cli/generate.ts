/**
 * `eventform generate [topology.yaml] [--out generated/] [--stubs <dir>] [--check | --watch]`
 *
 * Writes the typed code for a topology into a directory eventform owns (see generator/writer.ts)
 * and, with `--stubs`, creates or extends user-owned handler stubs.
 *
 * With `--watch` it keeps running and regenerates on every change (see watch.ts).
 *
 * Exit codes (exit-codes.ts): 0 done / in sync; 1 an invalid topology, one the generator cannot
 * name, or `--check` found stale, missing or orphaned files; 2 a usage error, an unreadable
 * topology, or an output folder eventform may not write.
 */
import path from 'node:path';
import type { Command } from 'commander';
import type { TopologyIR } from '@eventform/runtime';
import type { CompileCache } from '../compile-cache.js';
import { generate, GENERATE_DEFAULTS, GenerateError } from '../generate.js';
import { generateErrorDiagnostic } from '../naming.js';
import { formatDiagnostics, loadTopology } from '../spec/index.js';
import { diffOutput, inSync, readUserFile, writeOutput, writeUserFile } from '../writer.js';
import {
  DEFAULT_TOPOLOGY,
  EXIT,
  exitCodeFor,
  notLoadedLine,
  processIo,
  readSource,
  useColor,
  UserError,
  type CliIo,
  type ExitCode,
} from './shared.js';

export interface GenerateCliOptions {
  /** @default 'generated' */
  out?: string | undefined;
  stubs?: string | undefined;
  check?: boolean | undefined;
  /** Regenerate on every change of the topology or a schema file it refers to, until Ctrl-C. */
  watch?: boolean | undefined;
  /** @default '@eventform/runtime' */
  runtimeImport?: string | undefined;
  /** Not a flag: `--watch` keeps one cache for all its runs (see compile-cache.ts). */
  cache?: CompileCache | undefined;
}

/** Adds the `generate` command to the eventform CLI. */
export function register(program: Command): void {
  program
    .command('generate')
    .description('generate typed producers, handler contracts, validators and provisioning data from a topology')
    .argument('[topology]', 'topology file', DEFAULT_TOPOLOGY)
    .option('--out <dir>', 'output directory; eventform owns it and deletes files it did not generate', 'generated')
    .option(
      '--stubs <dir>',
      'also write user-owned handler stubs (<dir>/<service>/handlers.ts): created once, then only appended to',
    )
    .option('--check', 'write nothing; exit 1 when the output directory is not what generate would write')
    .option(
      '--watch',
      'keep running: regenerate whenever the topology or a schema file it refers to changes (Ctrl-C stops)',
    )
    .option(
      '--runtime-import <specifier>',
      'module generated code imports the runtime from',
      GENERATE_DEFAULTS.runtimeImport,
    )
    .action(async (file: string, options: GenerateCliOptions) => {
      if (options.watch && options.check) throw new UserError('--watch and --check exclude each other', EXIT.usage);
      if (options.watch) {
        const { watchGenerate } = await import('./watch.js');
        process.exitCode = await watchGenerate(file, options);
      } else {
        process.exitCode = await runGenerate(file, options);
      }
    });
}

/** The command's body, callable from tests; returns the exit code instead of exiting. */
export async function runGenerate(
  file: string = DEFAULT_TOPOLOGY,
  options: GenerateCliOptions = {},
  io: CliIo = processIo,
): Promise<number> {
  return (await generateOnce(file, options, io)).exitCode;
}

/** What one run of {@link generateOnce} did. */
export interface GenerateRun {
  exitCode: ExitCode;
  /** Absolute paths of the topology and of every schema file it refers to (see LoadResult). */
  sources: string[];
  /** Output files written (changed or new), relative to the output folder; empty when nothing was written. */
  written: string[];
}

/**
 * Loads, generates and writes once, printing diagnostics as `generate` does. Writes nothing when
 * the topology has errors or cannot be generated, so the last good output stays in place.
 */
export async function generateOnce(
  file: string,
  options: GenerateCliOptions,
  io: CliIo,
  color: boolean = useColor(process.stderr),
): Promise<GenerateRun> {
  const outDir = options.out ?? 'generated';
  const { ir, diagnostics, sources } = loadTopology(file);
  const done = (exitCode: ExitCode, written: string[] = []): GenerateRun => ({ exitCode, sources, written });
  if (diagnostics.length > 0) io.stderr(formatDiagnostics(diagnostics, readSource, { color }));
  if (!ir) {
    const exitCode = exitCodeFor(diagnostics);
    io.stderr(`${notLoadedLine(file, 'generated', exitCode)}\n`);
    return done(exitCode);
  }

  try {
    const result = await generate(ir, {
      runtimeImport: options.runtimeImport ?? GENERATE_DEFAULTS.runtimeImport,
      ...(options.cache ? { cache: options.cache } : {}),
    });
    const shown = displayDir(outDir);

    if (options.check) {
      const diff = diffOutput(outDir, result.files);
      if (inSync(diff)) {
        io.stdout(`${shown} is up to date with ${file} (${result.files.size} files)\n`);
        return done(EXIT.ok);
      }
      const lines = [`${shown} is out of date with ${file}:`];
      for (const f of diff.stale) lines.push(`  stale     ${f}`);
      for (const f of diff.missing) lines.push(`  missing   ${f}`);
      for (const f of diff.orphaned) lines.push(`  orphaned  ${f}`);
      lines.push(`run \`eventform generate ${file} --out ${outDir}\` and commit the result`);
      io.stderr(lines.join('\n') + '\n');
      return done(EXIT.invalid);
    }

    const written = writeOutput(outDir, result.files);
    io.stdout(
      `${shown}: ${result.files.size} files from ${file} (${written.written.length} written, ` +
        `${written.unchanged.length} unchanged, ${written.orphaned.length} deleted)\n`,
    );

    if (options.stubs) await writeStubs(result.ir, result.names, options.stubs, outDir, io);
    return done(EXIT.ok, written.written);
  } catch (err) {
    if (err instanceof GenerateError) {
      const diagnostic = generateErrorDiagnostic(err);
      io.stderr(renderGenerateError(err, color));
      return done(exitCodeFor([diagnostic]));
    }
    throw err;
  }
}

async function writeStubs(
  ir: TopologyIR,
  names: Awaited<ReturnType<typeof generate>>['names'],
  stubsDir: string,
  outDir: string,
  io: CliIo,
): Promise<void> {
  // ts-morph loads the TypeScript compiler: only pay for it when stubs are asked for.
  const { planStubs } = await import('../stubs/stubs.js');
  const plans = await planStubs(ir, names, { stubsDir, outDir, read: readUserFile });
  for (const plan of plans) {
    if ((plan.action === 'create' || plan.action === 'append') && plan.contents !== undefined) {
      writeUserFile(plan.file, plan.contents);
    }
    const shown = displayDir(plan.file);
    if (plan.action === 'create') io.stdout(`${shown}: created (${plan.added.join(', ')})\n`);
    else if (plan.action === 'append') io.stdout(`${shown}: appended ${plan.added.join(', ')}\n`);
    for (const warning of plan.warnings) io.stderr(`warning: ${warning}\n`);
  }
}

/** A generator error as a diagnostic (code, file:line:col, code frame, hint) when it has a location. */
export function renderGenerateError(err: GenerateError, color = false): string {
  if (!err.loc) return `error ${err.code} ${err.message}${err.hint ? `\n  hint: ${err.hint}` : ''}\n`;
  return formatDiagnostics([generateErrorDiagnostic(err)], readSource, { color });
}

function displayDir(p: string): string {
  const rel = path.relative(process.cwd(), path.resolve(p)) || '.';
  return rel.split(path.sep).join('/');
}
