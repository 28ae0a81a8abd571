/**
 * What an object schema declares about its properties, following `$ref`s to shared schemas and
 * merging `allOf`. Used to check that `key` and idempotency keys name real, required fields.
 */
import type { SharedSchema } from './schema-refs.js';

export interface ObjectShape {
  properties: Map<string, unknown>;
  required: Set<string>;
  /** False when `anyOf`/`oneOf`/`if` (or an unresolvable ref) may add properties we cannot see. */
  complete: boolean;
}

type Lookup = ReadonlyMap<string, SharedSchema>;
type Obj = Record<string, unknown>;

const isObj = (x: unknown): x is Obj => !!x && typeof x === 'object' && !Array.isArray(x);
const refName = (s: Obj): string | undefined =>
  typeof s.$ref === 'string' ? /^#\/\$defs\/(.+)$/.exec(s.$ref)?.[1] : undefined;

export function objectShape(schema: unknown, shared: Lookup): ObjectShape {
  const shape: ObjectShape = { properties: new Map(), required: new Set(), complete: true };
  const visit = (s: unknown, seen: ReadonlySet<string>): void => {
    if (!isObj(s)) return;
    if (s.$ref !== undefined) {
      const name = refName(s);
      const target = name === undefined ? undefined : shared.get(name)?.schema;
      if (name === undefined || target === undefined) shape.complete = false;
      else if (!seen.has(name)) visit(target, new Set([...seen, name]));
    }
    if (isObj(s.properties)) {
      for (const [k, v] of Object.entries(s.properties)) if (!shape.properties.has(k)) shape.properties.set(k, v);
    }
    if (Array.isArray(s.required)) for (const r of s.required) if (typeof r === 'string') shape.required.add(r);
    if (Array.isArray(s.allOf)) for (const sub of s.allOf) visit(sub, seen);
    if (s.anyOf !== undefined || s.oneOf !== undefined || s.if !== undefined || s.dependentSchemas !== undefined) {
      shape.complete = false;
    }
  };
  visit(schema, new Set());
  return shape;
}

/** Whether a property schema is string-typed: `string`, `{ not: <what it is> }`, or `unknown`. */
export function stringness(
  schema: unknown,
  shared: Lookup,
  seen: ReadonlySet<string> = new Set(),
): 'string' | 'unknown' | { not: string } {
  if (!isObj(schema)) return 'unknown';
  const t = schema.type;
  if (t === 'string') return 'string';
  if (Array.isArray(t)) return t.length === 1 && t[0] === 'string' ? 'string' : { not: t.join(' | ') };
  if (typeof t === 'string') return { not: t };
  const values = Array.isArray(schema.enum) ? schema.enum : 'const' in schema ? [schema.const] : undefined;
  if (values) return values.every((v) => typeof v === 'string') ? 'string' : { not: 'a non-string enum' };
  const name = refName(schema);
  if (name !== undefined && !seen.has(name)) {
    const r = stringness(shared.get(name)?.schema, shared, new Set([...seen, name]));
    if (r !== 'unknown') return r;
  }
  if (Array.isArray(schema.allOf)) {
    for (const sub of schema.allOf) if (stringness(sub, shared, seen) === 'string') return 'string';
  }
  return 'unknown';
}
