/**
 * `eventform check`: the contract checks a team runs in CI. Runs every step and returns a result
 * object; printing is format.ts's job, exit codes the CLI's.
 *
 * Steps, in order:
 * 1. validate       — the loader's errors and warnings;
 * 2. drift          — committed generated code matches the topology (skipped when there is none);
 * 3. examples       — every `examples` entry validates against its payload (EF5002);
 * 4. graph          — consumed-but-never-produced and produced-but-never-consumed events;
 * 5. compatibility  — with --against: each event's payload under its compatibility mode;
 * 6. topology-changes — with --against: removed/renamed events, keys, partitions, versions and
 *                      broker resources that would be orphaned.
 *
 * A step fails on any error finding; warnings and `unknown` compatibility findings make it `warn`,
 * and fail it under `--strict`. The check is ok when no step fails.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Compatibility, SourceLocation, TopologyIR } from '@eventform/runtime';
import { loadTopology, type Diagnostic } from '../spec/index.js';
import { CheckUsageError, loadAgainst, type OldTopology } from './against.js';
import { checkDrift, type DriftedFile } from './drift.js';
import { checkGraph } from './graph.js';
import { createLocator, NO_LOCATOR, type Locator } from './locate.js';
import { comparePayloads, type Direction } from './schema-compat.js';
import { compareTopologies } from './topology-compat.js';

export { CheckUsageError } from './against.js';

export type StepName = 'validate' | 'drift' | 'examples' | 'graph' | 'compatibility' | 'topology-changes';
export type StepStatus = 'pass' | 'fail' | 'warn' | 'skip';
/** `unknown`: a compatibility the checker could not prove; counts as a warning (fails with --strict). */
export type FindingSeverity = 'error' | 'warning' | 'unknown';

export interface CheckFinding {
  /** `EFC101`, or a loader code such as `EF2001`. */
  rule: string;
  /** The rule's name (`required-added`); absent for loader codes. */
  name?: string | undefined;
  severity: FindingSeverity;
  message: string;
  hint?: string | undefined;
  event?: string | undefined;
  consumer?: string | undefined;
  /** JSON pointer into the event's payload (compatibility findings). */
  pointer?: string | undefined;
  /** The direction a compatibility finding breaks. */
  direction?: Direction | undefined;
  /** The event's compatibility mode (compatibility findings). */
  mode?: Compatibility | undefined;
  /** The shared schema the change sits in. */
  sharedSchema?: string | undefined;
  /** Location in the NEW topology (or the generated file), relative to the working directory. */
  file?: string | undefined;
  line?: number | undefined;
  col?: number | undefined;
  /** Drift: every generated file that differs, in one finding. */
  files?: DriftedFile[] | undefined;
}

export interface StepResult {
  name: StepName;
  status: StepStatus;
  /** One line: what was checked and the outcome, or why the step was skipped. */
  summary: string;
  findings: CheckFinding[];
}

export interface CheckResult {
  ok: boolean;
  strict: boolean;
  /** The topology path as given. */
  topology: string;
  /** How --against was understood, or null. */
  against: string | null;
  steps: StepResult[];
  counts: { errors: number; warnings: number; unknown: number };
}

export interface CheckOptions {
  /** Path of the topology, relative to `cwd` or absolute. */
  topologyFile: string;
  /** A git ref or a file path. */
  against?: string | undefined;
  /** Fail on warnings and unknown compatibility. @default false */
  strict?: boolean | undefined;
  /** Generated code directory to check for drift. */
  out?: string | undefined;
  /** @default process.cwd() */
  cwd?: string | undefined;
}

/** Loader codes reported by their own steps instead of `validate`. */
const EXAMPLE_CODES = new Set(['EF5002']);
const GRAPH_CODES = new Set(['EF9002', 'EF9003']);

/**
 * Runs every step.
 * @throws CheckUsageError for command-line mistakes: a missing topology, a bad --against.
 */
