/**
 * `index.ts`: the entry point. Re-exports every generated module and adds
 * `create<Topology>Runtime(options?)`, which is `createRuntime` with the generated topology and
 * validators filled in.
 */
import { quote } from '../naming.js';
import { CodeWriter } from './code.js';
import { codeBanner, type EmitContext, type GeneratedFile } from './context.js';

export function emitIndex(ctx: EmitContext): GeneratedFile {
  const { ir, names } = ctx;
  const w = new CodeWriter();
  w.raw(codeBanner(ctx));
  w.line(`import { createRuntime } from ${quote(ctx.runtimeImport)};`);
  w.line(`import type { Runtime, RuntimeOptions } from ${quote(ctx.runtimeImport)};`);
  w.line("import { topology } from './topology.js';");
  w.line("import { validators } from './validators.js';");
  w.line();
  w.line("export * from './types.js';");
  w.line("export * from './producers.js';");
  w.line("export * from './handlers.js';");
  w.line("export { topology } from './topology.js';");
  w.line("export { createValidators, validators } from './validators.js';");
  w.line();
  w.doc(`Options of \`${names.runtimeFactory}\`: those of \`createRuntime\` except the topology, which is fixed.`);
  w.line(`export type ${names.runtimeOptions} = Omit<RuntimeOptions, 'topology'>;`);
  w.line();
  w.doc([
    `A runtime for the \`${ir.name}\` topology with the validators compiled at generation time.`,
    '@example\n' + `const runtime = ${names.runtimeFactory}(); // in-memory transport\n` + 'await runtime.start();',
  ]);
  w.block(`export function ${names.runtimeFactory}(options: ${names.runtimeOptions} = {}): Runtime {`, () =>
    w.line('return createRuntime({ ...options, topology, validators: options.validators ?? validators });'),
  );
  return { path: 'index.ts', contents: w.toString() };
}
