/**
 * Consumer stubs: one user-owned file per consuming service, `<stubs>/<service>/handlers.ts`,
 * exporting `handlers` typed with the generated `XxxHandlers` interface.
 *
 * Rules (graphql-codegen's `overwrite: false`, plus appending):
 * - a missing stub is created from the topology;
 * - an existing stub is never rewritten: handlers the topology gained are APPENDED to the
 *   `handlers` object literal with ts-morph (an insertion — every existing byte stays as it is);
 * - handlers the stub has but the topology lost are REPORTED, never deleted (the generated
 *   interface turns them into a compile error, which is the user's cue);
 * - a stub whose `handlers` object cannot be found is reported and left alone.
 *
 * Everything here is pure (text in, text out); generator/writer.ts reads and writes the files.
 * ts-morph (and with it the TypeScript compiler) is loaded only when a stub needs appending.
 */
import path from 'node:path';
import type { ConsumerIR, TopologyIR } from '@eventform/runtime';
import { escapeLineComment, quote, type Names } from '../naming.js';
import { CodeWriter } from '../emit/code.js';

/** What to do with one stub file. */
export interface StubPlan {
  service: string;
  /** Path of the stub file, as given (`<stubsDir>/<service>/handlers.ts`). */
  file: string;
  action: 'create' | 'append' | 'unchanged' | 'skipped';
  /** New contents for `create` and `append`. */
  contents?: string | undefined;
  /** Handlers appended (or written, on create). */
  added: string[];
  /** Handlers the stub implements that the topology no longer has. */
  removed: string[];
  warnings: string[];
}

export interface StubOptions {
  /** Directory holding one folder per service. */
  stubsDir: string;
  /** The generated output directory, for the import path. */
  outDir: string;
  /** Reads an existing stub; `undefined` when it does not exist. */
  read: (file: string) => string | undefined;
}

/** The stub file of `service`. */
export function stubFile(stubsDir: string, service: string): string {
  return path.join(stubsDir, service, 'handlers.ts');
}

/** Module specifier of the generated entry point as seen from `stubFileName`. */
export function generatedImport(stubFileName: string, outDir: string): string {
  let rel = path
    .relative(path.dirname(path.resolve(stubFileName)), path.resolve(outDir))
    .split(path.sep)
    .join('/');
  if (rel === '') rel = '.';
  if (!rel.startsWith('.')) rel = `./${rel}`;
  return `${rel}/index.js`;
}

/** Plan every stub of the topology: one per service with at least one consumer. */
export async function planStubs(ir: TopologyIR, names: Names, options: StubOptions): Promise<StubPlan[]> {
  const consumersById = new Map(ir.consumers.map((c) => [c.id, c]));
  const plans: StubPlan[] = [];
  for (const service of ir.services) {
    if (service.consumers.length === 0) continue;
    const consumers = service.consumers.map((id) => consumersById.get(id)!);
    const file = stubFile(options.stubsDir, service.name);
    const handlersType = names.services.get(service.name)!.handlers;
    const existing = options.read(file);
    if (existing === undefined) {
      plans.push({
        service: service.name,
        file,
        action: 'create',
        contents: renderStub(ir, service.name, handlersType, generatedImport(file, options.outDir), consumers),
        added: consumers.map((c) => c.handler),
        removed: [],
        warnings: [],
      });
      continue;
    }
    plans.push({ service: service.name, file, ...(await updateStub(existing, file, consumers)) });
  }
  return plans;
}

/** A new stub for `service`. */
export function renderStub(
  ir: TopologyIR,
  service: string,
  handlersType: string,
  importPath: string,
  consumers: readonly ConsumerIR[],
): string {
  const w = new CodeWriter();
  w.line(`// Handlers of ${escapeLineComment(service)}: yours to edit; eventform only appends new handlers.`);
  w.line(
    `// Created by \`eventform generate --stubs\` from ${escapeLineComment(ir.sourceFile)}. When the topology gains a`,
  );
  w.line('// handler it is appended to `handlers`; when it loses one, eventform reports it and the compiler flags it.');
  w.line(`import type { ${handlersType} } from ${quote(importPath)};`);
  w.line();
  w.block(
    `export const handlers: ${handlersType} = {`,
    () => {
      for (const consumer of consumers) {
        const method = handlerMethod(consumer);
        w.doc(method.doc);
        w.block(`async ${method.name}(event, ctx) {`, () => w.raw(method.body.join('\n')), '},');
      }
    },
    '};',
  );
  return w.toString();
}

