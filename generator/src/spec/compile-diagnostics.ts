/**
 * What compiling a payload with ajv would report, predicted without compiling it: the shortcut
 * that lets a topology with hundreds of example-less payloads compile each shared schema once
 * instead of once per payload that uses it.
 *
 * Compiling the assembled payload (`{ ...payload, $defs: <shared closure> }`) logs the warnings
 * of the payload's own keywords plus, at each `$ref`, those of the referenced shared schema and
 * everything it reaches, and throws for the first keyword ajv rejects. Each of those parts is
 * context-free: ajv compiles a referenced schema, inline or as its own function, with no
 * inherited data types, under a schema path that depends only on the ref (`#/$defs/Name`, or `#`
 * for a function of its own). So the payload's warning SET is the union of
 *
 * - its own keywords' warnings: none, when every subschema of the payload (not counting ref
 *   targets) is "quiet" by the strictTypes rules ajv applies (below), and ajv cannot throw on it;
 * - for each shared schema it refers to, what ajv logs compiling `{ $ref: '#/$defs/Name' }` over
 *   the same shared schemas, computed once per shared schema and reused.
 *
 * Anything outside that (a payload that is not quiet, a shared schema that does not compile)
 * returns `undefined`, and the caller compiles the payload for real. Order is not predicted:
 * diagnostics are sorted, so only the set matters (the caller compiles for real when the
 * diagnostic cap could make insertion order visible).
 */
import type { JsonSchema } from '@eventform/runtime';
import type { SchemaAjv } from './ajv.js';
import type { SchemaResolver } from './schema-refs.js';
import { setOwn } from './yaml-tree.js';

type JSONType = 'string' | 'number' | 'integer' | 'boolean' | 'null' | 'object' | 'array';
const JSON_TYPES = new Set<string>(['string', 'number', 'integer', 'boolean', 'null', 'object', 'array']);

/** Keywords whose value is a schema applied to a different instance (a property, an item). */
const DATA_SCHEMA = new Set(['additionalProperties', 'items', 'contains']);
/** Keywords whose value maps names or patterns to such schemas. */
const DATA_SCHEMA_MAP = new Set(['properties', 'patternProperties']);
/** Keywords whose value lists such schemas. */
const DATA_SCHEMA_LIST = new Set(['prefixItems']);
/**
 * Everything else a quiet subschema may hold: values ajv checks no further than the meta-schema
 * did (plus `format`, checked against the registered formats). In-place applicators (allOf,
 * if, not, ...) are deliberately absent: their subschemas inherit the parent's types, which is
 * where ajv's context rules start.
 */
const PLAIN = new Set([
  'type',
  '$ref',
  'enum',
  'const',
  'required',
  'minProperties',
  'maxProperties',
  'minItems',
  'maxItems',
  'uniqueItems',
  'minContains',
  'maxContains',
  'minLength',
  'maxLength',
  'pattern',
  'format',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'title',
  'description',
  '$comment',
  'default',
  'examples',
  'deprecated',
  'readOnly',
  'writeOnly',
]);

interface Rule {
  keyword: string;
  definition: { type: JSONType[]; implements?: string[] };
}

type Outcome = { ok: true; warnings: ReadonlySet<string> } | { ok: false };

export class CompileDiagnostics {
  private readonly shared = new Map<string, Outcome>();
  /** ajv's keywords that apply to certain types only (its keyword table, read once). */
  private typedRules: Rule[] | undefined;

  constructor(
    private readonly schemaAjv: SchemaAjv,
    private readonly resolver: SchemaResolver,
  ) {}

  /**
   * The warnings `checkOnly(assemble(payload, closure(deps)))` would log, when they can be
   * known without it; `undefined` means "compile it". `deps` are the shared schemas the payload
   * refers to directly, all known to the resolver and valid.
   */
  predict(payload: JsonSchema, deps: Iterable<string>): ReadonlySet<string> | undefined {
    if (!this.quiet(payload)) return undefined;
    const warnings = new Set<string>();
    for (const name of deps) {
      const outcome = this.sharedOutcome(name);
      if (!outcome.ok) return undefined;
      for (const w of outcome.warnings) warnings.add(w);
    }
    return warnings;
  }

  /** What compiling a ref to `name` logs (everything it reaches included), or that it throws. */
  private sharedOutcome(name: string): Outcome {
    let outcome = this.shared.get(name);
    if (!outcome) {
      const { checkOnly, takeWarnings } = this.schemaAjv;
      takeWarnings();
      try {
        // Assembled like a payload (see schema-check.ts `assemble`) that is just the ref.
        const defs: Record<string, unknown> = {};
        for (const r of this.resolver.closure([name])) setOwn(defs, r, this.resolver.shared.get(r)!.schema);
        checkOnly({ $ref: `#/$defs/${name}`, $defs: defs });
        outcome = { ok: true, warnings: new Set(takeWarnings()) };
      } catch {
        takeWarnings();
        outcome = { ok: false };
      }
      this.shared.set(name, outcome);
    }
    return outcome;
  }

  /**
   * True when ajv, compiling this subschema and the ones nested under data keywords (never ref
   * targets), can neither log nor throw: every key is known and simple, `type` is one JSON type,
   * every typed keyword present applies to that type (ajv's strictTypes rule, evaluated on
   * ajv's own keyword table), and every `format` is registered.
   */
  private quiet(schema: unknown): boolean {
    if (typeof schema === 'boolean') return true;
    if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return false;
    const s = schema as Record<string, unknown>;
    for (const key of Object.keys(s)) {
      const value = s[key];
      if (DATA_SCHEMA.has(key)) {
        if (!this.quiet(value)) return false;
      } else if (DATA_SCHEMA_MAP.has(key)) {
        if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
        for (const sub of Object.values(value)) if (!this.quiet(sub)) return false;
      } else if (DATA_SCHEMA_LIST.has(key)) {
        if (!Array.isArray(value) || !value.every((sub) => this.quiet(sub))) return false;
      } else if (!PLAIN.has(key)) {
        return false;
      }
    }
    const { ajv } = this.schemaAjv;
    if ('format' in s && (typeof s.format !== 'string' || ajv.formats[s.format] === undefined)) return false;
    if ('$ref' in s && typeof s.$ref !== 'string') return false;
    let types: JSONType[] = [];
    if ('type' in s) {
      if (typeof s.type !== 'string' || !JSON_TYPES.has(s.type)) return false;
      types = [s.type as JSONType];
    }
    // ajv's checkKeywordTypes: a keyword that applies to certain types needs one of them.
    this.typedRules ??= (Object.values(ajv.RULES.all) as unknown[]).filter(
      (rule): rule is Rule => typeof rule === 'object' && rule !== null && (rule as Rule).definition.type.length > 0,
    );
    for (const { keyword, definition } of this.typedRules) {
      const used = s[keyword] !== undefined || definition.implements?.some((k) => s[k] !== undefined);
      if (!used) continue;
      const applies = definition.type.some((t) => types.includes(t) || (t === 'number' && types.includes('integer')));
      if (!applies) return false;
    }
    return true;
  }
}
