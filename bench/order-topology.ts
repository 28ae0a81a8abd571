/**
 * The topology both broker benches run on the eventform side: one event, `OrderPlaced` (the shape
 * of `samplePayload`, keyed by `orderId`), produced by `order-service` and consumed by
 * `billing-service.charge`. Everything else is the topology defaults — idempotency on (in-memory
 * store), validation on, retries and a dead-letter queue declared — because that is what a real
 * consumer pays for.
 */
import type { ContentMode, JsonSchema, TopologyIR } from '../runtime/core/src/ir.js';
import { uniqueTopologyName } from '../runtime/core/src/testing/test-utils.js';
import { topologyFromDocument } from '../generator/src/spec/index.js';

export const BENCH_PRODUCER = 'order-service';
export const BENCH_EVENT = 'OrderPlaced';
export const BENCH_CONSUMER = 'billing-service.charge';

/** Matches `samplePayload` in support.ts; strict, so validation does real work. */
export const ORDER_PLACED_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['orderId', 'userId', 'total'],
  additionalProperties: false,
  properties: {
    orderId: { type: 'string', minLength: 1 },
    userId: { type: 'string', minLength: 1 },
    total: {
      type: 'object',
      required: ['amount', 'currency'],
      additionalProperties: false,
      properties: {
        amount: { type: 'number', minimum: 0 },
        currency: { type: 'string', enum: ['EUR', 'USD', 'GBP'] },
      },
    },
  },
};

export interface BenchTopologyOptions {
  /** Prefix of the unique topology name (a random suffix is added). */
  prefix: string;
  /** Handler concurrency of the consumer (= the raw side's prefetch / partitions consumed at once). */
  concurrency: number;
  /** Kafka partitions of the event topic. */
  partitions?: number;
  /** How the event travels (the topology's `contentMode`); the format's default when not given. */
  contentMode?: ContentMode;
}

export function benchTopology(options: BenchTopologyOptions): TopologyIR {
  return topologyFromDocument({
    topology: uniqueTopologyName(options.prefix),
    events: {
      [BENCH_EVENT]: {
        key: 'orderId',
        payload: ORDER_PLACED_SCHEMA,
        ...(options.contentMode === undefined ? {} : { contentMode: options.contentMode }),
      },
    },
    services: {
      [BENCH_PRODUCER]: { produces: [BENCH_EVENT] },
      'billing-service': { consumes: { charge: { event: BENCH_EVENT, concurrency: options.concurrency } } },
    },
    rabbitmq: { queueType: 'quorum' },
    ...(options.partitions === undefined ? {} : { kafka: { partitions: options.partitions } }),
  });
}