/** The method appended or written for one consumer. */
function handlerMethod(consumer: ConsumerIR): { name: string; doc: string; body: string[] } {
  const doc = `\`${consumer.id}\`: ${consumer.events.join(', ')}.`;
  const warn = `ctx.logger.warn(${quote(`${consumer.id} is not implemented yet`)}, { id: event.id, type: event.type });`;
  if (consumer.events.length === 1) {
    return { name: consumer.handler, doc, body: [`// TODO: handle ${consumer.events[0]} (event.data).`, warn] };
  }
  const body = ['switch (event.type) {'];
  for (const e of consumer.events)
    body.push(`  case ${quote(e)}:`, `    // TODO: handle ${e} (event.data).`, '    break;');
  body.push('}', warn);
  return { name: consumer.handler, doc, body };
}

/**
 * Append the handlers `consumers` has and `existing` lacks to its `handlers` object literal.
 * Existing text is never changed, except the comma ts-morph adds after the previously last member.
 */
export async function updateStub(
  existing: string,
  fileName: string,
  consumers: readonly ConsumerIR[],
): Promise<Omit<StubPlan, 'service' | 'file'>> {
  const { Project, SyntaxKind, IndentationText, QuoteKind, Node } = await import('ts-morph');
  const detected = detectIndent(existing);
  const project = new Project({
    useInMemoryFileSystem: true,
    manipulationSettings: {
      indentationText:
        detected === '\t'
          ? IndentationText.Tab
          : detected === '    '
            ? IndentationText.FourSpaces
            : IndentationText.TwoSpaces,
      quoteKind: QuoteKind.Single,
    },
  });
  const source = project.createSourceFile('/stub.ts', existing);
  const declaration = source.getVariableDeclaration('handlers');
  let initializer = declaration?.getInitializer();
  // Accept `{ ... } satisfies X` and `{ ... } as X` too.
  while (initializer && (Node.isSatisfiesExpression(initializer) || Node.isAsExpression(initializer))) {
    initializer = initializer.getExpression();
  }
  const object = initializer?.asKind(SyntaxKind.ObjectLiteralExpression);
  if (!object) {
    return {
      action: 'skipped',
      added: [],
      removed: [],
      warnings: [`${fileName}: no \`handlers\` object literal found; stub left as it is`],
    };
  }

  const present = new Set<string>();
  for (const property of object.getProperties()) {
    if (
      Node.isPropertyAssignment(property) ||
      Node.isMethodDeclaration(property) ||
      Node.isShorthandPropertyAssignment(property)
    ) {
      present.add(property.getName().replace(/^['"]|['"]$/g, ''));
    }
  }
  const wanted = new Set(consumers.map((c) => c.handler));
  const removed = [...present].filter((name) => !wanted.has(name)).sort();
  const missing = consumers.filter((c) => !present.has(c.handler));

  for (const consumer of missing) {
    const method = handlerMethod(consumer);
    object.addMethod({
      name: method.name,
      isAsync: true,
      parameters: [{ name: 'event' }, { name: 'ctx' }],
      docs: [method.doc],
      statements: method.body.join('\n'),
    });
  }
  const warnings = removed.map(
    (name) => `${fileName}: handler \`${name}\` is no longer in the topology; delete it when you are done with it`,
  );
  if (missing.length === 0) return { action: 'unchanged', added: [], removed, warnings };
  return { action: 'append', contents: source.getFullText(), added: missing.map((c) => c.handler), removed, warnings };
}

/** Indentation of the first indented line: a tab, four spaces, or (default) two. */
function detectIndent(text: string): string {
  const match = /\n([ \t]+)\S/.exec(text);
  if (!match) return '  ';
  const indent = match[1] as string;
  if (indent.startsWith('\t')) return '\t';
  return indent.length >= 4 && indent.length % 4 === 0 ? '    ' : '  ';
}
