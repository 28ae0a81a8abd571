/**
 * YAML text → a small positioned tree. Every guard against hostile input lives here: size,
 * binary content, nesting depth (checked on the raw text before the recursive composer runs),
 * alias expansion (bounded, cycle-safe), multiple documents. Nothing here throws on bad input:
 * problems become diagnostics and the tree is `null`.
 */
import {
  Alias,
  Composer,
  LineCounter,
  Parser,
  isMap,
  isScalar,
  isSeq,
  type Document,
  type Node as YamlNode,
} from 'yaml';
import type { DiagnosticSink, Span } from './diagnostics.js';
import { LIMITS } from './defaults.js';

export interface YScalar {
  kind: 'scalar';
  value: string | number | boolean | null;
  span: Span;
}
export interface YMapEntry {
  key: string;
  keySpan: Span;
  value: YNode;
}
export interface YMap {
  kind: 'map';
  /** In source order; a duplicate key keeps its first occurrence (the duplicate is reported). */
  entries: YMapEntry[];
  span: Span;
}
export interface YSeq {
  kind: 'seq';
  items: YNode[];
  span: Span;
}
export type YNode = YScalar | YMap | YSeq;

/** Checks raw bytes before decoding: size and binary content. Returns text or undefined. */
export function decodeSource(file: string, data: string | Uint8Array, sink: DiagnosticSink): string | undefined {
  const at: Span = { file, line: 1, col: 1, endLine: 1, endCol: 1 };
  const size = typeof data === 'string' ? Buffer.byteLength(data, 'utf8') : data.byteLength;
  if (size > LIMITS.maxFileBytes) {
    sink.report(
      'EF1002',
      at,
      `file is ${formatBytes(size)}; the limit is ${formatBytes(LIMITS.maxFileBytes)}`,
      'a topology this large is almost certainly not a topology; split schemas into files if you need to',
    );
    return undefined;
  }
  let text: string;
  if (typeof data === 'string') {
    text = data;
  } else {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(data);
    } catch {
      sink.report('EF1003', at, 'file is not valid UTF-8 text', 'is this a binary file?');
      return undefined;
    }
  }
  const nul = text.indexOf('\u0000');
  if (nul >= 0) {
    const lc = lineColOf(text, nul);
    sink.report(
      'EF1003',
      { file, line: lc.line, col: lc.col, endLine: lc.line, endCol: lc.col + 1 },
      'file contains NUL bytes; it is not a text file',
      'is this a binary file?',
    );
    return undefined;
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : `${Math.ceil(n / 1024)} KiB`;
}

function lineColOf(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, col: offset - start + 1 };
}

/**
 * A cheap linear upper-bound-ish estimate of nesting per line: the stack of block indents, the
 * compact `- ` prefixes and the open flow brackets. It protects the YAML composer (which
 * recurses) from pathological input; the exact limit is enforced later on the composed tree.
 */
function prescanDepth(text: string): { offset: number } | undefined {
  const indents: number[] = [];
  let flow = 0;
  let pos = 0;
  while (pos <= text.length) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = text.length;
    let i = pos;
    while (i < end && text[i] === ' ') i++;
    const blank = i >= end || text[i] === '#' || text[i] === '\r';
    if (!blank && flow === 0) {
      const indent = i - pos;
      while (indents.length > 0 && indents[indents.length - 1]! > indent) indents.pop();
      if (indents.length === 0 || indents[indents.length - 1]! < indent) indents.push(indent);
    }
    let dashes = 0;
    while (i + 1 < end && text[i] === '-' && (text[i + 1] === ' ' || text[i + 1] === '\t')) {
      dashes++;
      i += 2;
      while (i < end && text[i] === ' ') i++;
    }
    let quote = '';
    for (; i < end; i++) {
      const c = text[i]!;
      if (quote) {
        if (c === quote) quote = '';
        else if (c === '\\' && quote === '"') i++;
        continue;
      }
      if (c === '"' || c === "'") quote = c;
      else if (c === '#' && (i === pos || text[i - 1] === ' ')) break;
      else if (c === '[' || c === '{') {
        flow++;
        if (indents.length + dashes + flow > LIMITS.prescanDepth) return { offset: i };
      } else if ((c === ']' || c === '}') && flow > 0) flow--;
    }
    if (indents.length + dashes + flow > LIMITS.prescanDepth) return { offset: pos };
    pos = end + 1;
  }
  return undefined;
}

