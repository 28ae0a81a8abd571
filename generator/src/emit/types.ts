/**
 * `types.ts`: payload types, the event map and the name unions.
 *
 * Payload types come from json-schema-to-typescript, compiled from ONE combined schema so a
 * shared schema is declared once and referenced by name everywhere:
 *
 *   { title: <root>, properties: { <each schema and event>: { $ref } },
 *     $defs: { <SchemaName>: { title: <TS name>, ... }, 'eventform.event.<Event>': { title: <TS name>, ... } } }
 *
 * Shared schemas keep their IR key, so the payloads' `#/$defs/<Name>` refs resolve as they are;
 * events sit under keys no schema name can take. Every `$defs` entry carries a `title` equal to
 * its final TS name (see naming.ts), nested titles are dropped (they would mint extra named
 * types), and a `$ref` with sibling keywords becomes `allOf: [{ $ref }]` (otherwise the ref
 * parser copies the target and the copy is declared again as `Money1`). The root declaration is
 * dropped; the rest is laid out, checked against the expected names and ordered: shared schemas,
 * then events, both sorted by name.
 */
import type { JsonSchema } from '@eventform/runtime';
import { camelCase, definitionOf, GENERATE_CODES, GenerateError, propertyKey, quote, type Rename } from '../naming.js';
import { CodeWriter, unionAlias } from './code.js';
import { jsonSchemaToTs } from './json-schema-to-ts.js';
import { codeBanner, type EmitContext, type GeneratedFile } from './context.js';
import { mapSchema } from './schema-walk.js';
import { layoutDeclarations, type Declaration } from './ts-layout.js';

const ROOT_TITLE = 'EventformTypesRoot';
const EVENT_KEY_PREFIX = 'eventform.event.';

/** json-schema-to-typescript's options: the same for every compile. */
const COMPILE_OPTIONS = {
  bannerComment: '',
  format: false,
  // Open objects (no `additionalProperties` keyword) get no index signature, so a misspelt
  // field in a payload literal is a compile error; `additionalProperties: true` or a schema
  // still yields one. The validators accept extra fields either way: JSON Schema semantics.
  additionalProperties: false,
  declareExternallyReferenced: true,
  strictIndexSignatures: true,
  unknownAny: true,
  // minItems/maxItems would become tuple unions (an inline item object repeated per slot);
  // plain arrays read better and the validators enforce the bounds.
  ignoreMinAndMaxItems: true,
  unreachableDefinitions: false,
  $refOptions: { resolve: { external: false } } as never,
} satisfies Parameters<ReturnType<typeof jsonSchemaToTs>>[2];

/** Keywords dropped before type generation: identity, dialect and generator directives from the schema's author. */
const DROPPED_KEYWORDS = ['$id', '$schema', '$anchor', '$dynamicAnchor', '$comment', 'tsType', 'tsEnumNames', 'title'];

