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
  /**
   * The output so far: single lines, and at indentation level 0 whole multi-line blocks (the
   * validators' 2 MB of ajv code, a printed literal) kept as one string instead of split into
   * lines and joined again.
   */
  private readonly chunks: string[] = [];
  /** The last line written, for the no-two-blank-lines rule of `line()`. */
  private lastLine: string | undefined;
  private level = 0;

  /** One line at the current indentation; an empty call adds a blank line (never two in a row). */
  line(text = ''): this {
    if (text === '') {
      if (this.lastLine !== undefined && this.lastLine !== '') this.push('', '');
      return this;
    }
    return this.lines(text);
  }

  /** Lines already indented relative to the current level (e.g. the output of another printer). */
  raw(text: string): this {
    return this.lines(text.slice(0, endWithoutNewlines(text)));
  }

  /** Each line of `text` at the current indentation (empty lines stay empty). */
  private lines(text: string): this {
    const newline = text.lastIndexOf('\n');
    if (this.level === 0) return this.push(text, newline < 0 ? text : text.slice(newline + 1));
    const indent = INDENT.repeat(this.level);
    const indented = text.split('\n').map((part) => (part === '' ? '' : indent + part));
    return this.push(indented.join('\n'), indented[indented.length - 1]!);
  }

  private push(chunk: string, lastLine: string): this {
    this.chunks.push(chunk);
    this.lastLine = lastLine;
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

  /** The lines written, trailing blank lines dropped, each ending in a newline. */
  toString(): string {
    const text = this.chunks.join('\n');
    return text.slice(0, endWithoutNewlines(text)) + '\n';
  }
}

/** Length of `text` without its trailing newlines (a regex would scan the whole text). */
function endWithoutNewlines(text: string): number {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 10) end--;
  return end;
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
  return print(value, indentWidth, prefixWidth).text;
}

/**
 * A printed value and whether it took several lines. Multi-line text is built by concatenation
 * only (V8 keeps it as a rope), so an enclosing object neither searches nor copies it again: the
 * topology literal is half a megabyte, nested a dozen levels deep.
 */
interface Printed {
  text: string;
  multiline: boolean;
}

function print(value: unknown, indent: number, prefix: number): Printed {
  if (value === null) return { text: 'null', multiline: false };
  if (typeof value === 'string') return { text: quote(value), multiline: false };
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`cannot print non-finite number ${value}`);
    return { text: Object.is(value, -0) ? '0' : String(value), multiline: false };
  }
  if (typeof value === 'boolean') return { text: String(value), multiline: false };
  if (Array.isArray(value)) {
    if (value.length === 0) return { text: '[]', multiline: false };
    const printed = value.map((v) => print(v, indent + INDENT.length, 0));
    const multiline = printed.some((p) => p.multiline);
    return enclose(
      '[',
      printed.map((p) => p.text),
      ']',
      indent,
      prefix,
      multiline,
    );
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return { text: '{}', multiline: false };
    let multiline = false;
    const items = entries.map(([k, v]) => {
      // `{ '__proto__': x }` would set the prototype; a computed key makes an own property.
      const key = k === '__proto__' ? "['__proto__']" : propertyKey(k);
      const printed = print(v, indent + INDENT.length, key.length + 2);
      multiline ||= printed.multiline;
      return `${key}: ${printed.text}`;
    });
    return enclose('{ ', items, ' }', indent, prefix, multiline);
  }
  throw new Error(`cannot print a ${typeof value} as a literal`);
}

/**
 * `open item, item close` on one line when no item took several lines and it fits, otherwise
 * one item a line (trailing comma) and `close` trimmed, at `indent`.
 */
function enclose(
  open: string,
  items: readonly string[],
  close: string,
  indent: number,
  prefix: number,
  multiline: boolean,
): Printed {
  if (!multiline) {
    const width = open.length + items.reduce((n, i) => n + i.length, 0) + 2 * (items.length - 1) + close.length;
    if (indent + prefix + width + 1 <= PRINT_WIDTH)
      return { text: `${open}${items.join(', ')}${close}`, multiline: false };
  }
  const inner = ' '.repeat(indent + INDENT.length);
  let text = open.trim();
  for (const item of items) text += `\n${inner}${item},`;
  return { text: `${text}\n${' '.repeat(indent)}${close.trim()}`, multiline: true };
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
