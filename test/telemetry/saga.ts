/**
 * A two-hop saga traced end to end, the same on every transport: `checkout` (a span of the test's
 * own, as an HTTP server span would be) publishes OrderPlaced → inventory-service.reserve handles
 * it and publishes StockReserved → shipping-service.ship fails once, is retried, then handles it.
 * The check: one trace, every span where the messaging conventions put it, retries linked to their
 * publish, and the counters and histogram counting what happened.
 */
import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { expect } from 'vitest';
import { METRIC_NAMES, createRuntime, formatTraceparent } from '@eventform/runtime';
import type { EventEnvelope, TopologyIR, Transport } from '@eventform/runtime';
import { uniqueTopologyName, waitFor } from '@eventform/runtime/testing';
import { topologyFromDocument } from '../../generator/src/spec/index.js';
import { parentOf } from './otel-sdk.js';
import type { TestSdk } from './otel-sdk.js';

export function sagaTopology(prefix: string, retryDelay = '50ms'): TopologyIR {
  const order = {
    key: 'orderId',
    payload: { type: 'object', required: ['orderId'], properties: { orderId: { type: 'string' } } },
  };
  return topologyFromDocument({
    topology: uniqueTopologyName(prefix),
    events: { OrderPlaced: order, StockReserved: order },
    services: {
      shop: { produces: ['OrderPlaced'] },
      'inventory-service': { produces: ['StockReserved'], consumes: { reserve: { event: 'OrderPlaced' } } },
      'shipping-service': {
        consumes: { ship: { event: 'StockReserved', retry: { attempts: 3, backoff: 'fixed', delay: retryDelay } } },
      },
    },
  });
}

/**
 * Runs the saga on `transport` with `sdk` and checks the trace and the metrics. `system` is the
 * transport's `messaging.system`; `destination(event)` the `messaging.destination.name` of a send.
 */
export async function checkTracedSaga(
  sdk: TestSdk,
  topology: TopologyIR,
  transport: Transport,
  expected: { system: string; sendDestination: (event: 'OrderPlaced' | 'StockReserved') => string },
  timeoutMs?: number,
): Promise<void> {
  const runtime = createRuntime({ topology, transport, telemetry: sdk.options, logger: silent });
  const received: EventEnvelope[] = [];
  let shipAttempts = 0;
  runtime.handle('inventory-service.reserve', async (event, ctx) => {
    await ctx.publish('StockReserved', { orderId: (event.data as { orderId: string }).orderId });
  });
  runtime.handle('shipping-service.ship', async (event) => {
    received.push(event);
    if (++shipAttempts === 1) throw new Error('carrier unavailable');
  });
  await runtime.start();
  try {
    const tracer = sdk.options.tracerProvider!.getTracer('test');
    const root = tracer.startSpan('checkout', { kind: SpanKind.SERVER });
    await context.with(trace.setSpan(context.active(), root), () =>
      runtime.publish('shop', 'OrderPlaced', { orderId: 'o-1' }),
    );
    root.end();
    await waitFor(() => sdk.named('process ').length >= 3, { timeoutMs, what: 'three process spans' });
  } finally {
    await runtime.stop();
  }

  const spans = sdk.spans();
  const [checkout] = spans.filter((s) => s.name === 'checkout');
  const traceId = checkout!.spanContext().traceId;
  // One trace: every span the runtime made belongs to the checkout's.
  expect(spans.filter((s) => s.spanContext().traceId !== traceId).map((s) => s.name)).toEqual([]);

  const sends = sdk.named('send ');
  expect(sends.map((s) => s.name)).toEqual([
    `send ${expected.sendDestination('OrderPlaced')}`,
    `send ${expected.sendDestination('StockReserved')}`,
  ]);
  const [sendA, sendB] = sends as [(typeof sends)[0], (typeof sends)[0]];
  const processes = sdk.named('process ');
  const processA = processes.filter((s) => s.attributes['eventform.consumer'] === 'inventory-service.reserve');
  const processB = processes
    .filter((s) => s.attributes['eventform.consumer'] === 'shipping-service.ship')
    .sort((a, b) => Number(a.attributes['eventform.attempt']) - Number(b.attributes['eventform.attempt']));
  expect(processA).toHaveLength(1);
  expect(processB).toHaveLength(2);

  // checkout → send A → process A → send B → process B (attempt 1, failed) and process B (attempt 2).
  expect(parentOf(sendA)).toBe(checkout!.spanContext().spanId);
  expect(sendA.kind).toBe(SpanKind.PRODUCER);
  expect(parentOf(processA[0]!)).toBe(sendA.spanContext().spanId);
  expect(processA[0]!.kind).toBe(SpanKind.CONSUMER);
  expect(parentOf(sendB)).toBe(processA[0]!.spanContext().spanId);
  for (const [i, span] of processB.entries()) {
    expect(parentOf(span)).toBe(sendB.spanContext().spanId);
    // Every attempt links to the publish it processes (the conventions' creation-context link).
    expect(span.links.map((l) => l.context.spanId)).toEqual([sendB.spanContext().spanId]);
    expect(span.attributes['eventform.attempt']).toBe(i + 1);
  }
  expect(processB[0]!.status.code).toBe(SpanStatusCode.ERROR);
  expect(processB[0]!.attributes['eventform.outcome']).toBe('retry');
  expect(processB[0]!.attributes['error.type']).toBe('Error');
  expect(processB[1]!.status.code).not.toBe(SpanStatusCode.ERROR);
  expect(processB[1]!.attributes['eventform.outcome']).toBe('handled');

  // The envelope carried the send span's context: W3C traceparent, as the CloudEvents extension.
  expect(received.map((e) => e.traceparent)).toEqual([
    formatTraceparent(sendB.spanContext()),
    formatTraceparent(sendB.spanContext()),
  ]);
  expect(sendB.attributes).toMatchObject({
    'messaging.system': expected.system,
    'messaging.operation.name': 'send',
    'messaging.operation.type': 'send',
    'messaging.destination.name': expected.sendDestination('StockReserved'),
    'messaging.message.id': received[0]!.id,
    'messaging.message.conversation_id': received[0]!.correlationId,
  });
  expect(processB[1]!.attributes).toMatchObject({
    'messaging.system': expected.system,
    'messaging.operation.name': 'process',
    'messaging.operation.type': 'process',
    'messaging.message.id': received[0]!.id,
  });

  const ship = { 'eventform.consumer': 'shipping-service.ship' };
  const reserve = { 'eventform.consumer': 'inventory-service.reserve' };
  expect(await sdk.counter(METRIC_NAMES.handled, reserve)).toBe(1);
  expect(await sdk.counter(METRIC_NAMES.handled, ship)).toBe(1);
  expect(await sdk.counter(METRIC_NAMES.failed, ship)).toBe(1);
  expect(await sdk.counter(METRIC_NAMES.failed, reserve)).toBe(0);
  expect(await sdk.counter(METRIC_NAMES.deadLettered)).toBe(0);
  expect(await sdk.histogramCount(METRIC_NAMES.processDuration, ship)).toBe(2);
  expect(await sdk.histogramCount(METRIC_NAMES.processDuration, { ...ship, 'error.type': 'Error' })).toBe(1);
}

const silent = { debug() {}, info() {}, warn() {}, error() {} };
