/**
 * `validators.ts`: payload validators compiled AT GENERATION TIME with ajv's standalone code
 * generator, so importing them compiles nothing. A TypeScript file (not `.js` + `.d.ts`), so a
 * project's own `tsc` build compiles it with the rest of `generated/`, ESM or CommonJS alike; ajv's
 * code sits under `@ts-nocheck` and the exports carry explicit types.
 *
 * ajv set-up mirrors the loader's and the runtime's fallback (draft 2020-12, `allErrors`,
 * `strict: false`, ajv-formats' full formats), so a payload gets the same verdict and the same
 * errors whichever path validates it.
 *
 * One combined document holds every shared schema under its IR name (the payloads' own
 * `#/$defs/<Name>` refs resolve as they are) and the payloads under a container key no schema
 * name can take; shared schemas are compiled once and reused by every event that refers to them.
 *
 * Standalone output refers to ajv's runtime helpers and to ajv-formats with CommonJS
 * `require("...")` even in ESM mode (`require("ajv/dist/runtime/ucs2length").default`). Each call
 * becomes `ajvRuntime("...")` from the runtime package, which serves exactly what `require` would
 * (see @eventform/runtime's ajv-runtime.ts): no `require` or `import.meta` in generated code, and
 * no ajv dependency in the project.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import standaloneModule from 'ajv/dist/standalone/index.js';
import addFormatsModule from 'ajv-formats';
import type { JsonSchema } from '@eventform/runtime';
import { AJV_RUNTIME_MODULE, PAYLOAD_AJV_OPTIONS } from '@eventform/runtime/ajv';
import { GENERATE_CODES, GenerateError, propertyKey, quote } from '../naming.js';
import { CodeWriter } from './code.js';
import { codeBanner, type EmitContext, type GeneratedFile } from './context.js';
import { mapSchema } from './schema-walk.js';

type StandaloneCode = (ajv: Ajv2020, refsOrFunctions: Record<string, string>) => string;
// Both are CommonJS with `exports.default`; under NodeNext the default import is the module.
const standaloneCode = ((standaloneModule as unknown as { default?: unknown }).default ??
  standaloneModule) as StandaloneCode;
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
  ajv: Ajv2020,
) => Ajv2020;

const EVENTS_KEY = 'eventform.events';
const META_SCHEMA_ID = 'https://json-schema.org/draft/2020-12/schema';
/** Body of every validator function ajv would evaluate while generating; never called. */
const NOT_EVALUATED = 'return function notEvaluated() { throw new Error("generation-time stand-in"); };';

export async function emitValidators(ctx: EmitContext): Promise<GeneratedFile[]> {
  const { ir, names } = ctx;
  const documentId = `urn:eventform:${ir.name}`;
  const shared: Record<string, JsonSchema> = {};
  for (const schema of ir.schemas) shared[schema.name] = withoutIdentity(schema.schema);
  const payloads: Record<string, JsonSchema> = {};
  for (const event of ir.events) payloads[event.name] = withoutIdentity(event.payload);
  const document = { $id: documentId, $defs: { ...shared, [EVENTS_KEY]: { $defs: payloads } } };

  const exportNames = new Map<string, string>();
  /** ajv's function for each event, read back from its exports. */
  const functionNames = new Map<string, string>();
  const refs: Record<string, string> = {};
  for (const event of ir.events) {
    const exportName = `validate${names.eventType.get(event.name)}`;
    exportNames.set(event.name, exportName);
    refs[exportName] = `${documentId}#/$defs/${EVENTS_KEY}/$defs/${pointerEscape(event.name)}`;
  }

  let code: string;
  try {
    // Cached (generate --watch) by the exact document and refs; every ajv option is a constant.
    const compile = (): string => standaloneValidators(document, refs);
    code = ctx.cache ? await ctx.cache.memo('validators', { document, refs }, compile) : compile();
  } catch (err) {
    throw new GenerateError(
      GENERATE_CODES.schema,
      `cannot compile payload validators: ${err instanceof Error ? err.message : String(err)}`,
      { file: ctx.source, line: 1, col: 1 },
    );
  }

  const body = runtimeHelpers(code.replace(/^"use strict";\s*/, '').trim());
  const ts = new CodeWriter();
  ts.raw(codeBanner(ctx));
  ts.line("// @ts-nocheck: ajv's standalone code below is plain JavaScript; the exports at the end carry the types.");
  ts.line('// Payload validators compiled at generation time by ajv (JSON Schema 2020-12, ajv-formats).');
  const usesHelpers = /\bajvRuntime\(/.test(body);
  ts.line(
    `import ${usesHelpers ? '{ ajvRuntime, type ValidateFn }' : 'type { ValidateFn }'} from ${quote(ctx.runtimeImport)};`,
  );
  if (body) ts.line().raw(body);
  ts.line();
  ts.doc('Payload validators by event name, compiled at generation time (no schema compilation at start-up).');
  ts.block(
    'export const validators: {',
    () => {
      for (const event of ir.events) ts.line(`readonly ${propertyKey(event.name)}: ValidateFn;`);
    },
    '} = Object.freeze({',
  );
  ts.indented(() => {
    for (const event of ir.events) ts.line(`${propertyKey(event.name)}: ${functionNames.get(event.name)},`);
  });
  ts.line('});');
  ts.line();
  ts.doc('The generated validators, for `createRuntime({ validators: createValidators() })`.');
  ts.block('export function createValidators(): typeof validators {', () => ts.line('return validators;'));

  return [{ path: 'validators.ts', contents: ts.toString() }];

  /**
   * ajv's `export const validateX = validate53;` lines, dropped: the map above exports every
   * validator with its type, which an untyped export in a `@ts-nocheck` file would not have.
   */
  function runtimeHelpers(source: string): string {
    return source
      .replace(/^export const (\w+) = (\w+);\n?/gm, (_line, exportName: string, fn: string) => {
        for (const [event, name] of exportNames) if (name === exportName) functionNames.set(event, fn);
        return '';
      })
      .replace(/\brequire\("([^"]*)"\)/g, (_call, id: string) => {
        if (!AJV_RUNTIME_MODULE.test(id)) {
          throw new GenerateError(GENERATE_CODES.schema, `ajv's standalone code loads an unexpected module "${id}"`, {
            file: ctx.source,
            line: 1,
            col: 1,
          });
        }
        return `ajvRuntime(${JSON.stringify(id)})`;
      });
  }
}

