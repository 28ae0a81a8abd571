/**
 * A structural walk over JSON Schema (draft 2020-12) that knows which keywords hold subschemas,
 * so a rewrite touches keywords and never a property that happens to be called `title`, and
 * never the data under `const`, `enum`, `default` or `examples`.
 */
import type { JsonSchema } from '@eventform/runtime';

/** Keywords whose value is one subschema. */
const SCHEMA_KEYWORDS = [
  'additionalItems',
  'additionalProperties',
  'contains',
  'else',
  'if',
  'items',
  'not',
  'propertyNames',
  'then',
  'unevaluatedItems',
  'unevaluatedProperties',
  'contentSchema',
] as const;

/** Keywords whose value is an array of subschemas. */
const SCHEMA_ARRAY_KEYWORDS = ['allOf', 'anyOf', 'oneOf', 'prefixItems'] as const;

/** Keywords whose value maps names to subschemas. */
const SCHEMA_MAP_KEYWORDS = ['$defs', 'definitions', 'dependentSchemas', 'patternProperties', 'properties'] as const;

/**
 * A deep copy of `schema` in which every (sub)schema object has been passed through `rewrite`
 * after its children were copied. `rewrite` receives a fresh object it may mutate and return,
 * or replace; `depth` is 0 for the root.
 */
export function mapSchema(
  schema: JsonSchema,
  rewrite: (node: { [keyword: string]: unknown }, depth: number) => JsonSchema,
  depth = 0,
): JsonSchema {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return schema;
  const node: { [keyword: string]: unknown } = { ...schema };
  for (const keyword of SCHEMA_KEYWORDS) {
    const value = node[keyword];
    // draft-04 style tuple `items: [...]` is an array of schemas.
    if (Array.isArray(value)) node[keyword] = value.map((s) => mapSchema(s as JsonSchema, rewrite, depth + 1));
    else if (isSchema(value)) node[keyword] = mapSchema(value, rewrite, depth + 1);
  }
  for (const keyword of SCHEMA_ARRAY_KEYWORDS) {
    const value = node[keyword];
    if (Array.isArray(value)) node[keyword] = value.map((s) => mapSchema(s as JsonSchema, rewrite, depth + 1));
  }
  for (const keyword of SCHEMA_MAP_KEYWORDS) {
    const value = node[keyword];
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      const copy: Record<string, JsonSchema> = {};
      for (const [name, sub] of Object.entries(value as Record<string, JsonSchema>)) {
        setOwn(copy, name, mapSchema(sub, rewrite, depth + 1));
      }
      node[keyword] = copy;
    }
  }
  const deps = node['dependencies'];
  if (deps && typeof deps === 'object' && !Array.isArray(deps)) {
    const copy: Record<string, unknown> = {};
    for (const [name, sub] of Object.entries(deps as Record<string, unknown>)) {
      setOwn(copy, name, Array.isArray(sub) ? sub : mapSchema(sub as JsonSchema, rewrite, depth + 1));
    }
    node['dependencies'] = copy;
  }
  return rewrite(node, depth);
}

/** `record[key] = value` as an own property, even for `__proto__` (a property name a payload may use). */
export function setOwn(record: Record<string, unknown>, key: string, value: unknown): void {
  // defineProperty is several times slower than an assignment, which is the same for other keys.
  if (key === '__proto__')
    Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
  else record[key] = value;
}

function isSchema(value: unknown): value is JsonSchema {
  return typeof value === 'boolean' || (typeof value === 'object' && value !== null && !Array.isArray(value));
}
