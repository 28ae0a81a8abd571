/**
 * Lays out declarations printed by json-schema-to-typescript with `format: false` (one token
 * group a line, no indentation) in the house style, without loading a formatter: indentation by
 * bracket nesting, single-quoted string literals, a semicolon after every member and type alias.
 * It splits the result into top-level declarations so the caller can order and filter them.
 *
 * It is a layout pass, not a parser: it understands strings and comments well enough never to
 * change their contents, and relies on json-schema-to-typescript's line structure otherwise.
 */

/** One top-level declaration with its leading JSDoc. */
export interface Declaration {
  /** The declared name (`export interface Money` → `Money`). */
  name: string;
  kind: 'interface' | 'type';
  /** The laid-out text, without a trailing newline. */
  text: string;
}

import { quote } from '../naming.js';

const OPENERS = '{([';
const CLOSERS = '})]';

/** Lay out `source` and split it into declarations, in source order. */
export function layoutDeclarations(source: string): Declaration[] {
  const declarations: Declaration[] = [];
  let current: string[] = [];
  let currentName: string | null = null;
  let currentKind: Declaration['kind'] = 'interface';

  const open: string[] = [];
  const marks: number[] = [];
  let inComment = false;

  const flush = (): void => {
    if (current.length === 0) return;
    if (currentName === null) throw new Error(`layout: text without a declaration:\n${current.join('\n')}`);
    // `interface X {` + `}` on the next line: an empty body reads better as `{}`.
    const text = current.join('\n').replace(/\{\n\s*\}/g, '{}');
    declarations.push({ name: currentName, kind: currentKind, text: unwrapWholeTypes(text) });
    current = [];
    currentName = null;
  };

  for (const raw of source.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;

    if (inComment || line.startsWith('/*')) {
      // A comment line. At top level a comment opens the next declaration.
      if (!inComment && open.length === 0 && currentName !== null) flush();
      const indent = '  '.repeat(marks.length);
      current.push(indent + (inComment && line.startsWith('*') ? ` ${line}` : line));
      if (inComment) {
        if (line.includes('*/')) inComment = false;
      } else if (!line.slice(2).includes('*/')) {
        inComment = true;
      }
      continue;
    }

    if (open.length === 0) {
      const match = /^export\s+(interface|type)\s+([A-Za-z_$][A-Za-z0-9_$]*)/.exec(line);
      if (match) {
        if (currentName !== null) flush();
        currentKind = match[1] as Declaration['kind'];
        currentName = match[2] as string;
      }
    }

    // Leading closers dedent this line.
    let leading = 0;
    while (leading < line.length && CLOSERS.includes(line[leading] as string)) leading++;
    const depthAfterLeading = Math.max(0, open.length - leading);
    while (marks.length > 0 && (marks[marks.length - 1] as number) > depthAfterLeading) marks.pop();
    const indent = '  '.repeat(marks.length);

    const text = rewriteLine(line, open);
    while (marks.length > 0 && (marks[marks.length - 1] as number) > open.length) marks.pop();

    const last = text[text.length - 1] as string;
    let out = text;
    if (OPENERS.includes(last)) {
      marks.push(open.length);
    } else if (!/[,|&=;]$/.test(text)) {
      const inObjectBody = open.length > 0 && open[open.length - 1] === '{';
      const endsAlias = open.length === 0 && currentKind === 'type';
      if (inObjectBody || endsAlias) out += ';';
    }
    current.push(indent + out);
  }
  flush();
  return declarations;
}

/**
 * Track brackets in one code line (updating `open`) and turn double-quoted string literals into
 * single-quoted ones where that needs no new escapes. Code between literals is copied in slices.
 */
function rewriteLine(line: string, open: string[]): string {
  let out = '';
  let code = 0; // where the current run of code (outside literals) starts
  for (let i = 0; i < line.length; i++) {
    const ch = line[i] as string;
    if (ch === '"' || ch === "'" || ch === '`') {
      let j = i + 1;
      while (j < line.length && line[j] !== ch) j += line[j] === '\\' ? 2 : 1;
      const literal = line.slice(i, j + 1);
      out += unparenthesizeArrays(line.slice(code, i)) + (ch === '"' ? requote(literal) : literal);
      i = j;
      code = j + 1;
    } else if (OPENERS.includes(ch)) {
      open.push(ch);
    } else if (CLOSERS.includes(ch)) {
      open.pop();
    }
  }
  return out + unparenthesizeArrays(line.slice(code));
}

/** `(Foo)[]` → `Foo[]`: json-schema-to-typescript parenthesises every array element type. */
function unparenthesizeArrays(code: string): string {
  return code.includes(')[]') ? code.replace(/\(([A-Za-z_$][\w$]*)\)\[\]/g, '$1[]') : code;
}

/**
 * Drop parentheses that enclose a member's or an alias's whole type, across lines:
 * `key: (A | B);` → `key: A | B;`, `export type X = ({...} | {...});` → `export type X = {...} | {...};`.
 * A parenthesis counts when it directly follows `key: `, `key?: ` or `export type X = ` and its
 * match is directly followed by the `;`. Strings and comments are skipped while matching.
 */
function unwrapWholeTypes(text: string): string {
  const drop = new Set<number>();
  const stack: { at: number; whole: boolean }[] = [];
  const lineStart = (i: number): number => text.lastIndexOf('\n', i - 1) + 1;
  // Jump from one character that matters to the next instead of stepping through the text.
  const next = /["'`()]|\/\*/g;
  for (let found = next.exec(text); found; found = next.exec(text)) {
    const i = found.index;
    const ch = found[0];
    if (ch === '"' || ch === "'" || ch === '`') {
      let j = i + 1;
      while (j < text.length && text[j] !== ch) j += text[j] === '\\' ? 2 : 1;
      next.lastIndex = j + 1;
    } else if (ch === '/*') {
      const end = text.indexOf('*/', i + 2);
      next.lastIndex = end < 0 ? text.length : end + 2;
    } else if (ch === '(') {
      const before = text.slice(lineStart(i), i);
      const whole =
        /^\s*(?:[A-Za-z_$][\w$]*|'[^'\n]*')\??: $/.test(before) || /^export type [A-Za-z_$][\w$]* = $/.test(before);
      stack.push({ at: i, whole });
    } else if (ch === ')') {
      const open = stack.pop();
      if (open?.whole && text[i + 1] === ';') {
        drop.add(open.at);
        drop.add(i);
      }
    }
  }
  if (drop.size === 0) return text;
  let out = '';
  let from = 0;
  for (const at of [...drop].sort((a, b) => a - b)) {
    out += text.slice(from, at);
    from = at + 1;
  }
  return out + text.slice(from);
}

/** A double-quoted (JSON-style) literal in the house quote style; left alone if it is not JSON. */
function requote(literal: string): string {
  try {
    const value: unknown = JSON.parse(literal);
    return typeof value === 'string' ? quote(value) : literal;
  } catch {
    return literal;
  }
}