/**
 * ajv's standalone code for the validators `refs` names (export name → schema URI) in `document`;
 * the same text for the same arguments (a fresh ajv each call, its options constants).
 */
function standaloneValidators(document: { $id: string }, refs: Record<string, string>): string {
  const ajv = new Ajv2020({
    ...PAYLOAD_AJV_OPTIONS,
    logger: false,
    // The loader has checked every schema against the 2020-12 meta-schema; checking the combined
    // document again would only repeat that (see the explicit meta-schema compile below).
    validateSchema: false,
    // Shared schemas become one function each, called by every event that uses them, instead
    // of being inlined into each event: a fraction of the code for topologies that share.
    inlineRefs: false,
    // `optimize` (ajv's dead-code passes over generated code) costs a quarter of compile time
    // for ~15% smaller output; generation speed wins. `lines` keeps diffs readable.
    code: {
      source: true,
      esm: true,
      lines: true,
      optimize: false,
      // Standalone output is built from the generated source ajv keeps (`code.source`), so the
      // functions ajv would also evaluate in this process are never needed: skip that parse.
      process: (source, env) => (env?.root?.schema === document ? NOT_EVALUATED : source),
    },
  });
  addFormats(ajv);
  // Compiled (not run) exactly where the meta-schema check used to compile it: it takes the first
  // function and value names of ajv's scope, and the validators' names in the output follow them.
  ajv.getSchema(META_SCHEMA_ID);
  ajv.addSchema(document as object);
  // Each event is compiled here, in the order standaloneCode would, so its kept source can be
  // flattened right away; standaloneCode then finds every validator compiled.
  for (const ref of Object.values(refs)) flattenSource(ajv.getSchema(ref));
  return Object.keys(refs).length > 0 ? standaloneCode(ajv, refs) : '';
}

/**
 * ajv builds a validator's source by concatenating thousands of small pieces, which V8 keeps as a
 * tree of string fragments until something reads the characters; ajv keeps every source until
 * standaloneCode joins them, so each young-generation collection would copy those trees again
 * (a quarter of the validators' time on a large topology). Reading one character makes V8 flatten
 * the string in place into one block; the text is unchanged.
 */
function flattenSource(validate: { source?: { validateCode: string } } | undefined): void {
  validate?.source?.validateCode.charCodeAt(0);
}

/** `$id`/`$schema` inside the combined document would re-base the `#/$defs/...` refs below them. */
function withoutIdentity(schema: JsonSchema): JsonSchema {
  return mapSchema(schema, (node) => {
    delete node['$id'];
    delete node['$schema'];
    return node;
  });
}

function pointerEscape(token: string): string {
  return encodeURIComponent(token.replace(/~/g, '~0').replace(/\//g, '~1'));
}
