/**
 * Diagnostics: what the loader reports about a topology. Every problem carries a stable code
 * (see `codes.ts`), the exact source position and, where we can guess, a hint.
 */
import { CODES, type DiagnosticCode } from './codes.js';

export interface Diagnostic {
  /** Stable code, e.g. `EF2001`; listed in docs/diagnostics.md. */
  code: string;
  severity: 'error' | 'warning';
  message: string;
  /** The file the problem is in: the topology path as given, or an external schema's path. */
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  col: number;
  endLine?: number | undefined;
  endCol?: number | undefined;
  /** How to fix it, including "did you mean 'x'?". */
  hint?: string | undefined;
}

/** A source range, 1-based, end exclusive. */
export interface Span {
  file: string;
  line: number;
  col: number;
  endLine: number;
  endCol: number;
}

/** Collects diagnostics; severity comes from the code table so a code never changes severity. */
export class DiagnosticSink {
  readonly items: Diagnostic[] = [];
  private errors = 0;
  private dropped = 0;

  /** Problems kept; beyond this only counted, so a generated monster file cannot flood output. */
  static readonly MAX_KEPT = 500;

  /** `hint` may be a function: it is only evaluated when the diagnostic is kept. */
  report(code: DiagnosticCode, at: Span, message: string, hint?: string | (() => string | undefined)): void {
    if (CODES[code].severity === 'error') this.errors++;
    if (this.items.length >= DiagnosticSink.MAX_KEPT) {
      this.dropped++;
      return;
    }
    const d: Diagnostic = {
      code,
      severity: CODES[code].severity,
      message,
      file: at.file,
      line: at.line,
      col: at.col,
    };
    if (at.endLine !== at.line || at.endCol !== at.col) {
      d.endLine = at.endLine;
      d.endCol = at.endCol;
    }
    const h = typeof hint === 'function' ? hint() : hint;
    if (h !== undefined) d.hint = h;
    this.items.push(d);
  }

  /** All errors reported, including those not kept. */
  get errorCount(): number {
    return this.errors;
  }

  /** Sorted by file, line, col, then code and message so output is stable. */
  sorted(): Diagnostic[] {
    const out = [...this.items].sort(compareDiagnostics);
    if (this.dropped > 0 && out[0]) {
      out.push({
        code: 'EF9014',
        severity: 'warning',
        message: `${this.dropped} more problems not shown`,
        file: out[0].file,
        line: 1,
        col: 1,
        hint: 'fix the ones above first',
      });
    }
    return out;
  }
}

export function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  return cmp(a.file, b.file) || a.line - b.line || a.col - b.col || cmp(a.code, b.code) || cmp(a.message, b.message);
}

/** Code-unit comparison: locale-independent, so every machine sorts the same way. */
export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A span covering the start of a file, for problems that have no better position. */
export function fileStart(file: string): Span {
  return { file, line: 1, col: 1, endLine: 1, endCol: 1 };
}
