/**
 * Compiler-style rendering of diagnostics:
 *
 * ```
 * topology.yaml:14:7 error EF2001 unknown field 'retries' in handler 'order-service.cancelOrder'
 *    13 |     cancelOrder:
 *  > 14 |       retries: { attempts: 5 }
 *       |       ^^^^^^^
 *   hint: did you mean 'retry'?
 *
 * 1 error, 0 warnings
 * ```
 */
import type { Diagnostic } from './diagnostics.js';

export interface FormatOptions {
  /** ANSI colours. @default false */
  color?: boolean | undefined;
}

const ANSI = { red: 31, yellow: 33, cyan: 36, dim: 2, bold: 1 } as const;

/**
 * @param sources returns a file's text for code frames (undefined: no frame for that file).
 */
export function formatDiagnostics(
  diags: Diagnostic[],
  sources: (file: string) => string | undefined,
  opts: FormatOptions = {},
): string {
  const paint = (c: keyof typeof ANSI, s: string) => (opts.color ? `\u001b[${ANSI[c]}m${s}\u001b[0m` : s);
  const cache = new Map<string, string[] | undefined>();
  const linesOf = (file: string): string[] | undefined => {
    if (!cache.has(file)) {
      let text: string | undefined;
      try {
        text = sources(file);
      } catch {
        text = undefined;
      }
      cache.set(file, text?.split(/\r?\n/));
    }
    return cache.get(file);
  };

  const blocks: string[] = [];
  for (const d of diags) {
    const sev = d.severity === 'error' ? paint('red', 'error') : paint('yellow', 'warning');
    const out = [`${paint('bold', `${d.file}:${d.line}:${d.col}`)} ${sev} ${paint('dim', d.code)} ${d.message}`];
    const frame = codeFrame(linesOf(d.file), d, paint);
    if (frame) out.push(frame);
    if (d.hint) out.push(`  ${paint('cyan', 'hint:')} ${d.hint}`);
    blocks.push(out.join('\n'));
  }
  const errors = diags.filter((d) => d.severity === 'error').length;
  const warnings = diags.length - errors;
  const count = `${errors} ${errors === 1 ? 'error' : 'errors'}, ${warnings} ${warnings === 1 ? 'warning' : 'warnings'}`;
  blocks.push(errors > 0 ? paint('red', count) : warnings > 0 ? paint('yellow', count) : count);
  return blocks.join('\n\n') + '\n';
}

const MAX_FRAME_WIDTH = 160;

function codeFrame(
  lines: string[] | undefined,
  d: Diagnostic,
  paint: (c: keyof typeof ANSI, s: string) => string,
): string | undefined {
  if (!lines || d.line < 1 || d.line > lines.length) return undefined;
  const first = Math.max(1, d.line - 1);
  const width = String(d.line).length;
  const rows: string[] = [];
  for (let n = first; n <= d.line; n++) {
    const text = clip(lines[n - 1] ?? '');
    const gutter = `${n === d.line ? '>' : ' '} ${String(n).padStart(width)} |`;
    rows.push(`${paint('dim', gutter)}${text ? ' ' + text : ''}`);
  }
  const lineText = lines[d.line - 1] ?? '';
  const col = Math.min(Math.max(1, d.col), lineText.length + 1);
  if (col > MAX_FRAME_WIDTH) return rows.join('\n');
  const endCol = d.endLine === d.line && d.endCol !== undefined && d.endCol > col ? d.endCol : col + 1;
  const len = Math.max(1, Math.min(endCol, lineText.length + 1, MAX_FRAME_WIDTH + 1) - col);
  // Keep tabs so the caret lines up under them.
  const pad = lineText.slice(0, col - 1).replace(/[^\t]/g, ' ');
  rows.push(
    `${paint('dim', `  ${' '.repeat(width)} |`)} ${pad}${paint(d.severity === 'error' ? 'red' : 'yellow', '^'.repeat(len))}`,
  );
  return rows.join('\n');
}

function clip(line: string): string {
  const safe = line.replace(/[^\P{Cc}\t]/gu, '?'); // control characters except tab
  return safe.length > MAX_FRAME_WIDTH ? safe.slice(0, MAX_FRAME_WIDTH) + '…' : safe;
}
