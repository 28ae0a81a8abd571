/**
 * JSON Schema checks: every shared schema and payload must be a valid 2020-12 schema (ajv's
 * meta-schema), must compile with its shared schemas, must not loop through refs without
 * descending into the instance, and every example must validate against its payload. Errors are
 * placed on the exact node ajv names, mapped back through the positioned tree.
 */
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import type { JsonSchema } from '@eventform/runtime';
import { createAjv } from './ajv.js';
import { CompileDiagnostics } from './compile-diagnostics.js';
import { DiagnosticSink, type Span } from './diagnostics.js';
import type { RawTopology } from './raw-topology.js';
import type { ResolvedSchema, SchemaResolver } from './schema-refs.js';
import { didYouMean } from './suggest.js';
import { setOwn, toPlain, type YNode } from './yaml-tree.js';

const MAX_ERRORS_PER_EXAMPLE = 5;

export function checkSchemas(
  raw: RawTopology,
  resolver: SchemaResolver,
  payloads: ReadonlyMap<string, ResolvedSchema & { refs: string[] }>,
  sink: DiagnosticSink,
  /** Off: compile every payload (the reference the predictions are tested against). */
  { predict = true }: { predict?: boolean } = {},
): void {
  const schemaAjv = createAjv();
  const { ajv, checkOnly, validateSchema, metaErrors, takeWarnings } = schemaAjv;
  const predictor = new CompileDiagnostics(schemaAjv, resolver);
  const invalid = new Set<string>();

  for (const s of resolver.shared.values()) {
    if (!s.ok) {
      invalid.add(s.name);
    } else if (!validateSchema(s.schema)) {
      reportSchemaErrors(metaErrors(), s.node, `schema '${s.name}'`, sink);
      invalid.add(s.name);
      s.ok = false;
    }
  }
  for (const name of selfLoops(resolver)) {
    const s = resolver.shared.get(name)!;
    s.ok = false;
    sink.report(
      'EF5007',
      s.loc,
      `schema '${name}' refers back to itself without descending into a property or item`,
      'validation would never terminate; nest the recursion under `properties` or `items`',
    );
    invalid.add(name);
  }

  for (const e of raw.events) {
    const p = payloads.get(e.name);
    if (!p || !e.payload) continue;
    const what = `payload of event '${e.name}'`;
    if (!p.ok) continue;
    if (!validateSchema(p.schema)) {
      reportSchemaErrors(metaErrors(), e.payload, `the ${what}`, sink);
      p.ok = false;
      continue;
    }
    // A payload built on a broken shared schema is not checked further: its own error would be
    // an echo of the shared one.
    if (p.refs.some((r) => invalid.has(r) || !resolver.shared.has(r))) {
      p.ok = false;
      continue;
    }
    // Without examples only what compiling reports matters, not the validator; for most
    // payloads that is known from their shared schemas alone (see compile-diagnostics.ts). A
    // prediction is used only when all of it will be kept: past the cap, order would show.
    let warnings = predict && e.examples.length === 0 ? predictor.predict(p.schema, p.deps) : undefined;
    if (warnings && warnings.size > DiagnosticSink.MAX_KEPT - sink.items.length) warnings = undefined;
    let validate: ValidateFunction | undefined;
    if (!warnings) {
      const assembled = assemble(p.schema, p.refs, resolver);
      try {
        if (e.examples.length === 0) checkOnly(assembled);
        else validate = ajv.compile(assembled);
      } catch (err) {
        sink.report('EF5001', firstLine(e.payload.span), `the ${what} does not compile: ${(err as Error).message}`);
        takeWarnings();
        p.ok = false;
        continue;
      }
      warnings = new Set(takeWarnings());
    }
    for (const w of warnings) sink.report('EF9012', firstLine(e.payload.span), `${what}: ${w}`);
    if (!validate) continue;

    e.examples.forEach((ex, i) => {
      let ok: boolean;
      try {
        ok = validate(toPlain(ex)) as boolean;
      } catch (err) {
        sink.report(
          'EF5002',
          ex.span,
          `example ${i + 1} of event '${e.name}' could not be validated: ${(err as Error).message}`,
        );
        return;
      }
      if (ok) return;
      const errors = (validate.errors ?? []).filter((x) => x.keyword !== 'if').slice(0, MAX_ERRORS_PER_EXAMPLE);
      for (const err of errors) {
        const at = nodeAt(ex, err.instancePath);
        const where = err.instancePath === '' ? 'the example' : `'${err.instancePath}'`;
        sink.report(
          'EF5002',
          at.span,
          `example ${i + 1} of event '${e.name}' does not match the payload: ${where} ${err.message ?? 'is invalid'}`,
          exampleHint(err),
        );
      }
    });
  }
}

