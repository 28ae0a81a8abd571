/**
 * The entry point `eventform scaffold` writes for one service, `<dir>/<service>/main.ts`: pick the
 * transport from the environment, wire the idempotency store the topology names for the service
 * (`store: memory | postgres`, said in the `ready` log line: no silent fallback), create the
 * topology's runtime, register the service's handlers, start consuming for this service only,
 * log `ready`, and stop gracefully on SIGINT/SIGTERM. No top-level await: the file compiles as an
 * ES module and as CommonJS.
 *
 * Pure: IR and names in, text out. The file is user-owned once written.
 */
import type { TopologyIR } from '@eventform/runtime';
import { CodeWriter, printLiteral } from '../emit/code.js';
import { escapeLineComment, quote, type Names } from '../naming.js';
import { POSTGRES_PACKAGE } from '../project/package-json.js';
import { lineComment } from './comment.js';

export interface MainInput {
  /** The IR as generated (relative source paths). */
  ir: TopologyIR;
  names: Names;
  service: string;
  /** Module specifier of the generated entry point, relative to main.ts (`../../generated/index.js`). */
  generatedImport: string;
  /** @example '@eventform/runtime' */
  runtimeImport: string;
  /** How the user runs this file, for the header comment (`npx tsx services/x/main.ts`). */
  runCommand: string;
}