export async function runCheck(options: CheckOptions): Promise<CheckResult> {
  const cwd = options.cwd ?? process.cwd();
  const strict = options.strict ?? false;
  const file = options.topologyFile;
  const abs = path.resolve(cwd, file);
  if (!isFile(abs)) {
    throw new CheckUsageError(
      fs.existsSync(abs)
        ? `'${file}' is not a file`
        : `topology '${file}' does not exist (pass its path: eventform check path/to/topology.yaml)`,
    );
  }
  // Resolve --against before doing any work, so a typo is a usage error, not a failed check.
  const old = options.against !== undefined ? loadAgainst(options.against, file, cwd) : undefined;

  const loadPath = path.isAbsolute(file) || cwd === process.cwd() ? file : abs;
  const loaded = loadTopology(loadPath);
  const text = readText(abs);
  const locator = text === undefined ? NO_LOCATOR : createLocator(text);
  const shown = (f: string): string => displayPath(f, cwd);
  const ir = loaded.ir;

  const steps: StepResult[] = [];
  const diagFinding = (d: Diagnostic): CheckFinding => {
    const f: CheckFinding = {
      rule: d.code,
      severity: d.severity,
      message: d.message,
      file: shown(d.file),
      line: d.line,
      col: d.col,
    };
    if (d.hint !== undefined) f.hint = d.hint;
    return f;
  };

  // 1. validate
  const validation = loaded.diagnostics.filter((d) => !EXAMPLE_CODES.has(d.code) && !GRAPH_CODES.has(d.code));
  const vErrors = validation.filter((d) => d.severity === 'error').length;
  steps.push(
    step(
      'validate',
      validation.map(diagFinding),
      strict,
      ir
        ? `topology '${ir.name}': ${plural(ir.events.length, 'event')}, ${plural(ir.services.length, 'service')}, ${plural(ir.consumers.length, 'consumer')}${countSuffix(validation)}`
        : vErrors > 0
          ? `${file} is invalid: ${plural(vErrors, 'error')}${validation.length > vErrors ? `, ${plural(validation.length - vErrors, 'warning')}` : ''}`
          : `no validation errors${countSuffix(validation)}, but the topology does not load because of the errors reported below`,
    ),
  );

  // 2. drift
  if (!ir) {
    steps.push(skip('drift', 'the topology does not load'));
  } else {
    const d = await checkDrift({
      ir,
      topologyFile: file,
      cwd,
      ...(options.out !== undefined ? { out: options.out } : {}),
    });
    const findings: CheckFinding[] = d.findings.map((x) => {
      const f: CheckFinding = { rule: x.rule, name: x.name, severity: x.severity, message: x.message };
      if (x.file !== undefined) f.file = x.file;
      if (x.line !== undefined) f.line = x.line;
      if (x.files !== undefined) f.files = x.files;
      return f;
    });
    steps.push(d.status === 'skip' ? skip('drift', d.summary) : step('drift', findings, strict, d.summary));
  }

  // 3. examples
  const exampleDiags = loaded.diagnostics.filter((d) => EXAMPLE_CODES.has(d.code));
  if (exampleDiags.length > 0) {
    // One example can fail several ways; count examples, not messages.
    const bad = new Set(exampleDiags.map((d) => `${d.file}:${d.line}:${d.col}`)).size;
    const summary = `${plural(bad, 'example')} ${bad === 1 ? 'does' : 'do'} not match ${bad === 1 ? 'its' : 'their'} payload`;
    steps.push(step('examples', exampleDiags.map(diagFinding), strict, summary));
  } else if (!ir) {
    steps.push(skip('examples', 'the topology does not load, so its examples were not all checked'));
  } else {
    const n = ir.events.reduce((sum, e) => sum + e.examples.length, 0);
    const events = ir.events.filter((e) => e.examples.length > 0).length;
    steps.push(
      n === 0
        ? skip('examples', 'no event has examples')
        : step(
            'examples',
            [],
            strict,
            `${plural(n, 'example')} across ${plural(events, 'event')} ${n === 1 ? 'matches its payload' : 'match their payloads'}`,
          ),
    );
  }

  // 4. graph
  if (!ir) {
    steps.push(skip('graph', 'the topology does not load'));
  } else {
    const findings = checkGraph(ir).map((g) => ({
      rule: g.rule,
      name: g.name,
      severity: g.severity,
      message: g.message,
      event: g.event,
      ...at(g.loc, shown),
    }));
    steps.push(
      step(
        'graph',
        findings,
        strict,
        findings.length === 0
          ? `every event is produced and consumed`
          : `${plural(findings.length, 'event')} not produced or not consumed${strict ? '' : ' (fails with --strict)'}`,
      ),
    );
  }

  // 5 and 6. against
  if (!old) {
    steps.push(skip('compatibility', 'no --against given'));
    steps.push(skip('topology-changes', 'no --against given'));
  } else if (!ir) {
    steps.push(skip('compatibility', 'the topology does not load'));
    steps.push(skip('topology-changes', 'the topology does not load'));
  } else {
    steps.push(...compareWithOld(old, ir, locator, strict, shown, file));
  }

  const all = steps.flatMap((s) => s.findings);
  return {
    ok: steps.every((s) => s.status !== 'fail'),
    strict,
    topology: file,
    against: old?.label ?? null,
    steps,
    counts: {
      errors: all.filter((f) => f.severity === 'error').length,
      warnings: all.filter((f) => f.severity === 'warning').length,
      unknown: all.filter((f) => f.severity === 'unknown').length,
    },
  };
}