const YAML_ERROR_CODES: Record<string, 'EF1006' | 'EF1007' | 'EF1008'> = {
  DUPLICATE_KEY: 'EF1006',
  TAB_AS_INDENT: 'EF1007',
  RESOURCE_EXHAUSTION: 'EF1008',
};

/**
 * Parses one YAML document into a positioned tree, or reports why it cannot and returns null.
 */
export function parseYamlTree(file: string, text: string, sink: DiagnosticSink): YNode | null {
  const lines = new LineCounter();
  const spanOf = (start: number, end: number): Span => {
    const a = lines.linePos(start);
    const b = lines.linePos(Math.max(start, end));
    return { file, line: a.line, col: a.col, endLine: b.line, endCol: b.col };
  };

  const fileStart = { file, line: 1, col: 1, endLine: 1, endCol: 1 };
  const reportEmpty = (): null => {
    sink.report('EF1004', fileStart, 'file is empty', 'start with `topology: <name>` and `events:`');
    return null;
  };

  if (isBlank(text)) return reportEmpty();

  const deep = prescanDepth(text);
  if (deep) {
    const at = lineColOf(text, deep.offset);
    sink.report(
      'EF1009',
      { file, line: at.line, col: at.col, endLine: at.line, endCol: at.col + 1 },
      `document is nested more than ${LIMITS.maxDepth} levels deep`,
      'a topology needs a handful of levels; this looks generated or malicious',
    );
    return null;
  }

  // Compose lazily: a second document is already an error, so never parse the rest of a file
  // that holds thousands of them.
  const composer = new Composer({
    uniqueKeys: false, // duplicates are reported below, with context
    prettyErrors: false,
    strict: true,
    stringKeys: false,
    version: '1.2',
  });
  const all: Document.Parsed[] = [];
  for (const doc of composer.compose(new Parser(lines.addNewLine).parse(text), true, text.length)) {
    all.push(doc);
    if (all.length > 1) break;
  }
  let failed = false;
  for (const doc of all) {
    for (const err of doc.errors) {
      const code = YAML_ERROR_CODES[err.code] ?? 'EF1005';
      sink.report(code, spanOf(err.pos[0], err.pos[1]), yamlMessage(err.code, err.message));
      failed = true;
    }
    for (const w of doc.warnings) sink.report('EF9013', spanOf(w.pos[0], w.pos[1]), yamlMessage(w.code, w.message));
  }
  if (all.length === 0) {
    sink.report('EF1004', fileStart, 'file has no YAML document');
    return null;
  }
  if (all.length > 1) {
    const start = all[1]!.range[0];
    sink.report(
      'EF1010',
      spanOf(start, start + 3),
      'file holds more than one YAML document; a topology is exactly one',
      'remove the `---` separator and merge the documents',
    );
    failed = true;
  }
  if (failed) return null;
  const doc = all[0]!;
  if (doc.contents === null) return reportEmpty();

  // yaml's Alias.resolve walks the whole document on every call; resolve each alias node once.
  const resolved = new Map<Alias, YamlNode | undefined>();
  const resolve = (alias: Alias): YamlNode | undefined => {
    if (!resolved.has(alias)) resolved.set(alias, alias.resolve(doc) as YamlNode | undefined);
    return resolved.get(alias);
  };
  const conv = new Converter(file, spanOf, sink, resolve);
  const tree = conv.convert(doc.contents as YamlNode, 1, []);
  if (conv.failed) return null;
  if (tree.kind === 'scalar' && tree.value === null) return reportEmpty();
  return tree;
}

