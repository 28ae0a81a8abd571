/**
 * Renders a {@link CheckResult}: human text grouped by step, stable JSON, or GitHub Actions
 * workflow-command annotations. Pure: returns strings.
 */
import path from 'node:path';
import { formatDiagnostics, type Diagnostic } from '../spec/index.js';
import type { CheckFinding, CheckResult, StepResult, StepStatus } from './run-check.js';

export type CheckFormat = 'text' | 'json' | 'github';
export const CHECK_FORMATS: readonly CheckFormat[] = ['text', 'json', 'github'];

export interface CheckFormatOptions {
  /** ANSI colours in text output. @default false */
  color?: boolean | undefined;
  /** Directory finding paths are relative to. @default process.cwd() */
  cwd?: string | undefined;
  /** GitHub wants paths relative to the repository root. @default cwd */
  root?: string | undefined;
  /** Source text for code frames under loader diagnostics (text format). */
  readSource?: (file: string) => string | undefined;
}

export function formatCheck(result: CheckResult, format: CheckFormat, opts: CheckFormatOptions = {}): string {
  if (format === 'json') return formatJson(result);
  if (format === 'github') return formatGithub(result, opts);
  return formatText(result, opts);
}

/** The JSON shape is part of the CLI contract: `{ ok, strict, topology, against, steps, counts }`. */
export function formatJson(result: CheckResult): string {
  return JSON.stringify(result, null, 2) + '\n';
}

const ANSI = { red: 31, green: 32, yellow: 33, cyan: 36, dim: 2, bold: 1 } as const;

const MARK: Record<StepStatus, { sym: string; color: keyof typeof ANSI }> = {
  pass: { sym: '✓', color: 'green' },
  fail: { sym: '✗', color: 'red' },
  warn: { sym: '!', color: 'yellow' },
  skip: { sym: '-', color: 'dim' },
};

export function formatText(result: CheckResult, opts: CheckFormatOptions = {}): string {
  const paint = (c: keyof typeof ANSI, s: string): string => (opts.color ? `\u001b[${ANSI[c]}m${s}\u001b[0m` : s);
  const width = Math.max(...result.steps.map((s) => s.name.length));
  const out: string[] = [];
  out.push(
    paint(
      'bold',
      `eventform check ${result.topology}${result.against ? ` --against ${result.against}` : ''}${result.strict ? ' --strict' : ''}`,
    ),
  );
  out.push('');
  for (const s of result.steps) {
    const m = MARK[s.status];
    const summary = s.status === 'skip' ? paint('dim', `skipped: ${s.summary}`) : s.summary;
    out.push(`${paint(m.color, m.sym)} ${s.name.padEnd(width)}  ${summary}`);
    const body = stepBody(s, opts, paint);
    if (body) out.push(body);
  }
  out.push('');
  const { errors, warnings, unknown } = result.counts;
  const failed = result.steps.filter((s) => s.status === 'fail').length;
  const counts = `${plural(errors, 'error')}, ${plural(warnings, 'warning')}, ${unknown} unknown`;
  out.push(
    result.ok
      ? paint('green', `✓ check passed: ${counts}`)
      : paint('red', `✗ check failed: ${counts} (${failed} of ${result.steps.length} steps failed)`),
  );
  return out.join('\n') + '\n';
}

function stepBody(s: StepResult, opts: CheckFormatOptions, paint: (c: keyof typeof ANSI, s: string) => string): string {
  if (s.findings.length === 0) return '';
  const loader = s.findings.filter((f) => !f.rule.startsWith('EFC'));
  const own = s.findings.filter((f) => f.rule.startsWith('EFC'));
  const blocks: string[] = [];
  if (loader.length > 0 && opts.readSource) {
    // Loader diagnostics keep their compiler-style frames (without the count line).
    const text = formatDiagnostics(loader.map(toDiagnostic), opts.readSource, { color: opts.color ?? false });
    const parts = text.trimEnd().split('\n\n');
    parts.pop();
    blocks.push(indent(parts.join('\n\n'), 4));
  } else {
    own.unshift(...loader);
  }
  for (const f of own) {
    const sev =
      f.severity === 'error'
        ? paint('red', 'error')
        : f.severity === 'warning'
          ? paint('yellow', 'warning')
          : paint('yellow', 'unknown');
    const subject = [f.event ?? f.consumer, f.pointer].filter((x) => x !== undefined && x !== '').join(' ');
    const dir = f.direction ? paint('dim', ` (breaks ${f.direction}; mode ${f.mode})`) : '';
    const where = location(f);
    const rule = `${sev} ${f.rule}${f.name ? ` ${f.name}` : ''}`;
    const lines: string[] = [];
    if (subject) {
      lines.push(`${rule}  ${paint('bold', subject)}${dir}`, `  ${f.message}`);
      if (where) lines.push(paint('dim', `  at ${where}${f.sharedSchema ? ` (shared schema ${f.sharedSchema})` : ''}`));
    } else {
      // Findings about a file (drift) or the whole topology read best on one line.
      lines.push(`${rule}  ${where ? `${paint('bold', where)}  ` : ''}${f.message}`);
    }
    for (const d of f.files ?? [])
      lines.push(`  ${d.line !== undefined ? `${d.file}:${d.line}` : d.file}  ${driftState(d.state)}`);
    if (f.hint) lines.push(`  ${paint('cyan', 'hint:')} ${f.hint}`);
    blocks.push(indent(lines.join('\n'), 4));
  }
  return blocks.join('\n');
}

