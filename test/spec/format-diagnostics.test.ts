/** Compiler-style rendering: location, severity, code, message, code frame with caret, hint, count. */
import { describe, expect, it } from 'vitest';
import { formatDiagnostics, loadTopology, type Diagnostic } from '../../generator/src/spec/index.js';

const source = `topology: shop
events:
  OrderCreated:
    payload: { type: object }
services:
  orders:
    produces: [OrderCreated]
    consumes:
      onCreated: { event: OrderCreated, retries: 3 }
`;

describe('formatDiagnostics', () => {
  const { diagnostics } = loadTopology('topology.yaml', { text: source });

  it('renders location, code, message, frame, caret, hint and a count line', () => {
    const out = formatDiagnostics(diagnostics, (f) => (f === 'topology.yaml' ? source : undefined));
    expect(out).toBe(
      [
        "topology.yaml:9:41 error EF2001 unknown field 'retries' in handler 'orders.onCreated'",
        '  8 |     consumes:',
        '> 9 |       onCreated: { event: OrderCreated, retries: 3 }',
        '    |                                         ^^^^^^^',
        "  hint: did you mean 'retry'?",
        '',
        '1 error, 0 warnings',
        '',
      ].join('\n'),
    );
  });

  it('pluralises and counts warnings', () => {
    const d: Diagnostic[] = [
      { code: 'EF9002', severity: 'warning', message: 'a', file: 'x.yaml', line: 1, col: 1 },
      { code: 'EF9002', severity: 'warning', message: 'b', file: 'x.yaml', line: 2, col: 1 },
    ];
    expect(formatDiagnostics(d, () => undefined)).toBe(
      'x.yaml:1:1 warning EF9002 a\n\nx.yaml:2:1 warning EF9002 b\n\n0 errors, 2 warnings\n',
    );
  });

  it('prints just the count when there is nothing to report', () => {
    expect(formatDiagnostics([], () => undefined)).toBe('0 errors, 0 warnings\n');
  });

  it('colours only when asked', () => {
    const plain = formatDiagnostics(diagnostics, () => source);
    const coloured = formatDiagnostics(diagnostics, () => source, { color: true });
    expect(plain).not.toContain('\u001b[');
    expect(coloured).toContain('\u001b[31m');
    // eslint-disable-next-line no-control-regex -- stripping ANSI colour codes
    expect(coloured.replace(/\u001b\[\d+m/g, '')).toBe(plain);
  });

  it('survives positions outside the source and a throwing source reader', () => {
    const d: Diagnostic[] = [{ code: 'EF1005', severity: 'error', message: 'm', file: 'f', line: 99, col: 1 }];
    expect(formatDiagnostics(d, () => 'one line')).toBe('f:99:1 error EF1005 m\n\n1 error, 0 warnings\n');
    expect(
      formatDiagnostics(d, () => {
        throw new Error('nope');
      }),
    ).toContain('f:99:1 error EF1005 m');
  });

  it('clips very long lines and control characters in frames', () => {
    const long = 'k: ' + 'x'.repeat(500) + '\u0007';
    const d: Diagnostic[] = [
      { code: 'EF1005', severity: 'error', message: 'm', file: 'f', line: 1, col: 4, endLine: 1, endCol: 504 },
    ];
    const out = formatDiagnostics(d, () => long);
    const frameLine = out.split('\n')[1]!;
    expect(frameLine.length).toBeLessThan(200);
    expect(out).not.toContain('\u0007');
  });
});
