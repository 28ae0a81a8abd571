/**
 * `eventform generate [topology.yaml] [--out generated/] [--stubs <dir>] [--check]`
 *
 * Writes the typed code for a topology into a directory eventform owns (see generator/writer.ts)
 * and, with `--stubs`, creates or extends user-owned handler stubs.
 *
 * Exit codes: 0 done / in sync; 1 `--check` found stale, missing or orphaned files; 2 usage
 * error, invalid topology, a topology the generator cannot name, or a foreign output directory.
 */
import path from 'node:path';
import type { Command } from 'commander';
import type { TopologyIR } from '@eventform/runtime';
import { generate, GENERATE_DEFAULTS, GenerateError } from '../generate.js';
import { formatDiagnostics, loadTopology, type Diagnostic } from '../spec/index.js';
import { diffOutput, inSync, readUserFile, writeOutput, writeUserFile } from '../writer.js';
import { DEFAULT_TOPOLOGY, processIo, readSource, useColor, type CliIo } from './shared.js';

export const GENERATE_EXIT = { ok: 0, stale: 1, usage: 2 } as const;

export interface GenerateCliOptions {
  /** @default 'generated' */
  out?: string;
  stubs?: string;
  check?: boolean;
  /** @default '@eventform/runtime' */
  runtimeImport?: string;
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
      '--runtime-import <specifier>',
      'module generated code imports the runtime from',
      GENERATE_DEFAULTS.runtimeImport,
    )
    .action(async (file: string, options: GenerateCliOptions) => {
      process.exitCode = await runGenerate(file, options);
    });
}

/** The command's body, callable from tests; returns the exit code instead of exiting. */
export async function runGenerate(
  file: string = DEFAULT_TOPOLOGY,
  options: GenerateCliOptions = {},
  io: CliIo = processIo,
): Promise<number> {
  const outDir = options.out ?? 'generated';
  const color = useColor(process.stderr);

  const { ir, diagnostics } = loadTopology(file);
  if (diagnostics.length > 0) io.stderr(formatDiagnostics(diagnostics, readSource, { color }));
  if (!ir) {
    io.stderr(`${file}: nothing generated, the topology has errors (see above)\n`);
    return GENERATE_EXIT.usage;
  }

  try {
    const result = await generate(ir, { runtimeImport: options.runtimeImport ?? GENERATE_DEFAULTS.runtimeImport });
    const shown = displayDir(outDir);

    if (options.check) {
      const diff = diffOutput(outDir, result.files);
      if (inSync(diff)) {
        io.stdout(`${shown} is up to date with ${file} (${result.files.size} files)\n`);
        return GENERATE_EXIT.ok;
      }
      const lines = [`${shown} is out of date with ${file}:`];
      for (const f of diff.stale) lines.push(`  stale     ${f}`);
      for (const f of diff.missing) lines.push(`  missing   ${f}`);
      for (const f of diff.orphaned) lines.push(`  orphaned  ${f}`);
      lines.push(`run \`eventform generate ${file} --out ${outDir}\` and commit the result`);
      io.stderr(lines.join('\n') + '\n');
      return GENERATE_EXIT.stale;
    }

    const written = writeOutput(outDir, result.files);
    io.stdout(
      `${shown}: ${result.files.size} files from ${file} (${written.written.length} written, ` +
        `${written.unchanged.length} unchanged, ${written.orphaned.length} deleted)\n`,
    );

    if (options.stubs) await writeStubs(result.ir, result.names, options.stubs, outDir, io);
    return GENERATE_EXIT.ok;
  } catch (err) {
    if (err instanceof GenerateError) {
      io.stderr(renderGenerateError(err, color));
      return GENERATE_EXIT.usage;
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
  const message = err.message.startsWith(`${err.loc.file}:`) ? err.message.replace(/^[^ ]+: /, '') : err.message;
  const diagnostic: Diagnostic = {
    code: err.code,
    severity: 'error',
    message,
    file: err.loc.file,
    line: err.loc.line,
    col: err.loc.col,
  };
  if (err.hint) diagnostic.hint = err.hint;
  return formatDiagnostics([diagnostic], readSource, { color });
}

function displayDir(p: string): string {
  const rel = path.relative(process.cwd(), path.resolve(p)) || '.';
  return rel.split(path.sep).join('/');
}
