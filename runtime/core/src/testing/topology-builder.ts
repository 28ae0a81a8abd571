/**
 * Build a valid {@link TopologyIR} in code, for tests (the conformance suite builds one per test).
 * It resolves defaults, derives broker resource names with the documented mapping, rewrites
 * `$ref: '#/schemas/X'` to `#/$defs/X`, computes `refs` transitively and sorts every collection —
 * the same shape the generator's loader produces from `topology.yaml`.
 *
 * @example
 * const topology = buildTopology({
 *   name: uniqueTopologyName('orders'),
 *   events: { OrderCreated: { key: 'orderId', payload: { type: 'object', required: ['orderId'], properties: { orderId: { type: 'string' } } } } },
 *   services: {
 *     'order-service': { produces: ['OrderCreated'] },
 *     'mail-service': { consumes: { sendMail: { event: 'OrderCreated', retry: { attempts: 3, delay: 100 } } } },
 *   },
 * });
 */
import { createHash, randomBytes } from 'node:crypto';
import { TOPOLOGY_BUILDER_DEFAULTS as D } from '../defaults.js';
import type {
  BackoffKind,
  Compatibility,
  ConsumerIR,
  ContentMode,
  EventIR,
  IdempotencyIR,
  JsonSchema,
  QueueType,
  RetryPolicyIR,
  SchemaIR,
  IdempotencyStoreKind,
  ServiceIR,
  SourceLocation,
  TopologyIR,
} from '../ir.js';

/** A duration: milliseconds, or a string such as `250ms`, `5s`, `1m`, `2h`, `7d`. */
export type DurationSpec = number | string;

export interface RetrySpec {
  attempts?: number;
  backoff?: BackoffKind;
  delay?: DurationSpec;
  maxDelay?: DurationSpec;
  jitter?: number;
}

export interface IdempotencySpec {
  enabled?: boolean;
  /** Payload field used as dedupe key; absent/`null` = the event id. */
  key?: string | null;
  window?: DurationSpec;
}

export interface ConsumerSpec {
  event: string | string[];
  retry?: RetrySpec;
  deadLetter?: boolean;
  /** `false` disables deduplication. */
  idempotency?: IdempotencySpec | false;
  concurrency?: number;
}

export interface ServiceSpec {
  description?: string;
  /** @default 'memory' */
  store?: IdempotencyStoreKind;
  produces?: string[];
  consumes?: Record<string, ConsumerSpec>;
}

export interface EventSpec {
  payload: JsonSchema;
  key?: string | null;
  version?: number;
  description?: string;
  examples?: unknown[];
  compatibility?: Compatibility;
  /** @default `defaults.contentMode`, else 'binary' */
  contentMode?: ContentMode;
}

export interface TopologySpec {
  name: string;
  version?: number;
  defaults?: {
    retry?: RetrySpec;
    deadLetter?: boolean;
    idempotency?: IdempotencySpec | false;
    concurrency?: number;
    contentMode?: ContentMode;
  };
  schemas?: Record<string, JsonSchema>;
  events: Record<string, EventSpec>;
  services: Record<string, ServiceSpec>;
  kafka?: { partitions?: number; replicationFactor?: number; minInsyncReplicas?: number };
  rabbitmq?: { queueType?: QueueType };
}

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `250ms` → 250, `5s` → 5000, a number → itself. */
export function parseDuration(value: DurationSpec): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`Invalid duration ${value}`);
    return value;
  }
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(value.trim());
  if (!match) throw new RangeError(`Invalid duration "${value}" (expected e.g. 250ms, 5s, 1m, 2h, 7d)`);
  return Math.round(Number(match[1]) * UNITS[match[2]!]!);
}

