/**
 * The loader pipeline: read → guard → parse (positions kept) → structure → $refs → JSON Schema and
 * examples → cross-references and policies → IR. Every stage reports into one sink and the next
 * stage runs on whatever survived, so one run shows every problem. The IR is built only when
 * there is no error.
 */
import { withDefaults } from '@eventform/runtime';
import { readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import type { TopologyIR } from '@eventform/runtime';
import { buildIR } from './build-ir.js';
import { DiagnosticSink, fileStart, type Diagnostic } from './diagnostics.js';
import { effectivePolicies, type EffectivePolicies } from './policies.js';
import type { RawConsumer } from './raw-topology.js';
import { readTopology } from './read-topology.js';
import { checkSchemas } from './schema-check.js';
import { SchemaResolver, type ResolvedSchema } from './schema-refs.js';
import { checkSemantics } from './semantics.js';
import { decodeSource, parseYamlTree } from './yaml-tree.js';

export interface LoadOptions {
  /** Use this text instead of reading `file`. */
  text?: string | undefined;
  /**
   * Reads external `$ref` files (absolute path in, text out; throw when missing). Defaults to the
   * file system; `check --against <git ref>` passes a reader over a git tree.
   */
  readFile?: ((absPath: string) => string) | undefined;
  /**
   * The folder external `$ref` files must stay inside, symlinks resolved; a file outside it is
   * refused unread (EF4005). `eventform ... --schema-root <dir>` widens it.
   * @default the topology's own folder
   */
  schemaRoot?: string | undefined;
}

export interface LoadResult {
  /** `null` when there is any error. */
  ir: TopologyIR | null;
  /** Errors and warnings, sorted by file, line, col. */
  diagnostics: Diagnostic[];
  /**
   * Absolute paths of the files this load read or tried to read: the topology, then every
   * external `$ref` file inside the schema root (missing ones included, so `generate --watch`
   * notices when one appears). Files refused for lying outside the root are not listed.
   */
  sources: string[];
}

let processDefaults: Pick<LoadOptions, 'schemaRoot'> = {};

/** Options every later load in this process starts from (the CLI's global `--schema-root`). */
export function setLoadDefaults(defaults: Pick<LoadOptions, 'schemaRoot'>): void {
  processDefaults = { ...defaults };
}

/** Loads, validates and compiles a topology. Synchronous; never throws for bad input. */
export function loadTopology(file: string, options: LoadOptions = {}): LoadResult {
  const sink = new DiagnosticSink();
  const sources = new Set([path.resolve(file)]);
  const ir = load(file, withDefaults<LoadOptions>(processDefaults, options), sink, sources);
  const diagnostics = sink.sorted();
  return { ir: sink.errorCount === 0 ? ir : null, diagnostics, sources: [...sources] };
}

function load(file: string, options: LoadOptions, sink: DiagnosticSink, sources: Set<string>): TopologyIR | null {
  let data: string | Uint8Array;
  if (options.text !== undefined) {
    data = options.text;
  } else {
    try {
      data = readFileSync(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const msg =
        code === 'ENOENT'
          ? `file '${file}' does not exist`
          : code === 'EISDIR'
            ? `'${file}' is a directory`
            : `cannot read '${file}': ${(err as Error).message}`;
      sink.report(
        'EF1001',
        fileStart(file),
        msg,
        code === 'ENOENT' ? 'run from the directory that holds topology.yaml, or pass its path' : undefined,
      );
      return null;
    }
  }
  const text = decodeSource(file, data, sink);
  if (text === undefined) return null;
  const tree = parseYamlTree(file, text, sink);
  if (tree === null) return null;
  const raw = readTopology(file, tree, sink);
  if (raw === null) return null;

  const readFile = options.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  const resolver = new SchemaResolver(file, sink, new Set(raw.schemas.map((s) => s.name)), readFile, {
    root: options.schemaRoot,
    // Symlinks can only be followed on the real file system; another reader (a git tree) has none.
    realpath: options.readFile ? undefined : realpathSync,
    onRead: (abs) => sources.add(abs),
  });
  resolver.addInline(raw.schemas);
  const payloads = new Map<string, ResolvedSchema & { refs: string[] }>();
  for (const e of raw.events) {
    if (!e.payload) continue;
    const r = resolver.resolvePayload(e.payload);
    payloads.set(e.name, { ...r, refs: resolver.closure(r.deps) });
  }

  checkSchemas(raw, resolver, payloads, sink);

  const policies = new Map<RawConsumer, EffectivePolicies>();
  for (const s of raw.services)
    for (const c of s.consumers) policies.set(c, effectivePolicies(raw.defaults, c.policies));

  checkSemantics({ raw, shared: resolver.shared, payloads, policies }, sink);

  if (sink.errorCount > 0 || !raw.name) return null;
  return buildIR({
    raw,
    topologyName: raw.name.value,
    sourceHash: resolver.sourceHash(text),
    shared: resolver.shared,
    payloads,
    policies,
  });
}