/** The payload with its shared schemas under `$defs`, ready for ajv (or any JSON Schema tool). */
export function assemble(schema: JsonSchema, refs: string[], resolver: SchemaResolver): JsonSchema {
  if (typeof schema === 'boolean' || refs.length === 0) return schema;
  const defs: Record<string, unknown> = {};
  for (const r of refs) setOwn(defs, r, resolver.shared.get(r)!.schema);
  return { ...schema, $defs: defs };
}

function reportSchemaErrors(errors: ErrorObject[], root: YNode, what: string, sink: DiagnosticSink): void {
  // ajv reports an anyOf umbrella plus each branch; keep the most specific error per location.
  const byPath = new Map<string, ErrorObject>();
  for (const err of errors) {
    if (err.keyword === 'anyOf' || err.keyword === 'oneOf' || err.keyword === '$dynamicRef') continue;
    const prev = byPath.get(err.instancePath);
    if (!prev || (prev.keyword === 'type' && err.keyword === 'enum')) byPath.set(err.instancePath, err);
  }
  if (byPath.size === 0 && errors[0]) byPath.set(errors[0].instancePath, errors[0]);
  for (const [pointer, err] of byPath) {
    const at = nodeAt(root, pointer);
    const field = pointer === '' ? '' : `'${pointer}' `;
    let hint: string | undefined;
    const allowed = (err.params as { allowedValues?: unknown[] }).allowedValues;
    if (err.keyword === 'enum' && Array.isArray(allowed)) {
      const value = at.node.kind === 'scalar' ? String(at.node.value) : '';
      hint = didYouMean(value, allowed.map(String)) ?? `allowed: ${allowed.map(String).join(', ')}`;
    }
    sink.report('EF5001', at.span, `${what} is not valid JSON Schema: ${field}${err.message ?? 'is invalid'}`, hint);
  }
}

function exampleHint(err: ErrorObject): string | undefined {
  const p = err.params as { allowedValues?: unknown[]; additionalProperty?: string };
  if (err.keyword === 'enum' && Array.isArray(p.allowedValues))
    return `allowed: ${p.allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  if (err.keyword === 'additionalProperties' && p.additionalProperty)
    return `'${p.additionalProperty}' is not declared in the payload`;
  return undefined;
}

/** The deepest node along a JSON pointer (ajv `instancePath`). */
export function nodeAt(root: YNode, pointer: string): { node: YNode; span: Span } {
  let node = root;
  let span = root.span;
  if (pointer === '') return { node, span };
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (node.kind === 'map') {
      const e = node.entries.find((x) => x.key === key);
      if (!e) break;
      node = e.value;
      span = e.value.kind === 'scalar' ? e.value.span : e.keySpan;
    } else if (node.kind === 'seq') {
      const item = node.items[Number(key)];
      if (!item) break;
      node = item;
      span = item.span;
    } else break;
  }
  return { node, span };
}

function firstLine(s: Span): Span {
  return { ...s, endLine: s.line, endCol: s.line === s.endLine ? s.endCol : s.col };
}

/**
 * Shared schemas that reach themselves through in-place applicators only ($ref, allOf, anyOf,
 * oneOf, not, if/then/else): validating them would recurse forever on the same value.
 */
function selfLoops(resolver: SchemaResolver): string[] {
  const edges = new Map<string, Set<string>>();
  for (const s of resolver.shared.values()) {
    const out = new Set<string>();
    collectInPlaceRefs(s.schema, out);
    edges.set(s.name, out);
  }
  const looping: string[] = [];
  for (const start of edges.keys()) {
    const seen = new Set<string>();
    const stack = [...(edges.get(start) ?? [])];
    while (stack.length) {
      const n = stack.pop()!;
      if (n === start) {
        looping.push(start);
        break;
      }
      if (seen.has(n)) continue;
      seen.add(n);
      for (const m of edges.get(n) ?? []) stack.push(m);
    }
  }
  return looping.sort();
}

function collectInPlaceRefs(schema: unknown, out: Set<string>): void {
  if (!schema || typeof schema !== 'object' || Array.isArray(schema)) return;
  const s = schema as Record<string, unknown>;
  if (typeof s.$ref === 'string') {
    const m = /^#\/\$defs\/(.+)$/.exec(s.$ref);
    if (m) out.add(m[1]!);
  }
  for (const k of ['allOf', 'anyOf', 'oneOf']) {
    const list = s[k];
    if (Array.isArray(list)) for (const x of list) collectInPlaceRefs(x, out);
  }
  for (const k of ['not', 'if', 'then', 'else']) collectInPlaceRefs(s[k], out);
}
