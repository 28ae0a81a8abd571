/**
 * Payload validation. Generated code passes a {@link ValidatorMap} (ajv standalone output); without
 * one, the runtime compiles validators from the IR once, at start-up — never per message.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { FormatsPlugin } from 'ajv-formats';
import type { AnySchema } from 'ajv/dist/2020.js';
import { PAYLOAD_AJV_OPTIONS } from './ajv-runtime.js';
import type { ValidateFn, ValidatorMap } from './api.js';
import type { ValidationIssue } from './errors.js';
import type { EventIR, JsonSchema, TopologyIR } from './ir.js';

// ajv-formats is CommonJS; under NodeNext its default import is the module object.
const addFormats: FormatsPlugin =
  (addFormatsModule as unknown as { default?: FormatsPlugin }).default ??
  (addFormatsModule as unknown as FormatsPlugin);

/**
 * A self-contained JSON Schema for an event's payload: the payload plus a `$defs` entry for every
 * shared schema it references (IR `refs` is already transitive).
 */
export function assembleEventSchema(topology: TopologyIR, event: EventIR): JsonSchema {
  const defs: Record<string, JsonSchema> = {};
  for (const name of event.refs) {
    const shared = topology.schemas.find((s) => s.name === name);
    if (!shared) throw new Error(`Event ${event.name} references unknown schema "${name}"`);
    defs[name] = shared.schema;
  }
  if (typeof event.payload === 'boolean') {
    return event.refs.length === 0 ? event.payload : { allOf: [event.payload], $defs: defs };
  }
  if (event.refs.length === 0) return event.payload;
  const existing = (event.payload['$defs'] as Record<string, JsonSchema> | undefined) ?? {};
  return { ...event.payload, $defs: { ...defs, ...existing } };
}

const cache = new WeakMap<TopologyIR, Record<string, ValidateFn>>();

// Building an Ajv instance (meta-schemas, formats) costs ~200 ms; payload schemas carry no `$id`, so
// one instance serves every topology without clashes.
let ajvInstance: Ajv2020 | undefined;
function sharedAjv(): Ajv2020 {
  if (!ajvInstance) {
    ajvInstance = new Ajv2020({ ...PAYLOAD_AJV_OPTIONS });
    addFormats(ajvInstance);
  }
  return ajvInstance;
}

/**
 * Validators for every event of the topology, compiled with ajv (draft 2020-12 + formats). The
 * result is cached per IR object, so several runtimes over one topology compile once.
 */
export function compileValidators(topology: TopologyIR): ValidatorMap {
  const cached = cache.get(topology);
  if (cached) return cached;
  const ajv = sharedAjv();
  const validators: Record<string, ValidateFn> = {};
  for (const event of topology.events) {
    const schema = assembleEventSchema(topology, event) as AnySchema;
    validators[event.name] = ajv.compile(schema) as ValidateFn;
    // The compiled function stands alone; dropping ajv's cache entry keeps the shared instance small.
    if (typeof schema === 'object') ajv.removeSchema(schema);
  }
  cache.set(topology, validators);
  return validators;
}

/** `validators`, completed with ajv-compiled ones for events it lacks. */
export function resolveValidators(topology: TopologyIR, validators?: ValidatorMap): ValidatorMap {
  if (!validators) return compileValidators(topology);
  if (topology.events.every((e) => validators[e.name])) return validators;
  const compiled = compileValidators(topology);
  const merged: Record<string, ValidateFn> = {};
  for (const event of topology.events) merged[event.name] = validators[event.name] ?? compiled[event.name]!;
  return merged;
}

/** Run a validator; `null` when valid, otherwise the issues (copied: ajv reuses its array). */
export function validatePayload(validate: ValidateFn, payload: unknown): ValidationIssue[] | null {
  if (validate(payload)) return null;
  return (validate.errors ?? []).map((e) => {
    const issue: ValidationIssue = { instancePath: e.instancePath, message: e.message ?? 'is invalid' };
    if (e.keyword !== undefined) issue.keyword = e.keyword;
    if (e.params !== undefined) issue.params = e.params;
    return issue;
  });
}