function driftState(state: 'stale' | 'missing' | 'extra'): string {
  return state === 'extra' ? 'not generated any more (generate deletes it)' : state;
}

function toDiagnostic(f: CheckFinding): Diagnostic {
  const d: Diagnostic = {
    code: f.rule,
    severity: f.severity === 'error' ? 'error' : 'warning',
    message: f.message,
    file: f.file ?? '',
    line: f.line ?? 1,
    col: f.col ?? 1,
  };
  if (f.hint !== undefined) d.hint = f.hint;
  return d;
}

function location(f: CheckFinding): string | undefined {
  if (!f.file) return undefined;
  return `${f.file}${f.line !== undefined ? `:${f.line}${f.col !== undefined ? `:${f.col}` : ''}` : ''}`;
}

/**
 * `::error file=topology.yaml,line=L,col=C,title=EFC101::message` per finding, then a notice per
 * skipped step and a plain summary. Warnings and unknowns are `::warning`, or `::error` under
 * --strict (where they fail the check).
 */
export function formatGithub(result: CheckResult, opts: CheckFormatOptions = {}): string {
  const cwd = opts.cwd ?? process.cwd();
  const root = opts.root ?? cwd;
  const out: string[] = [];
  for (const s of result.steps) {
    for (const f of s.findings) {
      const level = f.severity === 'error' || result.strict ? 'error' : 'warning';
      const props: string[] = [];
      if (f.file) props.push(`file=${escapeProperty(toPosix(path.relative(root, path.resolve(cwd, f.file))))}`);
      if (f.file && f.line !== undefined) props.push(`line=${f.line}`);
      if (f.file && f.line !== undefined && f.col !== undefined) props.push(`col=${f.col}`);
      props.push(`title=${escapeProperty(f.rule)}`);
      const subject = [f.event ?? f.consumer, f.pointer].filter((x) => x !== undefined && x !== '').join(' ');
      const files = (f.files ?? []).map(
        (d) => `\n${d.line !== undefined ? `${d.file}:${d.line}` : d.file} ${driftState(d.state)}`,
      );
      const text = `${f.name ? `${f.name}: ` : ''}${subject ? `${subject}: ` : ''}${f.message}${f.hint ? ` (hint: ${f.hint})` : ''}${files.join('')}`;
      out.push(`::${level} ${props.join(',')}::${escapeData(text)}`);
    }
  }
  for (const s of result.steps) {
    if (s.status === 'skip')
      out.push(
        `::notice title=${escapeProperty(`eventform check: ${s.name}`)}::${escapeData(`skipped: ${s.summary}`)}`,
      );
  }
  for (const s of result.steps)
    out.push(`${MARK[s.status].sym} ${s.name}: ${s.status === 'skip' ? `skipped: ${s.summary}` : s.summary}`);
  const { errors, warnings, unknown } = result.counts;
  out.push(
    `${result.ok ? 'check passed' : 'check failed'}: ${plural(errors, 'error')}, ${plural(warnings, 'warning')}, ${unknown} unknown`,
  );
  return out.join('\n') + '\n';
}

/** Workflow-command escaping (the runner decodes these). */
export function escapeData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

export function escapeProperty(s: string): string {
  return escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

function indent(s: string, n: number): string {
  const pad = ' '.repeat(n);
  return s
    .split('\n')
    .map((l) => (l ? pad + l : l))
    .join('\n');
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function toPosix(p: string): string {
  return p.split(path.sep).join('/');
}