export function renderMain(input: MainInput): string {
  const { ir, names, service } = input;
  const serviceIr = ir.services.find((s) => s.name === service);
  if (!serviceIr) throw new Error(`renderMain: no service ${service}`);
  const sn = names.services.get(service)!;
  const consumes = serviceIr.consumers.length > 0;
  const produces = serviceIr.produces.length > 0;

  const w = new CodeWriter();
  const serviceName = escapeLineComment(service);
  const postgres = serviceIr.store === 'postgres';
  w.raw(
    lineComment([
      `Entry point of ${serviceName}: yours to edit. Created by \`eventform scaffold\` from ${escapeLineComment(ir.sourceFile)}.`,
      `Run it with \`${escapeLineComment(input.runCommand)}\`. BROKER=memory|rabbitmq|kafka picks the broker ` +
        '(default memory; EVENTFORM_RABBITMQ_URL and KAFKA_BROKERS locate it), EVENTFORM_LOG the log level. ' +
        (postgres
          ? 'Processed events are remembered in PostgreSQL (store: postgres in the topology; DATABASE_URL or the PG* variables locate it). '
          : 'Processed events are remembered in memory (store: memory in the topology): for development, they are forgotten on restart; set store: postgres for production. ') +
        'SIGINT/SIGTERM stop it gracefully: consuming stops, in-flight handlers finish, connections close.',
    ]),
  );
  const runtimeValues = ['createJsonLogger', 'createTransportFromEnv'];
  if (!postgres) runtimeValues.push('createMemoryStore');
  w.line(`import { ${runtimeValues.sort().join(', ')} } from ${quote(input.runtimeImport)};`);
  if (postgres) w.line(`import { createPostgresStore } from ${quote(POSTGRES_PACKAGE)};`);
  const generatedValues = [names.runtimeFactory];
  if (produces) generatedValues.push(sn.createProducer);
  if (consumes) generatedValues.push(sn.register);
  w.line(`import { ${generatedValues.sort().join(', ')} } from ${quote(input.generatedImport)};`);
  if (consumes) w.line(`import { handlers } from './handlers.js';`);
  w.line();

  w.line(`const SERVICE = ${quote(service)};`);
  w.line('const logger = createJsonLogger({ fields: { service: SERVICE } });');
  w.line();
  w.doc('Log why the service cannot start and exit: a half-started service should not linger.');
  w.block('function exitOnError(what: string): (error: unknown) => never {', () => {
    w.block(
      'return (error) => {',
      () => {
        w.line('logger.error(what, { error });');
        w.line('process.exit(1);');
      },
      '};',
    );
  });
  w.line();
  w.doc(
    produces
      ? `Starts ${service} and returns its runtime and producer, for your own code (an HTTP route, a timer, ...) to publish with.`
      : `Starts ${service} and returns its runtime.`,
  );
  w.block('async function main() {', () => {
    w.line('const transport = await createTransportFromEnv({ logger, clientName: SERVICE });');
    if (postgres) {
      w.line(
        "const idempotencyStore = createPostgresStore({ connectionString: process.env['DATABASE_URL'], logger });",
      );
    } else {
      w.line('const idempotencyStore = createMemoryStore();');
    }
    w.line(`const runtime = ${names.runtimeFactory}({ transport, logger, idempotencyStore });`);

    if (consumes) w.line(`${sn.register}(runtime, handlers);`);
    if (produces) {
      w.line();
      w.doc([
        `Publishes the events ${service} produces (${serviceIr.produces.join(', ')}), as ${service}. Every payload is validated against its schema before anything is sent.`,
      ]);
      w.line(`const producer = ${sn.createProducer}(runtime);`);
      // Show a real payload when the topology has one: the first produced event with an example.
      const produced = serviceIr.produces.map((name) => ir.events.find((e) => e.name === name)!);
      const shown = produced.find((e) => e.examples.length > 0) ?? produced[0]!;
      const first = shown.name;
      const method = names.eventMethod.get(first)!;
      const example = shown.examples[0];
      w.line('// Publish from your own code (an HTTP route, a timer, ...), after `runtime.start()`:');
      if (example !== undefined) {
        const literal = printLiteral(example, 0, `//   await producer.${method}(`.length + 4);
        const lines = `await producer.${method}(${literal});`.split('\n');
        // printLiteral quotes every string (line breaks escaped), so each line is safe in a `//` comment.
        for (const l of lines) w.line(`//   ${l}`);
      } else {
        w.line(`//   await producer.${method}({ /* ${escapeLineComment(first)} payload */ });`);
      }
      if (consumes) w.line('// Inside a handler, use `ctx.publish` instead: it carries the correlation id on.');
    }

    w.line();
    w.line('// A service runs until it is told to stop, even on a transport that holds no socket open (memory).');
    w.line('const keepAlive = setInterval(() => {}, 2 ** 30);');
    w.line('let stopping = false;');
    w.doc('Stop gracefully on the first signal; a second one exits at once.');
    w.block(
      'const shutdown = async (signal: NodeJS.Signals): Promise<void> => {',
      () => {
        w.block('if (stopping) {', () => {
          w.line("logger.warn('second signal: exiting without waiting for in-flight handlers', { signal });");
          w.line('process.exit(1);');
        });
        w.line('stopping = true;');
        w.line('clearInterval(keepAlive);');
        w.line("logger.info('stopping', { signal });");
        w.block(
          'try {',
          () => {
            w.line('await runtime.stop();');
            w.line("logger.info('stopped');");
            w.line('process.exit(0);');
          },
          '} catch (error) {',
        );
        w.raw("  logger.error('shutdown failed', { error });\n  process.exit(1);");
        w.line('}');
      },
      '};',
    );
    w.line("process.on('SIGINT', (signal) => void shutdown(signal));");
    w.line("process.on('SIGTERM', (signal) => void shutdown(signal));");
    w.line();
    w.line('await runtime.start({ services: [SERVICE] });');
    w.block(
      "logger.info('ready', {",
      () => {
        w.line('transport: transport.name,');
        w.line('idempotencyStore: idempotencyStore.name,');
        w.line('consumers: runtime.health().consumers.map((c) => c.id),');
      },
      '});',
    );
    w.line(produces ? 'return { runtime, producer };' : 'return { runtime };');
  });
  w.line();
  w.line("main().catch(exitOnError('cannot start'));");

  return w.toString();
}
