/**
 * Finds source positions in the NEW topology text for check findings: a payload JSON pointer
 * (following `$ref: '#/schemas/Name'` into `schemas:` the way the pointer does), or a top-level
 * section (`events:`, `services:`, `topology:`) for things that no longer exist.
 *
 * Best effort: when a path cannot be followed (external schema files, flow nodes that moved),
 * it returns the deepest node it reached, so an annotation still lands close.
 */
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Node as YamlNode } from 'yaml';
import { pointerSegments } from './json-values.js';

export interface Position {
  line: number;
  col: number;
}

export interface Locator {
  /** The `<name>:` key of a top-level section. */
  section(name: string): Position | undefined;
  /** The key closest to `pointer` inside event `event`'s `payload:`. */
  payload(event: string, pointer: string): Position | undefined;
}

export const NO_LOCATOR: Locator = { section: () => undefined, payload: () => undefined };

export function createLocator(text: string): Locator {
  const lines = new LineCounter();
  let root: unknown;
  try {
    const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false });
    root = doc.contents;
  } catch {
    return NO_LOCATOR;
  }
  const pos = (node: YamlNode | null | undefined): Position | undefined => {
    const offset = node?.range?.[0];
    if (offset === undefined) return undefined;
    const p = lines.linePos(offset);
    return { line: p.line, col: p.col };
  };
  /** The key node and value node of `key` in a map node. */
  const entry = (map: unknown, key: string): { key: YamlNode; value: unknown } | undefined => {
    if (!isMap(map)) return undefined;
    for (const pair of map.items) {
      if (isScalar(pair.key) && String(pair.key.value) === key) return { key: pair.key, value: pair.value };
    }
    return undefined;
  };
  const sharedSchema = (ref: unknown): unknown => {
    if (!isScalar(ref) || typeof ref.value !== 'string') return undefined;
    const m = /^#\/schemas\/([^/]+)$/.exec(ref.value);
    if (!m?.[1]) return undefined;
    return entry(entry(root, 'schemas')?.value, m[1])?.value;
  };

  return {
    section(name) {
      return pos(entry(root, name)?.key);
    },
    payload(event, pointer) {
      const ev = entry(entry(root, 'events')?.value, event);
      if (!ev) return undefined;
      const payload = entry(ev.value, 'payload');
      if (!payload) return pos(ev.key);
      let node: unknown = payload.value;
      let best: YamlNode = payload.key;
      const seen = new Set<unknown>();
      for (const seg of pointerSegments(pointer)) {
        let next: { key: YamlNode; value: unknown } | undefined;
        for (let hops = 0; hops < 16 && !next; hops++) {
          if (isSeq(node) && /^\d+$/.test(seg)) {
            const item = node.items[Number(seg)];
            if (item !== undefined) next = { key: item as YamlNode, value: item };
            break;
          }
          next = entry(node, seg);
          if (next) break;
          // The pointer runs through refs transparently; so does the walk.
          const target = sharedSchema(entry(node, '$ref')?.value);
          if (target === undefined || seen.has(target)) break;
          seen.add(target);
          node = target;
        }
        if (!next) break;
        best = next.key;
        node = next.value;
      }
      return pos(best);
    },
  };
}
