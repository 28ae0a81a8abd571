/**
 * Drift: does the committed generated code match what the topology generates now?
 *
 * Which directory: `--out` when given; otherwise `generated/` (next to the working directory, or
 * next to the topology) when its `.eventform` marker names this topology as its source. With no
 * such directory the step is skipped with a note, not failed: not every repository commits
 * generated code. The comparison regenerates in memory (generator/generate.ts) and diffs with the
 * writer's own `diffOutput`, so "in sync" means exactly what `eventform generate` would write.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { TopologyIR } from '@eventform/runtime';
import { RULES, type RuleId } from './rules.js';

/** One file of the output that is not what the topology generates. */
export interface DriftedFile {
  /** Relative to the working directory. */
  file: string;
  state: 'stale' | 'missing' | 'extra';
  /** For a stale file: its first line that differs. */
  line?: number | undefined;
}

export interface DriftFinding {
  rule: RuleId;
  name: string;
  severity: 'error';
  message: string;
  /** The generated file or directory, relative to the working directory. */
  file?: string | undefined;
  line?: number | undefined;
  /** Every file that differs: drift is ONE finding, so the findings of other steps stay in view. */
  files?: DriftedFile[] | undefined;
}

export interface DriftOutcome {
  status: 'pass' | 'fail' | 'skip';
  summary: string;
  findings: DriftFinding[];
  /** The directory compared, relative to the working directory. */
  dir?: string | undefined;
}

export interface DriftOptions {
  ir: TopologyIR;
  /** The topology path as given. */
  topologyFile: string;
  out?: string | undefined;
  cwd: string;
}

interface Marker {
  generator?: unknown;
  sourceFile?: unknown;
  runtimeImport?: unknown;
}

export async function checkDrift(opts: DriftOptions): Promise<DriftOutcome> {
  const { cwd } = opts;
  const topoAbs = path.resolve(cwd, opts.topologyFile);
  const rel = (p: string): string => toPosix(path.relative(cwd, p)) || '.';

  let dir: string;
  let marker: Marker | undefined;
  if (opts.out !== undefined) {
    dir = path.resolve(cwd, opts.out);
    marker = readMarker(dir);
  } else {
    const candidates = [...new Set([path.resolve(cwd, 'generated'), path.join(path.dirname(topoAbs), 'generated')])];
    const found = candidates.map((d) => ({ d, m: readMarker(d) })).find((x) => x.m !== undefined);
    if (!found) {
      return {
        status: 'skip',
        summary: `no generated output for ${opts.topologyFile} (no generated/.eventform marker); pass --out <dir> to check a directory`,
        findings: [],
      };
    }
    dir = found.d;
    marker = found.m;
    const source = typeof marker?.sourceFile === 'string' ? marker.sourceFile : undefined;
    if (source === undefined || !sameFile(source, topoAbs, [cwd, path.dirname(dir)])) {
      return {
        status: 'skip',
        summary: `${rel(dir)}/ was generated from ${source ?? 'an unknown source'}, not ${opts.topologyFile}; pass --out <dir> to check it anyway`,
        findings: [],
        dir: rel(dir),
      };
    }
  }

  if (!fs.existsSync(dir)) {
    return {
      status: 'fail',
      summary: `${rel(dir)}/ does not exist; run \`eventform generate --out ${rel(dir)}\``,
      findings: [finding('EFC402', `${rel(dir)}/ does not exist: nothing has been generated there`, rel(dir))],
      dir: rel(dir),
    };
  }

  // Lazy: the emitters pull in the TypeScript printer and the schema compiler.
  const { generate } = await import('../generate.js');
  const { diffOutput } = await import('../writer.js');
  let files: ReadonlyMap<string, string>;
  let diff: { missing: string[]; stale: string[]; orphaned: string[]; unchanged: string[] };
  try {
    const ir = spellSourceAs(opts.ir, typeof marker?.sourceFile === 'string' ? marker.sourceFile : undefined, cwd);
    // The marker may record a non-default runtime import; generating with another would be "drift".
    const runtimeImport = typeof marker?.runtimeImport === 'string' ? marker.runtimeImport : undefined;
    files = (await generate(ir, { cwd, ...(runtimeImport !== undefined ? { runtimeImport } : {}) })).files;
    diff = diffOutput(dir, files);
  } catch (err) {
    const e = err as Error & { code?: string; hint?: string };
    const message = `cannot check drift: ${e.code ? `${e.code} ` : ''}${e.message}${e.hint ? ` (${e.hint})` : ''}`;
    return { status: 'fail', summary: message, findings: [finding('EFC404', message, rel(dir))], dir: rel(dir) };
  }

  const drifted: DriftedFile[] = [
    ...diff.stale.map((f): DriftedFile => {
      const onDisk = fs.readFileSync(path.join(dir, f), 'utf8');
      return { file: rel(path.join(dir, f)), state: 'stale', line: firstDifferentLine(onDisk, files.get(f) ?? '') };
    }),
    ...diff.missing.map((f): DriftedFile => ({ file: rel(path.join(dir, f)), state: 'missing' })),
    ...diff.orphaned.map((f): DriftedFile => ({ file: rel(path.join(dir, f)), state: 'extra' })),
  ].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  if (drifted.length === 0) {
    return {
      status: 'pass',
      summary: `${rel(dir)}/ is in sync with ${opts.topologyFile} (${files.size} files)`,
      findings: [],
      dir: rel(dir),
    };
  }
  const regenerate = `eventform generate${opts.out === undefined ? '' : ` --out ${opts.out}`}`;
  // The rule of the most telling difference: stale, else missing, else extra files.
  const rule: RuleId = diff.stale.length > 0 ? 'EFC401' : diff.missing.length > 0 ? 'EFC402' : 'EFC403';
  const drift = finding(
    rule,
    `${drifted.length} of ${files.size} generated files differ; run \`${regenerate}\``,
    rel(dir),
  );
  drift.files = drifted;
  return {
    status: 'fail',
    summary: `${rel(dir)}/ is out of date: ${drifted.length} of ${files.size} files differ; run \`${regenerate}\` and commit the result`,
    findings: [drift],
    dir: rel(dir),
  };
}

