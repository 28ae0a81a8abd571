/**
 * RawTopology (already validated) → TopologyIR: defaults applied, broker resource names derived,
 * cross-references filled in, every collection sorted. Pure; no diagnostics.
 */
import type {
  ConsumerIR,
  EventIR,
  SchemaIR,
  SectionIR,
  ServiceIR,
  SourceLocation,
  TopologyIR,
} from '@eventform/runtime';
import { sectionInput } from './broker-section-input.js';
import { BROKER_SECTIONS } from './broker-sections.js';
import { DEFAULTS } from './defaults.js';
import { cmp, type Span } from './diagnostics.js';
import type { EffectivePolicies } from './policies.js';
import type { RawConsumer, RawTopology } from './raw-topology.js';
import type { ResolvedSchema, SharedSchema } from './schema-refs.js';
import { toPlain } from './yaml-tree.js';

export interface BuildInput {
  raw: RawTopology;
  topologyName: string;
  sourceHash: string;
  shared: ReadonlyMap<string, SharedSchema>;
  payloads: ReadonlyMap<string, ResolvedSchema & { refs: string[] }>;
  policies: ReadonlyMap<RawConsumer, EffectivePolicies>;
}

export function buildIR(input: BuildInput): TopologyIR {
  const { raw, topologyName } = input;
  // Each broker's part, built by its package; written after the broker-neutral fields, in
  // `BROKER_PACKAGES` order, and left out where the package leaves it undefined.
  const parts = BROKER_SECTIONS.map((section) => ({
    key: section.key,
    ir: section.build(sectionInput(section, raw, topologyName, input.policies)),
  }));
  const partsOf = (pick: (ir: SectionIR) => unknown): Record<string, unknown> =>
    Object.fromEntries(parts.map((p) => [p.key, pick(p.ir)]).filter(([, v]) => v !== undefined));
  const loc = (s: Span): SourceLocation => ({ file: s.file, line: s.line, col: s.col });
  const byName = <T extends { name: string }>(a: T, b: T) => cmp(a.name, b.name);
  const consumerId = (c: RawConsumer) => `${c.service}.${c.handler}`;
  // By id (`service.handler`) as plain strings; within one service that is handler order.
  const consumerOrder = (a: RawConsumer, b: RawConsumer) => cmp(consumerId(a), consumerId(b));

  const allConsumers = raw.services.flatMap((s) => s.consumers).sort(consumerOrder);

  const schemas: SchemaIR[] = [...input.shared.values()]
    .map((s) => ({ name: s.name, schema: s.schema, origin: s.origin, loc: loc(s.loc) }))
    .sort(byName);

  const events: EventIR[] = raw.events
    .map((e): EventIR => {
      const payload = input.payloads.get(e.name)!;
      return {
        name: e.name,
        description: e.description ?? null,
        version: e.version?.value ?? DEFAULTS.eventVersion,
        key: e.key?.value ?? null,
        payload: payload.schema,
        refs: payload.refs,
        examples: e.examples.map(toPlain),
        compatibility: e.compatibility?.value ?? raw.defaults.compatibility?.value ?? DEFAULTS.compatibility,
        contentMode: e.contentMode?.value ?? raw.defaults.contentMode?.value ?? DEFAULTS.contentMode,
        producers: unique(
          raw.services.filter((s) => s.produces.some((p) => p.value === e.name)).map((s) => s.name),
        ).sort(cmp),
        consumers: allConsumers.filter((c) => c.events.some((x) => x.value === e.name)).map(consumerId),
        ...partsOf((p) => p.events.get(e.name)),
        loc: loc(e.nameSpan),
      } as EventIR;
    })
    .sort(byName);

  const consumers: ConsumerIR[] = allConsumers.map((c): ConsumerIR => {
    const p = input.policies.get(c)!;
    return {
      id: consumerId(c),
      service: c.service,
      handler: c.handler,
      events: unique(c.events.map((e) => e.value)).sort(cmp),
      retry: p.retry,
      deadLetter: p.deadLetter,
      idempotency: p.idempotency,
      concurrency: p.concurrency,
      ...partsOf((part) => part.consumers.get(consumerId(c))),
      loc: loc(c.handlerSpan),
    } as ConsumerIR;
  });

  const services: ServiceIR[] = raw.services
    .map((s): ServiceIR => ({
      name: s.name,
      description: s.description ?? null,
      store: s.store?.value ?? DEFAULTS.store,
      produces: unique(s.produces.map((p) => p.value)).sort(cmp),
      consumers: [...s.consumers].sort(consumerOrder).map(consumerId),
      loc: loc(s.nameSpan),
    }))
    .sort(byName);

  return {
    irVersion: 1,
    name: topologyName,
    version: raw.version?.value ?? DEFAULTS.version,
    sourceFile: raw.file,
    sourceHash: input.sourceHash,
    schemas,
    events,
    services,
    consumers,
    ...partsOf((p) => p.root),
  } as TopologyIR;
}

function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}
