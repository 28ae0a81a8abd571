/**
 * json-schema-to-typescript's `compile`, loaded without prettier.
 *
 * Its formatter module requires prettier when it loads, and prettier's CommonJS entry then
 * imports prettier's whole ESM build in the background (~700 KB: some 45 ms of main-thread
 * compile in every `generate`). eventform always passes `format: false` (ts-layout.ts lays the
 * output out), so prettier is never called: while json-schema-to-typescript loads, `prettier`
 * resolves to an empty stand-in, which leaves the require cache right after, so any later
 * `require('prettier')` gets the real one.
 */
import { createRequire, Module } from 'node:module';

type JsonSchemaToTs = typeof import('json-schema-to-typescript');

const require = createRequire(import.meta.url);
let loaded: JsonSchemaToTs['compile'] | undefined;

/** json-schema-to-typescript's `compile`; call it with `format: false` only. */
export function jsonSchemaToTs(): JsonSchemaToTs['compile'] {
  if (loaded) return loaded;
  const entry = require.resolve('json-schema-to-typescript');
  let prettier: string | undefined;
  try {
    prettier = createRequire(entry).resolve('prettier');
  } catch {
    // Not installed where json-schema-to-typescript looks: nothing to keep from loading.
  }
  const standIn = prettier !== undefined && require.cache[prettier] === undefined;
  if (standIn) {
    const m = new Module(prettier!);
    m.filename = prettier!;
    m.loaded = true;
    m.exports = {};
    require.cache[prettier!] = m;
  }
  try {
    loaded = (require(entry) as JsonSchemaToTs).compile;
  } finally {
    if (standIn) delete require.cache[prettier!];
  }
  return loaded;
}
