/**
 * The code generator's pipeline: IR → names → one emitter per output file → a file map.
 *
 * Pure apart from reading nothing but its input: the same IR and options always give the same
 * file map, byte for byte. Writing the map (and deciding what is stale or orphaned) is
 * generator/writer.ts's job; stubs are generator/stubs'.
 */
import path from 'node:path';
import type { TopologyIR } from '@eventform/runtime';
import { emitIndex } from './emit/entry.js';
import { emitHandlers } from './emit/handlers.js';
import { emitProducers } from './emit/producers.js';
import { emitProvisioning } from './emit/provisioning.js';
import { emitTopology } from './emit/topology.js';
import { emitTypes } from './emit/types.js';
import { emitValidators } from './emit/validators.js';
import type { EmitContext, GeneratedFile } from './emit/context.js';
import type { CompileCache } from './compile-cache.js';
import { assignNames, type Names } from './naming.js';
import { GENERATOR_VERSION } from './version.js';

export { GenerateError, GENERATE_CODES } from './naming.js';

/** Generated files by path relative to the output directory (POSIX separators), sorted by path. */
export type FileMap = ReadonlyMap<string, string>;

/** Name of the marker file that makes an output directory eventform's to wipe. */
export const MARKER_FILE = '.eventform';

export { GENERATOR_VERSION };

/** Options of {@link generate}; defaults are applied here and nowhere else. */
export interface GenerateOptions {
  /**
   * Module specifier generated code imports the runtime from.
   * @default '@eventform/runtime'
   */
  runtimeImport?: string | undefined;
  /**
   * Directory that absolute source paths in the IR are made relative to, so the output does not
   * depend on where the checkout lives.
   * @default process.cwd()
   */
  cwd?: string | undefined;
  /**
   * Keeps the results of the emitters' costly library calls (ajv's standalone code,
   * json-schema-to-typescript) for the next call with the same cache, and drops those this call
   * did not use. For a long-lived process (`generate --watch`); the output is the same either way.
   * @default none: everything is computed
   */
  cache?: CompileCache | undefined;
}

export const GENERATE_DEFAULTS = {
  runtimeImport: '@eventform/runtime',
} as const;

export interface GenerateResult {
  files: FileMap;
  names: Names;
  /** The IR as emitted (source paths made relative). */
  ir: TopologyIR;
}

/**
 * Generate every output file for `input`.
 * @throws GenerateError when a topology name cannot become a safe identifier or a schema cannot be compiled.
 */
export async function generate(input: TopologyIR, options: GenerateOptions = {}): Promise<GenerateResult> {
  try {
    return await generateFiles(input, options);
  } finally {
    // Every run ends the cache's run, a failed one too: it keeps only what the last run used.
    options.cache?.sweep();
  }
}

async function generateFiles(input: TopologyIR, options: GenerateOptions): Promise<GenerateResult> {
  const cwd = options.cwd ?? process.cwd();
  const ir = relativizePaths(input, cwd);
  const names = assignNames(ir);
  const ctx: EmitContext = {
    ir,
    names,
    runtimeImport: options.runtimeImport ?? GENERATE_DEFAULTS.runtimeImport,
    source: ir.sourceFile,
    generatorVersion: GENERATOR_VERSION,
    cache: options.cache,
  };

  const outputs: GeneratedFile[] = [
    await emitTypes(ctx),
    ...(await emitValidators(ctx)),
    emitTopology(ctx, ir),
    emitProducers(ctx),
    emitHandlers(ctx),
    emitIndex(ctx),
    ...(await emitProvisioning(ctx)),
    marker(ctx),
  ];

  const files = new Map<string, string>();
  for (const file of [...outputs].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    if (files.has(file.path)) throw new Error(`two emitters produced ${file.path}`);
    files.set(file.path, file.contents.replace(/\r\n?/g, '\n'));
  }
  return { files, names, ir };
}

function marker(ctx: EmitContext): GeneratedFile {
  const data = {
    generator: 'eventform',
    version: ctx.generatorVersion,
    sourceFile: ctx.source,
    sourceHash: ctx.ir.sourceHash,
    note: 'This directory is owned by `eventform generate`: files it did not generate are deleted on the next run.',
  };
  return { path: MARKER_FILE, contents: JSON.stringify(data, null, 2) + '\n' };
}

/** Source paths as written (relative, POSIX); absolute ones made relative to `cwd`. */
function relativizePaths(ir: TopologyIR, cwd: string): TopologyIR {
  const rel = (file: string): string => {
    const relative = path.isAbsolute(file) ? path.relative(cwd, file) : file;
    return relative.split(path.sep).join('/');
  };
  const loc = <T extends { loc: { file: string } }>(node: T): T => ({
    ...node,
    loc: { ...node.loc, file: rel(node.loc.file) },
  });
  return {
    ...ir,
    sourceFile: rel(ir.sourceFile),
    schemas: ir.schemas.map((s) => {
      const origin = s.origin === 'inline' ? s.origin : rel(s.origin);
      return { ...loc(s), origin };
    }),
    events: ir.events.map(loc),
    services: ir.services.map(loc),
    consumers: ir.consumers.map(loc),
  };
}
