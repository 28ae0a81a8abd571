/**
 * The helpers that validators compiled by ajv at generation time (a project's
 * `generated/validators.ts`) load at run time: ajv's runtime functions (`ucs2length` for string
 * lengths, `equal` for `const`/`enum`/`uniqueItems`, ...) and ajv-formats' format checks.
 *
 * ajv's standalone code calls `require("ajv/dist/runtime/ucs2length")`; the generator rewrites each
 * such call to `ajvRuntime("...")`, so generated code needs neither `require` (absent in ES
 * modules) nor `import.meta` (absent in CommonJS), nor `ajv` as a dependency of the project: the
 * modules resolve from this package, which depends on ajv and ajv-formats.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * The ajv options of every payload validator: the ones compiled at generation time, the loader's
 * example checks and the runtime's own compilation, so a payload gets the same verdict and the
 * same errors whichever validates it. `ownProperties`: a payload field named `constructor` (or
 * any name `Object.prototype` has) is present only when the payload has it itself.
 */
export const PAYLOAD_AJV_OPTIONS = {
  strict: false,
  allErrors: true,
  validateFormats: true,
  ownProperties: true,
} as const;

/** The module ids ajv's standalone output may load; anything else is refused. */
export const AJV_RUNTIME_MODULE = /^(?:ajv\/dist\/runtime\/[a-z0-9_]+|ajv-formats\/dist\/formats)$/i;

/**
 * The CommonJS module `id`, exactly as `require(id)` in ajv's standalone code would return it.
 * @throws Error for an id that is not one of ajv's run-time helpers
 */
export function ajvRuntime(id: string): unknown {
  if (!AJV_RUNTIME_MODULE.test(id)) throw new Error(`ajvRuntime: "${id}" is not an ajv run-time module`);
  return require(id) as unknown;
}