function finding(rule: RuleId, message: string, file?: string, line?: number): DriftFinding {
  const f: DriftFinding = { rule, name: RULES[rule].name, severity: 'error', message };
  if (file !== undefined) f.file = file;
  if (line !== undefined) f.line = line;
  return f;
}

function readMarker(dir: string): Marker | undefined {
  try {
    const m = JSON.parse(fs.readFileSync(path.join(dir, '.eventform'), 'utf8')) as unknown;
    return typeof m === 'object' && m !== null ? (m as Marker) : {};
  } catch {
    return undefined;
  }
}

function sameFile(source: string, abs: string, bases: string[]): boolean {
  const real = (p: string): string => {
    try {
      return fs.realpathSync(p);
    } catch {
      return p;
    }
  };
  const target = real(abs);
  return bases.some((b) => real(path.resolve(b, source)) === target);
}

/**
 * The generator embeds the topology path as it was given; `./topology.yaml` and `topology.yaml`
 * are the same file. Spell it the way the marker does, so only real differences count as drift.
 */
function spellSourceAs(ir: TopologyIR, spelling: string | undefined, cwd: string): TopologyIR {
  if (spelling === undefined || ir.sourceFile === spelling) return ir;
  const from = path.resolve(cwd, ir.sourceFile);
  if (path.resolve(cwd, spelling) !== from) return ir;
  const fix = <T extends { loc: { file: string } }>(n: T): T =>
    path.resolve(cwd, n.loc.file) === from ? { ...n, loc: { ...n.loc, file: spelling } } : n;
  return {
    ...ir,
    sourceFile: spelling,
    schemas: ir.schemas.map(fix),
    events: ir.events.map(fix),
    services: ir.services.map(fix),
    consumers: ir.consumers.map(fix),
  };
}

function firstDifferentLine(a: string, b: string): number {
  const x = a.split('\n');
  const y = b.split('\n');
  for (let i = 0; i < Math.max(x.length, y.length); i++) if (x[i] !== y[i]) return i + 1;
  return 1;
}

function toPosix(p: string): string {
  return p.split(path.sep).join('/');
}
