/**
 * Without an OpenTelemetry SDK: nothing breaks, a traceparent given or inherited still travels as
 * before, and the API's no-op calls cost next to nothing. The cost is measured in this run, as
 * ratios: the telemetry calls the runtime makes per message against the whole per-message pipeline
 * (CPU time, both without an SDK), and the pipeline with an SDK recording against without.
 */
import { SpanKind, context, trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { MemoryTransport, createRuntime, silentLogger } from '@eventform/runtime';
import type { Disposition, EventEnvelope, TelemetryOptions, TopologyIR } from '@eventform/runtime';
import { waitFor } from '@eventform/runtime/testing';
import { RuntimeTelemetry, endPublishSpan } from '../../runtime/core/src/telemetry.js';
import { testSdk } from './otel-sdk.js';
import { sagaTopology } from './saga.js';

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('without an SDK', () => {
  it('the API is the no-op one in this file', () => {
    const span = trace.getTracer('probe').startSpan('probe', { kind: SpanKind.INTERNAL });
    expect(span.isRecording()).toBe(false);
    expect(trace.getSpan(context.active())).toBeUndefined();
  });

  it('the saga runs, and a traceparent given at the start reaches the second hop unchanged', async () => {
    const topology = sagaTopology('otel-none');
    const runtime = createRuntime({ topology, transport: new MemoryTransport(), logger: silentLogger });
    const shipped: EventEnvelope[] = [];
    let attempts = 0;
    runtime.handle('inventory-service.reserve', async (event, ctx) => {
      await ctx.publish('StockReserved', { orderId: (event.data as { orderId: string }).orderId });
    });
    runtime.handle('shipping-service.ship', async (event) => {
      shipped.push(event);
      if (++attempts === 1) throw new Error('once');
    });
    await runtime.start();
    try {
      await runtime.publish('shop', 'OrderPlaced', { orderId: 'n-1' }, { traceparent: TRACEPARENT });
      await waitFor(() => runtime.health().consumers.find((c) => c.id === 'shipping-service.ship')?.handled === 1);
    } finally {
      await runtime.stop();
    }
    expect(shipped.map((e) => e.traceparent)).toEqual([TRACEPARENT, TRACEPARENT]);
  });
});

/** CPU milliseconds `fn` takes. */
async function cpuMs(fn: () => Promise<void>): Promise<number> {
  const before = process.cpuUsage();
  await fn();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}

/** Messages through publish → memory broker → handler → ack, in batches; CPU ms for `count`. */
async function pipeline(topology: TopologyIR, count: number, telemetry?: TelemetryOptions): Promise<number> {
  const transport = new MemoryTransport();
  const runtime = createRuntime({ topology, transport, logger: silentLogger, ...(telemetry ? { telemetry } : {}) });
  let handled = 0;
  runtime.handle('inventory-service.reserve', async () => void handled++);
  await runtime.start();
  const run = async (n: number) => {
    for (let i = 0; i < n; i += 500) {
      const batch: Promise<unknown>[] = [];
      for (let j = i; j < Math.min(i + 500, n); j++)
        batch.push(runtime.publish('shop', 'OrderPlaced', { orderId: `o-${j % 50}` }));
      await Promise.all(batch);
    }
    await transport.whenIdle(undefined, 120_000);
  };
  await run(500); // warm-up: JIT, validators
  handled = 0;
  const ms = await cpuMs(() => run(count));
  await runtime.stop();
  if (handled !== count) throw new Error(`expected ${count} deliveries, got ${handled}`);
  return ms;
}

/** Exactly the telemetry calls the runtime makes for one message (publish and one delivery), `count` times. */
async function hooksOnly(topology: TopologyIR, count: number): Promise<number> {
  const telemetry = new RuntimeTelemetry('memory', topology.events, undefined);
  const event = topology.events.find((e) => e.name === 'OrderPlaced')!;
  const consumer = telemetry.consumer(
    topology.consumers.find((c) => c.id === 'inventory-service.reserve')!,
    new Map(topology.events.map((e) => [e.name, e])),
  );
  const ack: Disposition = { kind: 'ack' };
  const envelope = {
    id: 'e',
    type: 'OrderPlaced',
    source: 'shop',
    specversion: '1.0',
    datacontenttype: 'application/json',
    correlationId: 'c',
    causationId: null,
    eventVersion: 1,
    data: {},
  } as EventEnvelope;
  const handler = async () => {};
  const run = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const span = telemetry.startPublish(event, envelope, false, false);
      endPublishSpan(span);
      const observation = consumer.observe();
      observation.decoded(envelope);
      await observation.runHandler(handler);
      observation.end(ack, {});
    }
  };
  // The same loop with the handler awaited as the runtime awaits it anyway: subtracted.
  const bare = async (n: number) => {
    for (let i = 0; i < n; i++) await handler();
  };
  await run(500);
  await bare(500);
  // Ten times as many iterations, for a difference above the timer's noise; per `count` messages.
  const withHooks = await cpuMs(() => run(count * 10));
  const without = await cpuMs(() => bare(count * 10));
  return Math.max(0, withHooks - without) / 10;
}

describe('overhead, measured in this run', () => {
  it('without an SDK the telemetry calls are a small fraction of the pipeline; with one the cost is reported', async () => {
    const topology = sagaTopology('otel-cost');
    const count = 5_000;
    // Best of three rounds each, interleaved, so a busy machine affects both sides alike.
    let pipelineMs = Infinity;
    let hooksMs = Infinity;
    let sdkMs = Infinity;
    for (let round = 0; round < 3; round++) {
      pipelineMs = Math.min(pipelineMs, await pipeline(topology, count));
      hooksMs = Math.min(hooksMs, await hooksOnly(topology, count));
      const sdk = testSdk({ contextManager: false });
      sdkMs = Math.min(sdkMs, await pipeline(topology, count, sdk.options));
      await sdk.shutdown();
    }
    const noSdkShare = hooksMs / pipelineMs;
    const sdkRatio = sdkMs / pipelineMs;
    console.log(
      `[telemetry overhead] ${count} messages, CPU ms: pipeline without SDK ${pipelineMs.toFixed(0)}, ` +
        `its no-op telemetry calls ${hooksMs.toFixed(2)} (${(noSdkShare * 100).toFixed(1)}%), ` +
        `pipeline with the SDK recording every span ${sdkMs.toFixed(0)} (×${sdkRatio.toFixed(2)})`,
    );
    // About a microsecond a message; bounded at a tenth of the pipeline so machine noise cannot fail it.
    expect(noSdkShare).toBeLessThan(0.1);
    // With an SDK every message makes two spans (kept in memory here) and metric updates: that is the
    // SDK's work, reported above; bounded only against a runaway (a span leak, a quadratic step).
    expect(sdkRatio).toBeLessThan(10);
  }, 180_000);
});
