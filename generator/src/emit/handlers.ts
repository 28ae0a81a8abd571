/**
 * `handlers.ts`: the handler contract of every service that consumes events.
 *
 * Per service: `XxxContext` (the runtime's `HandlerContext` whose `publish` accepts only the
 * service's produced events), one envelope union type per handler (`XxxHandlerEvent`,
 * discriminated by `type`), the `XxxHandlers` interface the user implements, consumer id
 * constants, and `registerXxx` / `startXxx`. Handler members are function-typed properties, not
 * methods, so TypeScript checks their parameters contravariantly: a handler that accepts fewer
 * event types than the topology routes to it does not compile.
 */
import type { ConsumerIR } from '@eventform/runtime';
import { formatDuration } from '../spec/duration.js';
import { BROKER_SECTIONS } from '../spec/broker-sections.js';
import { memberAccess, propertyKey, quote } from '../naming.js';
import { CodeWriter, PRINT_WIDTH, unionAlias } from './code.js';
import { codeBanner, type EmitContext, type GeneratedFile } from './context.js';
import { importList, PUBLISH_PARAMS, PUBLISH_RESULT } from './producers.js';

export function emitHandlers(ctx: EmitContext): GeneratedFile {
  const { ir, names } = ctx;
  const consumersById = new Map(ir.consumers.map((c) => [c.id, c]));
  const consuming = ir.services.filter((s) => s.consumers.length > 0);

  const w = new CodeWriter();
  w.raw(codeBanner(ctx));
  if (consuming.length === 0) {
    w.line('// No service of this topology consumes events.');
    w.line('export {};');
    return { path: 'handlers.ts', contents: w.toString() };
  }

  const typeImports = new Set<string>(['EventMap']);
  for (const service of consuming) {
    typeImports.add(names.services.get(service.name)!.produces);
    for (const id of service.consumers) {
      for (const event of consumersById.get(id)!.events) typeImports.add(names.eventType.get(event)!);
    }
  }
  w.line(`import type { EventEnvelope, HandlerContext, PublishOptions, Runtime } from ${quote(ctx.runtimeImport)};`);
  importList(w, [...typeImports].sort(), './types.js');

  for (const service of consuming) {
    const sn = names.services.get(service.name)!;
    const consumers = service.consumers.map((id) => consumersById.get(id)!);

    w.line();
    w.line(`// ${service.name}`);
    w.line();
    w.doc(
      service.produces.length > 0
        ? `The context of \`${service.name}\` handlers: \`publish\` accepts only the events \`${service.name}\` produces; the new event inherits the handled event's correlation id and takes its id as causation id.`
        : `The context of \`${service.name}\` handlers. \`${service.name}\` produces no events, so \`publish\` accepts none.`,
    );
    w.block(`export interface ${sn.context} extends Omit<HandlerContext, 'publish'> {`, () => {
      w.signature(`publish<K extends ${sn.produces}>`, PUBLISH_PARAMS, `: ${PUBLISH_RESULT};`);
    });

    for (const consumer of consumers) {
      w.line();
      w.doc(`What \`${consumer.id}\` receives; switch on \`event.type\` to narrow \`event.data\`.`);
      const members = consumer.events.map((e) => `EventEnvelope<${quote(e)}, ${names.eventType.get(e)}>`);
      unionAlias(w, sn.handlerEvent.get(consumer.handler)!, members);
    }

    w.line();
    w.doc([
      `The handlers \`${service.name}\` implements, one per consumer. Register them with \`${sn.register}(runtime, handlers)\`.`,
      service.description,
      'A handler resolves when the event is processed (the runtime then acknowledges it) and throws to have it ' +
        'retried per its retry policy, then dead-lettered; throw `NonRetryableError` to dead-letter at once.',
    ]);
    w.block(`export interface ${sn.handlers} {`, () => {
      for (const consumer of consumers) {
        w.doc(consumerDoc(consumer));
        w.signature(
          `${propertyKey(consumer.handler)}: `,
          [`event: ${sn.handlerEvent.get(consumer.handler)}`, `ctx: ${sn.context}`],
          ' => Promise<void>;',
        );
      }
    });

    w.line();
    w.doc(`Consumer ids of \`${service.name}\`, by handler name.`);
    w.block(
      `export const ${sn.consumerIds} = {`,
      () => {
        for (const consumer of consumers) w.line(`${propertyKey(consumer.handler)}: ${quote(consumer.id)},`);
      },
      '} as const;',
    );

    w.line();
    w.doc(
      `Register every \`${service.name}\` handler with \`runtime\` (before \`runtime.start()\`). The runtime validates each payload before a handler sees it, so the casts below only restore the types it has checked.`,
    );
    w.block(`export function ${sn.register}(runtime: Runtime, handlers: ${sn.handlers}): void {`, () => {
      for (const consumer of consumers) {
        const call = `${memberAccess('handlers', consumer.handler)}(event as ${sn.handlerEvent.get(consumer.handler)}, ctx as ${sn.context})`;
        const oneLine = `runtime.handle(${quote(consumer.id)}, (event, ctx) => ${call});`;
        if (w.indentWidth + oneLine.length <= PRINT_WIDTH) {
          w.line(oneLine);
        } else {
          w.line(`runtime.handle(${quote(consumer.id)}, (event, ctx) =>`);
          w.line(`  ${call},`);
          w.line(');');
        }
      }
    });

    w.line();
    w.doc(`Register the \`${service.name}\` handlers and start consuming for \`${service.name}\` only.`);
    w.block(`export function ${sn.start}(runtime: Runtime, handlers: ${sn.handlers}): Promise<void> {`, () => {
      w.line(`${sn.register}(runtime, handlers);`);
      w.line(`return runtime.start({ services: [${quote(service.name)}] });`);
    });
  }
  return { path: 'handlers.ts', contents: w.toString() };
}

/** The delivery policy of a consumer, in one paragraph. */
function consumerDoc(consumer: ConsumerIR): string[] {
  const { retry, idempotency } = consumer;
  const events = consumer.events.map((e) => `\`${e}\``).join(', ');
  const retryText =
    retry.attempts <= 1
      ? 'no retry'
      : `${retry.attempts} attempts, ${retry.backoff} backoff from ${formatDuration(retry.delayMs)}` +
        (retry.backoff === 'exponential' ? ` up to ${formatDuration(retry.maxDelayMs)}` : '');
  const deadLetter = consumer.deadLetter
    ? `dead letters to \`${BROKER_SECTIONS.flatMap((b) => b.leftovers.deadLetters(consumer))[0] ?? 'its dead-letter queue'}\``
    : 'dead-lettering off (spent messages are logged and dropped)';
  const dedupe = idempotency.enabled
    ? `deduplicated by ${idempotency.key ? `\`${idempotency.key}\`` : 'event id'} for ${formatDuration(idempotency.windowMs)}`
    : 'no deduplication';
  return [
    `Consumer \`${consumer.id}\` of ${events}.`,
    `Retry: ${retryText}; ${deadLetter}; ${dedupe}; up to ${consumer.concurrency} in flight.`,
  ];
}
