/**
 * A budget, not a timing: promises per event published and handled on the memory transport. Every
 * promise pays the async hooks of the correlation scope's AsyncLocalStorage (and a microtask and
 * its garbage), which made them the largest share of the runtime's own CPU per message in a
 * profile of the Kafka bench (27 promises per message before, 11 after; raw kafkajs makes 4.5).
 * A change that adds one to the hot path fails here and has to say why it is worth it.
 */
import { createHook } from 'node:async_hooks';
import { describe, expect, it } from 'vitest';
import { createMemoryTransport, createRuntime, silentLogger, withCorrelation } from '@eventform/runtime';
import type { ContentMode, EventEnvelope } from '@eventform/runtime';
import { uniqueTopologyName } from '@eventform/runtime/testing';
import { topologyFromDocument } from '../../generator/src/spec/index.js';

/** What publishing `count` events (all at once) and handling them costs, in promises per event. */
async function promisesPerEvent(mode: ContentMode, idempotency: boolean): Promise<number> {
  const topology = topologyFromDocument({
    topology: uniqueTopologyName('promises'),
    events: {
      OrderPlaced: {
        key: 'orderId',
        contentMode: mode,
        payload: {
          type: 'object',
          required: ['orderId'],
          properties: { orderId: { type: 'string' }, total: { type: 'number' } },
        },
      },
    },
    services: {
      shop: { produces: ['OrderPlaced'] },
      billing: {
        consumes: { charge: { event: 'OrderPlaced', concurrency: 4, idempotency: idempotency ? {} : false } },
      },
    },
  });
  const transport = createMemoryTransport();
  const runtime = createRuntime({ topology, transport, logger: silentLogger });
  const seen: EventEnvelope[] = [];
  runtime.handle('billing.charge', async (event) => void seen.push(event));
  await runtime.start();
  const publish = (i: number) => runtime.publish('shop', 'OrderPlaced', { orderId: `o${i}`, total: i });
  // Warm: the first publish starts the transport, the first handler runs the storage's first run().
  await withCorrelation({ correlationId: 'warm' }, () => publish(-1));
  await transport.whenIdle();

  const count = 500;
  let promises = 0;
  const hook = createHook({ init: (_id, type) => void (type === 'PROMISE' && promises++) });
  hook.enable();
  const published: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) published.push(publish(i));
  await Promise.all(published);
  await transport.whenIdle();
  hook.disable();
  await runtime.stop();
  expect(seen).toHaveLength(count + 1);
  return promises / count;
}

describe('promises per message, publish to handled, on the memory transport', () => {
  for (const mode of ['binary', 'structured'] as const) {
    it(`${mode} mode, idempotency on: at most 7 (the handler's own included)`, async () => {
      // publish: the transport's and the reaction ending the span; this test's Promise.all: one;
      // delivery: the memory broker's reaction, the idempotency store's, the handler's and the
      // runtime's reaction (was 12).
      expect(await promisesPerEvent(mode, true)).toBeLessThanOrEqual(7.05);
    });
  }

  it('binary mode, idempotency off: one fewer', async () => {
    expect(await promisesPerEvent('binary', false)).toBeLessThanOrEqual(6.05);
  });
});