export async function emitTypes(ctx: EmitContext): Promise<GeneratedFile> {
  const { ir, names } = ctx;
  const renameNote = (kind: Rename['kind'], from: string): string | null => {
    const r = names.renames.find((x) => x.kind === kind && x.from === from);
    const written = definitionOf(r?.from ?? '')?.definition ?? r?.from;
    return r ? `Generated as \`${r.to}\` instead of \`${written}\`: ${r.reason}.` : null;
  };

  const defs: Record<string, JsonSchema> = {};
  const properties: Record<string, JsonSchema> = {};
  for (const schema of ir.schemas) {
    const title = names.schemaType.get(schema.name) as string;
    const origin = schema.origin === 'inline' ? '' : ` (from \`${schema.origin}\`)`;
    const definition = definitionOf(schema.name);
    defs[schema.name] = forTypes(schema.schema, title, [
      description(schema.schema),
      definition
        ? `Definition \`${definition.definition}\` of \`${schema.origin}\`.`
        : `Shared schema \`${schema.name}\`${origin}.`,
      renameNote('schema', schema.name),
    ]);
    properties[schema.name] = { $ref: `#/$defs/${schema.name}` };
  }
  for (const event of ir.events) {
    const title = names.eventType.get(event.name) as string;
    const facts = [`Payload of \`${event.name}\` (version ${event.version}`];
    if (event.key) facts.push(`, ordering key \`${event.key}\``);
    facts.push(').');
    defs[EVENT_KEY_PREFIX + event.name] = forTypes(event.payload, title, [
      event.description,
      description(event.payload),
      facts.join(''),
      renameNote('event', event.name),
    ]);
    properties[EVENT_KEY_PREFIX + event.name] = { $ref: `#/$defs/${EVENT_KEY_PREFIX}${event.name}` };
  }
  const root = { title: ROOT_TITLE, type: 'object', additionalProperties: false, properties, $defs: defs };

  let printed: string;
  try {
    // Cached (generate --watch) by the exact schema compiled; the options are constants.
    const compile = (): Promise<string> =>
      jsonSchemaToTs()(root as Parameters<ReturnType<typeof jsonSchemaToTs>>[0], ROOT_TITLE, COMPILE_OPTIONS);
    printed = ctx.cache ? await ctx.cache.memo('types', root, compile) : await compile();
  } catch (err) {
    throw new GenerateError(
      GENERATE_CODES.schema,
      `cannot generate TypeScript types: ${err instanceof Error ? err.message : String(err)}`,
      { file: ctx.source, line: 1, col: 1 },
    );
  }

  const expected = new Map<string, 'schema' | 'event'>();
  for (const t of names.schemaType.values()) expected.set(t, 'schema');
  for (const t of names.eventType.values()) expected.set(t, 'event');
  const byName = new Map<string, Declaration>();
  for (const decl of layoutDeclarations(printed)) {
    if (decl.name === ROOT_TITLE) continue;
    if (!expected.has(decl.name)) {
      throw new GenerateError(
        GENERATE_CODES.schema,
        `json-schema-to-typescript declared an unexpected type \`${decl.name}\`; a payload schema is shaped in a way eventform does not name yet`,
        { file: ctx.source, line: 1, col: 1 },
      );
    }
    byName.set(decl.name, decl);
  }

  const w = new CodeWriter();
  w.raw(codeBanner(ctx));
  w.line(`import type { EventEnvelope } from ${quote(ctx.runtimeImport)};`);

  if (ir.schemas.length > 0) {
    w.line().line('// Shared schemas');
    for (const schema of ir.schemas) {
      w.line().raw(declarationOf(byName, names.schemaType.get(schema.name) as string).text);
    }
  }
  if (ir.events.length > 0) {
    w.line().line('// Event payloads');
    for (const event of ir.events) {
      w.line().raw(declarationOf(byName, names.eventType.get(event.name) as string).text);
    }
  }

  w.line().line('// Names');
  w.line();
  w.doc('The payload type of every event, by event name.');
  w.block('export interface EventMap {', () => {
    for (const event of ir.events) {
      w.doc(event.description);
      w.line(`${propertyKey(event.name)}: ${names.eventType.get(event.name)};`);
    }
  });
  w.line();
  nameSet(w, {
    type: ['EventName', `The name of an event of the \`${ir.name}\` topology.`],
    constant: ['EventNames', 'Every event name as a constant: `EventNames.X === "X"`.'],
    entries: ir.events.map((e) => [e.name, e.name]),
    suffix: ' as const satisfies { readonly [K in EventName]: K }',
  });
  w.line();
  w.doc('The envelope of event `K` with its typed payload.');
  w.line('export type EventEnvelopeOf<K extends EventName> = EventEnvelope<K, EventMap[K]>;');
  w.line();
  nameSet(w, {
    type: ['ServiceName', `The name of a service of the \`${ir.name}\` topology.`],
    constant: ['ServiceNames', 'Every service name as a constant, keyed by its camelCase form.'],
    entries: ir.services.map((s) => [camelCase(s.name), s.name]),
    suffix: ' as const',
  });
  w.line();
  w.doc('The id (`service.handler`) of a consumer of the topology.');
  unionAlias(
    w,
    'ConsumerId',
    ir.consumers.map((c) => quote(c.id)),
  );
  for (const service of ir.services) {
    const sn = names.services.get(service.name);
    if (!sn) continue;
    w.line();
    w.doc(`The events \`${service.name}\` may publish.`);
    unionAlias(w, sn.produces, service.produces.map(quote));
  }
  return { path: 'types.ts', contents: w.toString() };
}

