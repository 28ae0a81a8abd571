/**
 * Printing helpers shared by the emitters: an indentation-aware line writer, a literal printer
 * for data (`topology.ts`) and JSDoc blocks with escaped text.
 *
 * Emitters write code already formatted in the house style (2 spaces, single quotes, semicolons,
 * trailing commas, 120 columns) instead of running a formatter afterwards: prettier and the
 * TypeScript printer each cost more than a second of cold start, the whole budget of a generate
 * run (see docs/generator.md). The output is still byte-for-byte deterministic.
 */
import { escapeComment, propertyKey, quote } from '../naming.js';

/** Maximum line width the printers aim for. */
export const PRINT_WIDTH = 120;
const INDENT = '  ';

/** Accumulates lines at an indentation level. */
export class CodeWriter {
  private readonly lines: string[] = [];
  private level = 0;

  /** One line at the current indentation; an empty call adds a blank line (never two in a row). */
  line(text = ''): this {
    if (text === '') {
      if (this.lines.length > 0 && this.lines[this.lines.length - 1] !== '') this.lines.push('');
      return this;
    }
    for (const part of text.split('\n')) this.lines.push(part === '' ? '' : INDENT.repeat(this.level) + part);
    return this;
  }

  /** Lines already indented relative to the current level (e.g. the output of another printer). */
  raw(text: string): this {
    for (const part of text.replace(/\n+$/, '').split('\n')) {
      this.lines.push(part === '' ? '' : INDENT.repeat(this.level) + part);
    }
    return this;
  }

  /** `open`, the body one level deeper, then `close`. */
  block(open: string, body: () => void, close = '}'): this {
    this.line(open);
    return this.indented(body).line(close);
  }

  /** The body one level deeper. */
  indented(body: () => void): this {
    this.level++;
    body();
    this.level--;
    return this;
  }

  /** A JSDoc block; nothing when `text` is empty. One line when it fits. */
  doc(text: string | readonly (string | null | undefined)[] | null | undefined): this {
    const parts = (Array.isArray(text) ? text : [text]).filter((t): t is string => typeof t === 'string' && t !== '');
    if (parts.length === 0) return this;
    const body = escapeComment(parts.join('\n\n'));
    if (body === '') return this;
    const lines = wrap(body, PRINT_WIDTH - this.indentWidth - 3);
    const single = `/** ${lines[0]} */`;
    if (lines.length === 1 && INDENT.length * this.level + single.length <= PRINT_WIDTH) return this.line(single);
    this.line('/**');
    for (const l of lines) this.line(l === '' ? ' *' : ` * ${l}`);
    return this.line(' */');
  }

  /**
   * `head(params)tail` on one line when it fits, otherwise one parameter a line with a trailing
   * comma: `signature('foo<K>', ['a: A', 'b: B'], ': R;')`.
   */
  signature(head: string, params: readonly string[], tail: string): this {
    const flat = `${head}(${params.join(', ')})${tail}`;
    if (this.indentWidth + flat.length <= PRINT_WIDTH || params.length === 0) return this.line(flat);
    this.line(`${head}(`);
    for (const p of params) this.line(`${INDENT}${p},`);
    return this.line(`)${tail}`);
  }

  /** Current width of the indentation, for printers that wrap. */
  get indentWidth(): number {
    return INDENT.length * this.level;
  }

  toString(): string {
    const out = [...this.lines];
    while (out.length > 0 && out[out.length - 1] === '') out.pop();
    return out.join('\n') + '\n';
  }
}

/**
 * Word-wrap each line of `text` at `width` columns, breaking at spaces only (a word longer than
 * the width stays whole). Lines that start with whitespace are code and are left alone.
 */
export function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (line.length <= width || /^\s/.test(line)) {
      out.push(line);
      continue;
    }
    let current = '';
    for (const word of line.split(' ')) {
      if (current !== '' && current.length + 1 + word.length > width) {
        out.push(current);
        current = word;
      } else {
        current = current === '' ? word : `${current} ${word}`;
      }
    }
    out.push(current);
  }
  return out;
}

/**
 * A JSON-compatible value as a TS/JS literal: single-quoted strings, bare keys where possible,
 * trailing commas. An object or array is printed on one line when it fits in the remaining width
 * and holds no nested object/array that itself needed several lines; otherwise one entry a line.
 * Key order is the value's own (callers sort when order is not meaningful).
 */
export function printLiteral(value: unknown, indentWidth = 0, prefixWidth = 0): string {
  return print(value, indentWidth, prefixWidth);
}

function print(value: unknown, indent: number, prefix: number): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return quote(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`cannot print non-finite number ${value}`);
    return Object.is(value, -0) ? '0' : String(value);
  }
  if (typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    const items = value.map((v) => print(v, indent + INDENT.length, 0));
    const flat = `[${items.join(', ')}]`;
    if (!items.some((i) => i.includes('\n')) && indent + prefix + flat.length + 1 <= PRINT_WIDTH) return flat;
    const inner = ' '.repeat(indent + INDENT.length);
    return `[\n${items.map((i) => `${inner}${i},`).join('\n')}\n${' '.repeat(indent)}]`;
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return '{}';
    const items = entries.map(([k, v]) => {
      // `{ '__proto__': x }` would set the prototype; a computed key makes an own property.
      const key = k === '__proto__' ? "['__proto__']" : propertyKey(k);
      return `${key}: ${print(v, indent + INDENT.length, key.length + 2)}`;
    });
    const flat = `{ ${items.join(', ')} }`;
    if (!items.some((i) => i.includes('\n')) && indent + prefix + flat.length + 1 <= PRINT_WIDTH) return flat;
    const inner = ' '.repeat(indent + INDENT.length);
    return `{\n${items.map((i) => `${inner}${i},`).join('\n')}\n${' '.repeat(indent)}}`;
  }
  throw new Error(`cannot print a ${typeof value} as a literal`);
}

/**
 * `export type Name = A | B;` laid out like prettier: on one line when it fits, else the union on
 * the next line, else one member a line with leading bars.
 */
export function unionAlias(w: CodeWriter, name: string, members: readonly string[]): void {
  const head = `export type ${name} =`;
  const union = members.length === 0 ? 'never' : members.join(' | ');
  if (w.indentWidth + head.length + union.length + 2 <= PRINT_WIDTH) {
    w.line(`${head} ${union};`);
  } else if (w.indentWidth + INDENT.length + union.length + 1 <= PRINT_WIDTH) {
    w.line(head);
    w.line(`${INDENT}${union};`);
  } else {
    w.line(head);
    members.forEach((m, i) => w.line(`${INDENT}| ${m}${i === members.length - 1 ? ';' : ''}`));
  }
}

/** `'A' | 'B'`, or `never` for none. */
export function stringUnion(values: readonly string[]): string {
  return values.length === 0 ? 'never' : values.map(quote).join(' | ');
}