/** Only whitespace and comments. */
function isBlank(text: string): boolean {
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t !== '' && !t.startsWith('#')) return false;
  }
  return true;
}

function yamlMessage(code: string, message: string): string {
  if (code === 'RESOURCE_EXHAUSTION') return 'document is nested too deeply or expands too much to parse';
  // yaml's messages are good; make the first letter lower-case like ours.
  return message.charAt(0).toLowerCase() + message.slice(1);
}

class Converter {
  failed = false;
  private nodes = 0;
  private aliases = 0;
  private readonly expanding = new Set<YamlNode>();

  constructor(
    private readonly file: string,
    private readonly spanOf: (start: number, end: number) => Span,
    private readonly sink: DiagnosticSink,
    private readonly resolve: (alias: Alias) => YamlNode | undefined,
  ) {}

  private span(node: YamlNode | null | undefined, fallback?: Span): Span {
    const r = node?.range;
    if (!r) return fallback ?? { file: this.file, line: 1, col: 1, endLine: 1, endCol: 1 };
    return this.spanOf(r[0], r[1]);
  }

  private fail(code: 'EF1008' | 'EF1009' | 'EF1012', at: Span, message: string, hint?: string): YScalar {
    this.failed = true;
    this.sink.report(code, at, message, hint);
    return { kind: 'scalar', value: null, span: at };
  }

  convert(node: YamlNode | null | undefined, depth: number, path: string[], fallback?: Span): YNode {
    if (this.failed) return { kind: 'scalar', value: null, span: fallback ?? this.span(node) };
    if (++this.nodes > LIMITS.maxNodes) {
      return this.fail(
        'EF1008',
        this.span(node, fallback),
        `document expands to more than ${LIMITS.maxNodes} nodes`,
        'an alias bomb? anchors and aliases are expanded in full',
      );
    }
    if (depth > LIMITS.maxDepth) {
      return this.fail(
        'EF1009',
        this.span(node, fallback),
        `document is nested more than ${LIMITS.maxDepth} levels deep`,
      );
    }
    if (node === null || node === undefined) return { kind: 'scalar', value: null, span: fallback ?? this.span(node) };
    if (node instanceof Alias) {
      const at = this.span(node, fallback);
      if (++this.aliases > LIMITS.maxAliasCount) {
        return this.fail(
          'EF1008',
          at,
          `more than ${LIMITS.maxAliasCount} alias expansions`,
          'an alias bomb? anchors and aliases are expanded in full',
        );
      }
      const target = this.resolve(node);
      if (!target) return this.fail('EF1012', at, `alias *${node.source} has no anchor`);
      if (this.expanding.has(target)) {
        return this.fail(
          'EF1008',
          at,
          `alias *${node.source} refers to a node that contains it`,
          'recursive aliases would expand forever',
        );
      }
      this.expanding.add(target);
      try {
        return this.convert(target, depth, path, at);
      } finally {
        this.expanding.delete(target);
      }
    }
    if (isScalar(node)) {
      const v = node.value;
      const at = this.span(node, fallback);
      if (v === null || typeof v === 'string' || typeof v === 'boolean') return { kind: 'scalar', value: v, span: at };
      if (typeof v === 'number') {
        if (!Number.isFinite(v))
          return this.fail('EF1012', at, `${String(v)} is not allowed; values must be valid JSON`);
        return { kind: 'scalar', value: v, span: at };
      }
      const tag = isScalar(node) && node.tag ? ` (${node.tag})` : '';
      return this.fail('EF1012', at, `unsupported YAML value${tag}`, 'use plain strings, numbers, booleans and null');
    }
    if (isSeq(node)) {
      const items = node.items.map((item, i) => this.convert(item as YamlNode, depth + 1, [...path, String(i)]));
      return { kind: 'seq', items, span: this.span(node, fallback) };
    }
    if (isMap(node)) {
      const entries: YMapEntry[] = [];
      const seen = new Map<string, YMapEntry>();
      for (const pair of node.items) {
        const k = pair.key as YamlNode | null;
        let keyNode: YamlNode | null | undefined = k;
        if (keyNode instanceof Alias) keyNode = this.resolve(keyNode);
        if (!keyNode || !isScalar(keyNode) || (keyNode.value !== null && typeof keyNode.value === 'object')) {
          this.fail(
            'EF1012',
            this.span(k ?? node, fallback),
            'keys must be plain strings',
            'complex (`? `) keys are not supported',
          );
          continue;
        }
        if (keyNode.value === null || keyNode.value === '') {
          this.fail('EF1012', this.span(k, fallback), 'empty key');
          continue;
        }
        const key = String(keyNode.value);
        const keySpan = this.span(k, fallback);
        if (key === '<<') {
          this.fail(
            'EF1012',
            keySpan,
            'YAML merge keys (`<<`) are not supported',
            'repeat the fields, or rely on `defaults:`',
          );
          continue;
        }
        const value = this.convert(pair.value as YamlNode | null, depth + 1, [...path, key], {
          ...keySpan,
          col: keySpan.endCol,
          line: keySpan.endLine,
        });
        const entry: YMapEntry = { key, keySpan, value };
        const first = seen.get(key);
        if (first) {
          this.reportDuplicate(path, key, keySpan, first.keySpan);
          continue;
        }
        seen.set(key, entry);
        entries.push(entry);
      }
      return { kind: 'map', entries, span: this.span(node, fallback) };
    }
    return this.fail('EF1012', this.span(node, fallback), 'unsupported YAML node');
  }

