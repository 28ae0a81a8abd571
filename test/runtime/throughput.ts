/**
 * Throughput of the runtime over the memory transport: publish (validate, envelope, encode) →
 * deliver (decode, validate, idempotency, handler, ack). Used by throughput.test.ts and runnable
 * on its own: `npx tsx test/runtime/throughput-bench.ts`.
 */
import { createMemoryTransport, createRuntime, silentLogger } from '@eventform/runtime';
import { uniqueTopologyName } from '@eventform/runtime/testing';
import { topologyFromDocument } from '../../generator/src/spec/index.js';

export interface ThroughputResult {
  scenario: string;
  messages: number;
  deliveries: number;
  ms: number;
  deliveriesPerSecond: number;
  /** Process CPU time used (user + system): less sensitive than wall time to a busy machine. */
  cpuMs: number;
  deliveriesPerCpuSecond: number;
}

export async function measureThroughput(options: {
  messages: number;
  consumers: number;
  concurrency: number;
  awaitEach: boolean;
  keys: number;
}): Promise<ThroughputResult> {
  const handlers = Object.fromEntries(
    Array.from({ length: options.consumers }, (_, i) => [
      `h${i}`,
      { event: 'OrderPlaced', concurrency: options.concurrency },
    ]),
  );
  const topology = topologyFromDocument({
    topology: uniqueTopologyName('bench'),
    schemas: {
      Money: {
        type: 'object',
        required: ['amount', 'currency'],
        properties: { amount: { type: 'number', minimum: 0 }, currency: { type: 'string', enum: ['EUR', 'USD'] } },
      },
    },
    events: {
      OrderPlaced: {
        key: 'orderId',
        payload: {
          type: 'object',
          required: ['orderId', 'userId', 'total'],
          properties: {
            orderId: { type: 'string' },
            userId: { type: 'string' },
            total: { $ref: '#/schemas/Money' },
            note: { type: 'string' },
          },
        },
      },
    },
    services: { shop: { produces: ['OrderPlaced'] }, worker: { consumes: handlers } },
  });
  const transport = createMemoryTransport();
  const runtime = createRuntime({ topology, transport, logger: silentLogger });
  let handled = 0;
  for (const id of topology.consumers.map((c) => c.id)) runtime.handle(id, async () => void handled++);
  await runtime.start();
  const payload = (i: number) => ({
    orderId: `order-${i % options.keys}`,
    userId: 'user-1',
    total: { amount: 12.5, currency: 'EUR' },
    note: 'bench',
  });

  // Warm-up (JIT, ajv) outside the measurement.
  for (let i = 0; i < 500; i++) await runtime.publish('shop', 'OrderPlaced', payload(i));
  await transport.whenIdle(undefined, 60_000);
  handled = 0;

  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  if (options.awaitEach) {
    for (let i = 0; i < options.messages; i++) await runtime.publish('shop', 'OrderPlaced', payload(i));
  } else {
    const batch = 1_000;
    for (let i = 0; i < options.messages; i += batch) {
      const pending: Promise<unknown>[] = [];
      for (let j = i; j < Math.min(i + batch, options.messages); j++)
        pending.push(runtime.publish('shop', 'OrderPlaced', payload(j)));
      await Promise.all(pending);
    }
  }
  await transport.whenIdle(undefined, 120_000);
  const ms = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  await runtime.stop();
  const deliveries = options.messages * options.consumers;
  if (handled !== deliveries) throw new Error(`expected ${deliveries} deliveries, got ${handled}`);
  return {
    scenario: `${options.consumers} consumer(s), concurrency ${options.concurrency}, ${options.keys} keys, ${options.awaitEach ? 'await each publish' : 'batches of 1000'}`,
    messages: options.messages,
    deliveries,
    ms: Math.round(ms),
    deliveriesPerSecond: Math.round(deliveries / (ms / 1000)),
    cpuMs: Math.round(cpuMs),
    deliveriesPerCpuSecond: Math.round(deliveries / (cpuMs / 1000)),
  };
}
