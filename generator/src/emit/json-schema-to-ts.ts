/**
 * json-schema-to-typescript's `compile`, loaded without the modules it loads but never calls here.
 *
 * - prettier: its formatter module requires prettier when it loads, and prettier's CommonJS entry
 *   then imports prettier's whole ESM build in the background (~700 KB: some 45 ms of main-thread
 *   compile in every `generate`). eventform always passes `format: false` (ts-layout.ts lays the
 *   output out), so prettier is never called.
 * - js-yaml, as required by its $ref parser (~15 ms): the parser's YAML plugin only parses
 *   referenced files, and eventform turns external resolution off.
 *
 * While json-schema-to-typescript loads, each resolves to an empty stand-in, which leaves the
 * require cache right after, so any later `require` gets the real module.
 */
import { createRequire, Module } from 'node:module';

type JsonSchemaToTs = typeof import('json-schema-to-typescript');

const require = createRequire(import.meta.url);
let loaded: JsonSchemaToTs['compile'] | undefined;

/** json-schema-to-typescript's `compile`; call it with `format: false` and external refs off only. */
export function jsonSchemaToTs(): JsonSchemaToTs['compile'] {
  if (loaded) return loaded;
  const entry = require.resolve('json-schema-to-typescript');
  const refParser = resolveFrom(entry, '@apidevtools/json-schema-ref-parser');
  const standIns = [resolveFrom(entry, 'prettier'), refParser && resolveFrom(refParser, 'js-yaml')].filter(
    (file): file is string => file !== undefined && require.cache[file] === undefined,
  );
  for (const file of standIns) {
    const m = new Module(file);
    m.filename = file;
    m.loaded = true;
    m.exports = {};
    require.cache[file] = m;
  }
  try {
    loaded = (require(entry) as JsonSchemaToTs).compile;
  } finally {
    for (const file of standIns) delete require.cache[file];
  }
  return loaded;
}

/** The file `id` resolves to from `file`'s package; undefined when not installed where it looks. */
function resolveFrom(file: string, id: string): string | undefined {
  try {
    return createRequire(file).resolve(id);
  } catch {
    return undefined;
  }
}
