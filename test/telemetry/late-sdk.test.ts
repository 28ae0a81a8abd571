/**
 * Without an SDK the runtime makes no spans at all (the no-op tracer's would record nothing), yet
 * it behaves as if it had: an active span's context still becomes a published event's creation
 * context, and an SDK registered globally after the runtime was made is used from then on.
 */
import { ROOT_CONTEXT, context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryTransport, createRuntime, silentLogger } from '@eventform/runtime';
import type { EventEnvelope } from '@eventform/runtime';
import { waitFor } from '@eventform/runtime/testing';
import { sagaTopology } from './saga.js';

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const SPAN_ID = 'b7ad6b7169203331';

afterAll(() => {
  trace.disable();
  context.disable();
});

describe('a runtime made before any SDK', () => {
  const topology = sagaTopology('otel-late');
  const transport = new MemoryTransport();
  const runtime = createRuntime({ topology, transport, logger: silentLogger });
  const handled: EventEnvelope[] = [];
  runtime.handle('inventory-service.reserve', async (event) => void handled.push(event));

  it('hands an active span context on as the creation context, with no SDK', async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    await runtime.start();
    const active = trace.setSpanContext(ROOT_CONTEXT, { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 1 });
    const sent = await context.with(active, () => runtime.publish('shop', 'OrderPlaced', { orderId: 'late-1' }));
    expect(sent.traceparent).toBe(`00-${TRACE_ID}-${SPAN_ID}-01`);
    const plain = await runtime.publish('shop', 'OrderPlaced', { orderId: 'late-2' });
    expect(plain.traceparent).toBeUndefined();
    await waitFor(() => handled.length === 2);
    expect(handled.map((e) => e.traceparent)).toEqual([sent.traceparent, undefined]);
  });

  it('uses an SDK registered globally afterwards', async () => {
    const exporter = new InMemorySpanExporter();
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
    const sent = await runtime.publish('shop', 'OrderPlaced', { orderId: 'late-3' });
    await waitFor(() => handled.length === 3);
    await runtime.stop();
    const spans = exporter.getFinishedSpans();
    const send = spans.find((s) => s.name.startsWith('send '));
    const process = spans.find((s) => s.name.startsWith('process '));
    expect(send).toBeDefined();
    expect(process).toBeDefined();
    expect(sent.traceparent).toBe(`00-${send!.spanContext().traceId}-${send!.spanContext().spanId}-01`);
    expect(process!.spanContext().traceId).toBe(send!.spanContext().traceId);
  });
});