/** 250 → `250ms`, 1000 → `1s`, 120000 → `2m` (the largest whole unit; as the generator names retry queues). */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = UNITS[unit]!;
    if (ms !== 0 && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** A topology name unique to this run: `<prefix>-<8 hex>`. */
export function uniqueTopologyName(prefix = 'test'): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

const LOC: SourceLocation = { file: '<topology-builder>', line: 1, col: 1 };
const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** Delays before attempts 2..n, capped, without jitter. */
export function retryDelays(attempts: number, backoff: BackoffKind, delayMs: number, maxDelayMs: number): number[] {
  const delays: number[] = [];
  for (let n = 0; n < attempts - 1; n++) {
    delays.push(Math.min(backoff === 'exponential' ? delayMs * 2 ** n : delayMs, maxDelayMs));
  }
  return delays;
}

function retryPolicy(spec: RetrySpec | undefined, defaults: RetrySpec | undefined): RetryPolicyIR {
  const attempts = spec?.attempts ?? defaults?.attempts ?? D.retry.attempts;
  const backoff = spec?.backoff ?? defaults?.backoff ?? D.retry.backoff;
  const delayMs = parseDuration(spec?.delay ?? defaults?.delay ?? D.retry.delayMs);
  const maxDelayMs = parseDuration(spec?.maxDelay ?? defaults?.maxDelay ?? Math.max(D.retry.maxDelayMs, delayMs));
  const jitter = spec?.jitter ?? defaults?.jitter ?? D.retry.jitter;
  if (!Number.isInteger(attempts) || attempts < 1)
    throw new RangeError(`retry.attempts must be a positive integer, got ${attempts}`);
  return {
    attempts,
    backoff,
    delayMs,
    maxDelayMs,
    jitter,
    delaysMs: retryDelays(attempts, backoff, delayMs, maxDelayMs),
  };
}

function idempotency(
  spec: IdempotencySpec | false | undefined,
  defaults: IdempotencySpec | false | undefined,
): IdempotencyIR {
  if (spec === false || (spec === undefined && defaults === false))
    return { enabled: false, key: null, windowMs: D.idempotency.windowMs };
  const base = defaults || {};
  return {
    enabled: spec?.enabled ?? base.enabled ?? D.idempotency.enabled,
    key: spec?.key ?? null,
    windowMs: parseDuration(spec?.window ?? base.window ?? D.idempotency.windowMs),
  };
}

/** Rewrite `#/schemas/X` refs to `#/$defs/X`, collecting the names referenced. */
function rewriteRefs(schema: JsonSchema, found: Set<string>): JsonSchema {
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (node === null || typeof node !== 'object') return node;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') {
        const m = /^#\/(?:schemas|\$defs)\/([^/]+)$/.exec(v);
        if (m) {
          found.add(m[1]!);
          out[k] = `#/$defs/${m[1]}`;
          continue;
        }
      }
      out[k] = walk(v);
    }
    return out;
  };
  return walk(schema) as JsonSchema;
}

