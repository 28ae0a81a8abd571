/**
 * `producers.ts`: one typed producer per service that produces events.
 *
 * A producer is a thin wrapper over `Runtime.publish(service, event, payload, options)`: the
 * generic `publish` accepts only the service's `XxxProduces` names, each with its payload type
 * from `EventMap`, and there is one camelCase method per produced event. An undeclared event or
 * a payload of the wrong shape is a compile error; the runtime still validates every payload.
 */
import { quote } from '../naming.js';
import { CodeWriter } from './code.js';
import { codeBanner, type EmitContext, type GeneratedFile } from './context.js';

/** Parameters and result of every typed `publish`. */
export const PUBLISH_PARAMS = ['event: K', 'payload: EventMap[K]', 'options?: PublishOptions'] as const;
export const PUBLISH_RESULT = 'Promise<EventEnvelope<K, EventMap[K]>>';

export function emitProducers(ctx: EmitContext): GeneratedFile {
  const { ir, names } = ctx;
  const eventsByName = new Map(ir.events.map((e) => [e.name, e]));
  const producing = ir.services.filter((s) => s.produces.length > 0);

  const typeImports = new Set<string>(['EventMap']);
  for (const service of producing) {
    typeImports.add(names.services.get(service.name)!.produces);
    for (const event of service.produces) typeImports.add(names.eventType.get(event)!);
  }

  const w = new CodeWriter();
  w.raw(codeBanner(ctx));
  if (producing.length === 0) {
    w.line('// No service of this topology produces events.');
    w.line('export {};');
    return { path: 'producers.ts', contents: w.toString() };
  }
  w.line(`import type { EventEnvelope, PublishOptions, Runtime } from ${quote(ctx.runtimeImport)};`);
  importList(w, [...typeImports].sort(), './types.js');

  for (const service of producing) {
    const sn = names.services.get(service.name)!;
    const generic = `<K extends ${sn.produces}>`;

    w.line();
    w.doc([
      `Publishes the events of \`${service.name}\`: ${service.produces.map((e) => `\`${e}\``).join(', ')}.`,
      service.description,
      `Create one with \`${sn.createProducer}(runtime)\`. Every method validates the payload against its schema and ` +
        'rejects with `PublishValidationError` before anything is sent; inside a handler, correlation and causation ' +
        'ids are inherited from the event being handled.',
    ]);
    w.block(`export interface ${sn.producer} {`, () => {
      w.doc('The producing service: the `source` of every envelope it publishes.');
      w.line(`readonly service: ${quote(service.name)};`);
      w.doc('Publish any event this service produces.');
      w.signature(`publish${generic}`, PUBLISH_PARAMS, `: ${PUBLISH_RESULT};`);
      for (const eventName of service.produces) {
        const event = eventsByName.get(eventName)!;
        const type = names.eventType.get(eventName)!;
        w.doc([`Publish \`${eventName}\`.`, event.description]);
        w.signature(
          names.eventMethod.get(eventName)!,
          [`payload: ${type}`, 'options?: PublishOptions'],
          `: Promise<EventEnvelope<${quote(eventName)}, ${type}>>;`,
        );
      }
    });
    w.line();
    w.doc(`A typed producer publishing as \`${service.name}\` through \`runtime\`.`);
    w.block(`export function ${sn.createProducer}(runtime: Runtime): ${sn.producer} {`, () => {
      w.signature(`const publish = ${generic}`, PUBLISH_PARAMS, `: ${PUBLISH_RESULT} =>`);
      w.line(`  runtime.publish(${quote(service.name)}, event, payload, options) as ${PUBLISH_RESULT};`);
      w.block(
        'return {',
        () => {
          w.line(`service: ${quote(service.name)},`);
          w.line('publish,');
          for (const eventName of service.produces) {
            w.line(
              `${names.eventMethod.get(eventName)}: (payload, options) => publish(${quote(eventName)}, payload, options),`,
            );
          }
        },
        '};',
      );
    });
  }
  return { path: 'producers.ts', contents: w.toString() };
}

/** `import type { A, B } from '...';`, one name a line when it does not fit. */
export function importList(w: CodeWriter, identifiers: readonly string[], from: string): void {
  const flat = `import type { ${identifiers.join(', ')} } from ${quote(from)};`;
  if (flat.length <= 120) {
    w.line(flat);
    return;
  }
  w.block('import type {', () => identifiers.forEach((id) => w.line(`${id},`)), `} from ${quote(from)};`);
}
