/**
 * What the hostile wire tests share, whichever broker they attack: the victim topology (a
 * recursive payload schema and a dedupe key that may be anything), deeply nested JSON, and the
 * headers of a valid event as a producer sends them.
 */
import { encodeEnvelope } from '@eventform/runtime';
import type { EventEnvelope, TopologyIR } from '@eventform/runtime';
import { uniqueTopologyName } from '@eventform/runtime/testing';
import { topologyFromDocument } from '../../generator/src/spec/index.js';

/**
 * Nested: a recursive array schema; Order: its `ref` field is the dedupe key. `retry` is each
 * consumer's retry section; `extra` adds top-level sections (a broker's own settings).
 */
export function hostileTopology(options: {
  name: string;
  retry: Record<string, unknown>;
  extra?: Record<string, unknown>;
}): TopologyIR {
  const { retry } = options;
  return topologyFromDocument({
    topology: uniqueTopologyName(options.name),
    ...options.extra,
    schemas: { Nested: { type: 'array', items: { $ref: '#/schemas/Nested' } } },
    events: {
      Tree: {
        key: 'id',
        payload: {
          type: 'object',
          required: ['id'],
          properties: { id: { type: 'string' }, tree: { $ref: '#/schemas/Nested' } },
        },
      },
      Order: {
        key: 'orderId',
        payload: { type: 'object', required: ['orderId', 'ref'], properties: { orderId: { type: 'string' }, ref: {} } },
      },
    },
    services: {
      producer: { produces: ['Tree', 'Order'] },
      victim: {
        consumes: {
          onTree: { event: 'Tree', retry },
          onOrder: { event: 'Order', retry, idempotency: { key: 'ref' } },
        },
      },
    },
  });
}

/** JSON arrays nested `levels` deep. */
export const nested = (levels: number): string => '['.repeat(levels) + ']'.repeat(levels);

/** The logical headers a valid event of `type` carries, as a producer would send them. */
export function headersOf(type: string, id: string): Record<string, string> {
  const envelope: EventEnvelope = {
    id,
    type,
    source: 'producer',
    specversion: '1.0',
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    correlationId: `corr-${id}`,
    causationId: null,
    eventVersion: 1,
    data: null,
  };
  return encodeEnvelope(envelope).headers;
}
