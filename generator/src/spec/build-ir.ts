/**
 * RawTopology (already validated) → TopologyIR: defaults applied, broker resource names derived,
 * cross-references filled in, every collection sorted. Pure; no diagnostics.
 */
import type {
  ConsumerIR,
  EventIR,
  KafkaEventIR,
  SchemaIR,
  ServiceIR,
  SourceLocation,
  TopologyIR,
} from '@eventform/runtime';
import { DEFAULTS } from './defaults.js';
import { cmp, type Span } from './diagnostics.js';
import type { EffectivePolicies } from './policies.js';
import type { RawConsumer, RawTopology } from './raw-topology.js';
import type { ResolvedSchema, SharedSchema } from './schema-refs.js';
import { deadLetterName, resourceNames, retryQueueName, retryTopicName } from './resource-names.js';
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
  const names = resourceNames(raw, topologyName);
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
      const configs: Record<string, string> = {
        'min.insync.replicas': String(names.kafka.minInsyncReplicas),
        ...e.kafka.configs,
      };
      const kafka: KafkaEventIR = {
        topic: names.eventTopic(e),
        partitions: e.kafka.partitions?.value ?? names.kafka.partitions,
        replicationFactor: names.kafka.replicationFactor,
        configs: Object.fromEntries(Object.entries(configs).sort(([a], [b]) => cmp(a, b))),
      };
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
        rabbitmq: { exchange: names.exchange, routingKey: e.name },
        kafka,
        loc: loc(e.nameSpan),
      };
    })
    .sort(byName);

  const consumers: ConsumerIR[] = allConsumers.map((c): ConsumerIR => {
    const p = input.policies.get(c)!;
    const queue = names.consumerQueue(c);
    const group = names.consumerGroup(c);
    const distinct = unique(p.retry.delaysMs).sort((a, b) => a - b);
    const partitions = names.partitions(c);
    return {
      id: consumerId(c),
      service: c.service,
      handler: c.handler,
      events: unique(c.events.map((e) => e.value)).sort(cmp),
      retry: p.retry,
      deadLetter: p.deadLetter,
      idempotency: p.idempotency,
      concurrency: p.concurrency,
      rabbitmq: {
        queue,
        queueType: c.rabbitmq.queueType?.value ?? names.queueType,
        retryQueues: distinct.map((delayMs) => ({ name: retryQueueName(queue, delayMs), delayMs })),
        deadLetterQueue: p.deadLetter ? deadLetterName(queue) : null,
        // Only when set, so the IR of every other topology stays as it was.
        ...(partitions ? { partitions } : {}),
      },
      kafka: {
        groupId: group,
        retryTopic: p.retry.attempts > 1 ? retryTopicName(group) : null,
        deadLetterTopic: p.deadLetter ? deadLetterName(group) : null,
      },
      loc: loc(c.handlerSpan),
    };
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
    rabbitmq: { exchange: names.exchange, queueType: names.queueType },
    kafka: { ...names.kafka },
  };
}

function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}