function compareWithOld(
  old: OldTopology,
  ir: TopologyIR,
  locator: Locator,
  strict: boolean,
  shown: (f: string) => string,
  file: string,
): StepResult[] {
  if (!old.result) {
    const why = `EFC002 ${old.missingReason ?? `${old.source} does not exist`}: a new topology, nothing to compare`;
    return [skip('compatibility', why), skip('topology-changes', why)];
  }
  const oldIr = old.result.ir;
  if (!oldIr) {
    const errors = old.result.diagnostics.filter((d) => d.severity === 'error');
    const first = errors[0];
    const finding: CheckFinding = {
      rule: 'EFC001',
      name: 'old-topology-invalid',
      severity: 'warning',
      message: `the topology at ${old.label} does not load (${plural(errors.length, 'error')}${first ? `; first: ${first.file}:${first.line}:${first.col} ${first.code} ${first.message}` : ''}), so it cannot be compared`,
      file: shown(file),
    };
    return [
      step('compatibility', [finding], strict, `cannot compare with ${old.label}`),
      skip('topology-changes', `the topology at ${old.label} does not load`),
    ];
  }

  const eventLoc = new Map(ir.events.map((e) => [e.name, e.loc] as const));
  const compat: CheckFinding[] = [];
  const results = comparePayloads(oldIr, ir);
  for (const r of results) {
    for (const v of r.violations) {
      const f: CheckFinding = {
        rule: v.rule,
        name: v.name,
        severity: v.severity === 'break' ? 'error' : 'unknown',
        message: v.message,
        event: r.event,
        pointer: v.pointer,
        direction: v.direction,
        mode: r.mode,
      };
      if (v.sharedSchema !== undefined) f.sharedSchema = v.sharedSchema;
      const p = locator.payload(r.event, v.pointer);
      const loc = eventLoc.get(r.event);
      Object.assign(f, p && loc ? { file: shown(loc.file), line: p.line, col: p.col } : at(loc, shown));
      compat.push(f);
    }
  }
  const checked = results.filter((r) => r.mode !== 'none');
  const breaking = new Set(compat.map((f) => f.event)).size;
  const compatSummary =
    results.length === 0
      ? `no event exists in both ${old.label} and the working copy`
      : `${plural(checked.length, 'event')} checked against ${old.label}${results.length > checked.length ? ` (${results.length - checked.length} with compatibility: none)` : ''}` +
        (breaking > 0 ? `; ${plural(breaking, 'event')} with incompatible changes` : '; all compatible');

  const topo: CheckFinding[] = compareTopologies(oldIr, ir).map((t) => {
    const f: CheckFinding = { rule: t.rule, name: t.name, severity: t.severity, message: t.message };
    if (t.event !== undefined) f.event = t.event;
    if (t.consumer !== undefined) f.consumer = t.consumer;
    if (t.loc) Object.assign(f, at(t.loc, shown));
    else {
      // Removed things: their old location means nothing in the new file; point at the section.
      const p = locator.section(t.anchor ?? 'topology') ?? locator.section('topology');
      Object.assign(f, { file: shown(file), ...(p ? { line: p.line, col: p.col } : {}) });
    }
    return f;
  });
  const topoSummary =
    topo.length === 0
      ? `no breaking or destructive changes since ${old.label}`
      : `${plural(topo.length, 'change')} since ${old.label}`;
  return [step('compatibility', compat, strict, compatSummary), step('topology-changes', topo, strict, topoSummary)];
}

function step(name: StepName, findings: CheckFinding[], strict: boolean, summary: string): StepResult {
  const errors = findings.some((f) => f.severity === 'error');
  const soft = findings.some((f) => f.severity !== 'error');
  const status: StepStatus = errors || (strict && soft) ? 'fail' : soft ? 'warn' : 'pass';
  return { name, status, summary, findings };
}

function skip(name: StepName, summary: string): StepResult {
  return { name, status: 'skip', summary, findings: [] };
}

function at(
  loc: SourceLocation | undefined,
  shown: (f: string) => string,
): Pick<CheckFinding, 'file' | 'line' | 'col'> {
  return loc ? { file: shown(loc.file), line: loc.line, col: loc.col } : {};
}

function countSuffix(diags: Diagnostic[]): string {
  const w = diags.filter((d) => d.severity === 'warning').length;
  return w > 0 ? ` (${plural(w, 'warning')})` : '';
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function displayPath(f: string, cwd: string): string {
  if (!path.isAbsolute(f)) return f.split(path.sep).join('/');
  const rel = path.relative(cwd, f);
  return (rel.startsWith('..') ? f : rel).split(path.sep).join('/');
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

function readText(p: string): string | undefined {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch {
    return undefined;
  }
}