  private reportDuplicate(path: string[], key: string, at: Span, first: Span): void {
    const hint = `first defined at line ${first.line}`;
    if (path.length === 3 && path[0] === 'services' && path[2] === 'consumes') {
      this.sink.report('EF4004', at, `service '${path[1]}' declares handler '${key}' twice`, hint);
    } else if (path.length === 1 && path[0] === 'events') {
      this.sink.report('EF1006', at, `event '${key}' is declared twice`, hint);
    } else if (path.length === 1 && path[0] === 'services') {
      this.sink.report('EF1006', at, `service '${key}' is declared twice`, hint);
    } else if (path.length === 1 && path[0] === 'schemas') {
      this.sink.report('EF1006', at, `schema '${key}' is declared twice`, hint);
    } else {
      this.sink.report('EF1006', at, `duplicate key '${key}'`, hint);
    }
    // Keep converting: a duplicate does not make the rest of the tree unusable, but the file
    // is invalid, so the IR will not be built.
  }
}

/** Plain JSON value of a subtree (for schemas and examples). `__proto__` keys stay data. */
export function toPlain(node: YNode): unknown {
  switch (node.kind) {
    case 'scalar':
      return node.value;
    case 'seq':
      return node.items.map(toPlain);
    case 'map': {
      const out: Record<string, unknown> = {};
      for (const e of node.entries) setOwn(out, e.key, toPlain(e.value));
      return out;
    }
  }
}

/** Assigns without triggering the `__proto__` setter. */
export function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  // defineProperty is several times slower than an assignment, which is the same for other keys.
  if (key === '__proto__')
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

export function entry(map: YMap, key: string): YMapEntry | undefined {
  return map.entries.find((e) => e.key === key);
}

export function describeNode(node: YNode): string {
  if (node.kind === 'map') return 'a mapping';
  if (node.kind === 'seq') return 'a list';
  const v = node.value;
  if (v === null) return 'nothing (null)';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  if (typeof v === 'number') return `the number ${v}`;
  return `the boolean ${v}`;
}
