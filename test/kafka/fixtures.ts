/**
 * Compact topologies for the Kafka tests, turned into IR by the generator's loader (the one IR
 * builder), with a random topology name so parallel test files never share topics. Payloads are
 * objects keyed by a required string `id` unless said otherwise; deduplication is off, so a test sees
 * every delivery the broker makes.
 */
import { uniqueTopologyName } from '@eventform/runtime/testing';
import type { ContentMode, TopologyIR } from '../../runtime/core/src/ir.js';
import { topologyFromDocument } from '../../generator/src/spec/index.js';

export interface EventSpec {
  name: string;
  contentMode?: ContentMode;
  /** @default 'id'; `null`: no key */
  key?: string | null;
  partitions?: number;
  configs?: Record<string, string>;
}

export interface ConsumerSpec {
  /** `service.handler` */
  id: string;
  events: string[];
  /** @default 3 */
  attempts?: number;
  /** Fixed retry delay. @default 200 */
  delayMs?: number;
  deadLetter?: boolean;
  concurrency?: number;
}

export interface TopologySpec {
  name?: string;
  events: EventSpec[];
  consumers?: ConsumerSpec[];
  kafka?: Partial<TopologyIR['kafka']>;
}

export const uniqueName = (prefix = 'kt'): string => uniqueTopologyName(prefix);

/** A payload (an object) and, when it has a key, the key field, required as the format wants. */
export function keyed(key: string | null | undefined): Record<string, unknown> {
  if (!key) return { payload: { type: 'object' } };
  return { key, payload: { type: 'object', required: [key], properties: { [key]: { type: 'string' } } } };
}

export function makeTopology(spec: TopologySpec): TopologyIR {
  const services: Record<string, { consumes: Record<string, unknown> }> = {};
  for (const c of spec.consumers ?? []) {
    const [service, handler] = c.id.split('.') as [string, string];
    const delay = `${c.delayMs ?? 200}ms`;
    (services[service] ??= { consumes: {} }).consumes[handler] = {
      event: c.events,
      retry: { attempts: c.attempts ?? 3, backoff: 'fixed', delay, maxDelay: delay },
      idempotency: { enabled: false },
      ...(c.deadLetter === undefined ? {} : { deadLetter: c.deadLetter }),
      ...(c.concurrency === undefined ? {} : { concurrency: c.concurrency }),
    };
  }
  return topologyFromDocument({
    topology: spec.name ?? uniqueName(),
    ...(spec.kafka ? { kafka: spec.kafka } : {}),
    events: Object.fromEntries(
      spec.events.map((e) => [
        e.name,
        {
          ...keyed(e.key === undefined ? 'id' : e.key),
          ...(e.contentMode ? { contentMode: e.contentMode } : {}),
          ...(e.partitions !== undefined || e.configs
            ? {
                kafka: {
                  ...(e.partitions !== undefined ? { partitions: e.partitions } : {}),
                  ...(e.configs ? { configs: e.configs } : {}),
                },
              }
            : {}),
        },
      ]),
    ),
    services: { producer: { produces: spec.events.map((e) => e.name) }, ...services },
  });
}

/**
 * The topology of the Kafka fault tests (broker crashes, a consumer crash): `source` produces
 * `Tick { key, n }`, keyed by `key`, over 6 partitions; `sink.record` handles it 8 at a time,
 * deduplicated by event id, retrying with exponential backoff from 200 ms up to `maxDelay`.
 */
export function tickTopology(prefix: string, retry: { attempts: number; maxDelay: string }): TopologyIR {
  return topologyFromDocument({
    topology: uniqueName(prefix),
    kafka: { partitions: 6, replicationFactor: 1, minInsyncReplicas: 1 },
    events: {
      Tick: {
        key: 'key',
        payload: {
          type: 'object',
          required: ['key', 'n'],
          properties: { key: { type: 'string' }, n: { type: 'integer' } },
        },
      },
    },
    services: {
      source: { produces: ['Tick'] },
      sink: {
        consumes: {
          record: { event: 'Tick', concurrency: 8, retry: { ...retry, backoff: 'exponential', delay: '200ms' } },
        },
      },
    },
  });
}