/** The payload or shared schema, prepared for json-schema-to-typescript. */
function forTypes(schema: JsonSchema, title: string, docs: (string | null)[]): JsonSchema {
  const text = docs.filter((d): d is string => typeof d === 'string' && d.trim() !== '').join('\n\n');
  const named = (root: { [keyword: string]: unknown }): { [keyword: string]: unknown } => {
    root['title'] = title;
    if (text) root['description'] = text;
    else delete root['description'];
    return root;
  };
  // Boolean schemas: `true` accepts any JSON value, `false` none. (Our own `tsType`; the
  // author's are dropped below.)
  if (typeof schema === 'boolean') return named({ tsType: schema ? 'unknown' : 'never' });
  // One pass: every node loses the dropped keywords, the root gets its name and docs, then a ref
  // with siblings becomes an allOf.
  return mapSchema(schema, (node, depth) => {
    for (const keyword of DROPPED_KEYWORDS) delete node[keyword];
    return refWithSiblingsToAllOf(depth === 0 ? named(node) : node);
  });
}

/**
 * `{ $ref, ...siblings }` → `{ ...siblings, allOf: [{ $ref }] }`. With siblings (a description,
 * or our title on a payload that is a bare ref) the ref parser would copy the target, and the
 * copy would be declared a second time (`Money1`); `allOf` keeps the reference by name.
 */
function refWithSiblingsToAllOf(node: { [keyword: string]: unknown }): JsonSchema {
  if (typeof node['$ref'] !== 'string' || Object.keys(node).length === 1) return node;
  const { $ref, allOf, ...rest } = node;
  return { ...rest, allOf: [{ $ref }, ...(Array.isArray(allOf) ? allOf : [])] };
}

function description(schema: JsonSchema): string | null {
  return typeof schema === 'object' && typeof schema['description'] === 'string' ? schema['description'] : null;
}

function declarationOf(byName: Map<string, Declaration>, name: string): Declaration {
  const decl = byName.get(name);
  if (!decl) {
    throw new GenerateError(GENERATE_CODES.schema, `json-schema-to-typescript did not declare \`${name}\``);
  }
  return decl;
}

/**
 * A set of names as a union type and as a constant object (key → name), each with its doc comment:
 * `type EventName = 'A' | 'B'` and `const EventNames = { A: 'A', B: 'B' }`.
 */
function nameSet(
  w: CodeWriter,
  set: { type: [string, string]; constant: [string, string]; entries: [string, string][]; suffix: string },
): void {
  w.doc(set.type[1]);
  unionAlias(
    w,
    set.type[0],
    set.entries.map(([, name]) => quote(name)),
  );
  w.line();
  w.doc(set.constant[1]);
  constObject(w, set.constant[0], set.entries, set.suffix);
}

function constObject(w: CodeWriter, name: string, entries: readonly [string, string][], suffix: string): void {
  if (entries.length === 0) {
    w.line(`export const ${name} = {}${suffix};`);
    return;
  }
  w.block(
    `export const ${name} = {`,
    () => {
      for (const [key, value] of entries) w.line(`${propertyKey(key)}: ${quote(value)},`);
    },
    `}${suffix};`,
  );
}