/** Build a topology IR from a compact spec. Throws on references to unknown events or schemas. */
export function buildTopology(spec: TopologySpec): TopologyIR {
  const name = spec.name;
  if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new RangeError(`Topology name "${name}" must be kebab-case`);
  const kafkaDefaults = {
    partitions: spec.kafka?.partitions ?? D.kafka.partitions,
    replicationFactor: spec.kafka?.replicationFactor ?? D.kafka.replicationFactor,
    minInsyncReplicas: spec.kafka?.minInsyncReplicas ?? D.kafka.minInsyncReplicas,
  };
  const queueType = spec.rabbitmq?.queueType ?? D.rabbitmq.queueType;
  const exchange = `${name}.events`;

  // Shared schemas and their transitive references.
  const schemaRefs = new Map<string, Set<string>>();
  const schemas: SchemaIR[] = Object.entries(spec.schemas ?? {}).map(([schemaName, schema]) => {
    const found = new Set<string>();
    const rewritten = rewriteRefs(schema, found);
    schemaRefs.set(schemaName, found);
    return { name: schemaName, schema: rewritten, origin: 'inline', loc: LOC };
  });
  const closure = (direct: Set<string>, owner: string): string[] => {
    const all = new Set<string>();
    const stack = [...direct];
    while (stack.length > 0) {
      const next = stack.pop()!;
      if (all.has(next)) continue;
      const refs = schemaRefs.get(next);
      if (!refs) throw new Error(`${owner} references unknown schema "${next}"`);
      all.add(next);
      stack.push(...refs);
    }
    return [...all].sort();
  };
  for (const [schemaName, refs] of schemaRefs) closure(refs, `Schema ${schemaName}`);

  const consumers: ConsumerIR[] = [];
  const services: ServiceIR[] = [];
  for (const [serviceName, service] of Object.entries(spec.services)) {
    const ids: string[] = [];
    for (const [handler, c] of Object.entries(service.consumes ?? {})) {
      const id = `${serviceName}.${handler}`;
      const events = [...new Set(Array.isArray(c.event) ? c.event : [c.event])].sort();
      for (const e of events) if (!spec.events[e]) throw new Error(`Consumer ${id} consumes unknown event "${e}"`);
      const retry = retryPolicy(c.retry, spec.defaults?.retry);
      const deadLetter = c.deadLetter ?? spec.defaults?.deadLetter ?? D.deadLetter;
      const queue = `${name}.${serviceName}.${handler}`;
      const distinctDelays = [...new Set(retry.delaysMs)].sort((a, b) => a - b);
      consumers.push({
        id,
        service: serviceName,
        handler,
        events,
        retry,
        deadLetter,
        idempotency: idempotency(c.idempotency, spec.defaults?.idempotency),
        concurrency: c.concurrency ?? spec.defaults?.concurrency ?? D.concurrency,
        rabbitmq: {
          queue,
          queueType,
          retryQueues: distinctDelays.map((delayMs) => ({
            name: `${queue}.retry.${formatDuration(delayMs)}`,
            delayMs,
          })),
          deadLetterQueue: deadLetter ? `${queue}.dlq` : null,
        },
        kafka: {
          groupId: queue,
          retryTopic: retry.attempts > 1 ? `${queue}.retry` : null,
          deadLetterTopic: deadLetter ? `${queue}.dlq` : null,
        },
        loc: LOC,
      });
      ids.push(id);
    }
    const produces = [...new Set(service.produces ?? [])].sort();
    for (const e of produces)
      if (!spec.events[e]) throw new Error(`Service ${serviceName} produces unknown event "${e}"`);
    services.push({
      name: serviceName,
      description: service.description ?? null,
      store: service.store ?? 'memory',
      produces,
      consumers: ids.sort(),
      loc: LOC,
    });
  }
  consumers.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

  const events: EventIR[] = Object.entries(spec.events).map(([eventName, e]) => {
    const found = new Set<string>();
    const payload = rewriteRefs(e.payload, found);
    return {
      name: eventName,
      description: e.description ?? null,
      version: e.version ?? D.eventVersion,
      key: e.key ?? null,
      payload,
      refs: closure(found, `Event ${eventName}`),
      examples: e.examples ?? [],
      compatibility: e.compatibility ?? 'backward',
      contentMode: e.contentMode ?? spec.defaults?.contentMode ?? D.contentMode,
      producers: services.filter((s) => s.produces.includes(eventName)).map((s) => s.name),
      consumers: consumers.filter((c) => c.events.includes(eventName)).map((c) => c.id),
      rabbitmq: { exchange, routingKey: eventName },
      kafka: {
        topic: `${name}.${eventName}`,
        partitions: kafkaDefaults.partitions,
        replicationFactor: kafkaDefaults.replicationFactor,
        configs: { 'min.insync.replicas': String(kafkaDefaults.minInsyncReplicas) },
      },
      loc: LOC,
    };
  });

  const body = {
    irVersion: 1 as const,
    name,
    version: spec.version ?? D.version,
    schemas: schemas.sort(byName),
    events: events.sort(byName),
    services: services.sort(byName),
    consumers,
  };
  return {
    irVersion: 1,
    name,
    version: body.version,
    sourceFile: '<topology-builder>',
    sourceHash: createHash('sha256').update(JSON.stringify(body)).digest('hex'),
    schemas: body.schemas,
    events: body.events,
    services: body.services,
    consumers,
    rabbitmq: { exchange, queueType },
    kafka: kafkaDefaults,
  };
}
