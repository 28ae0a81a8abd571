/**
 * OpenTelemetry on the memory transport, with the SDK's in-memory exporter and a metric reader:
 * the two-hop saga as one trace, retries linked to their publish, dead letters counted by reason,
 * a creation context of the caller's kept, and W3C trace context read as untrusted input.
 */
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CE,
  METRIC_NAMES,
  MemoryTransport,
  NonRetryableError,
  createRuntime,
  formatTraceparent,
  parseTraceparent,
  silentLogger,
} from '@eventform/runtime';
import type { EventEnvelope } from '@eventform/runtime';
import { waitFor } from '@eventform/runtime/testing';
import { parentOf, testSdk } from './otel-sdk.js';
import type { TestSdk } from './otel-sdk.js';
import { checkTracedSaga, sagaTopology } from './saga.js';

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

let sdk: TestSdk;
beforeEach(() => {
  sdk = testSdk();
});
afterEach(async () => {
  await sdk.shutdown();
});

describe('tracing on the memory transport', () => {
  it('a two-hop saga is one trace: checkout → send → process → send → process (retried, linked)', async () => {
    await checkTracedSaga(sdk, sagaTopology('otel-mem'), new MemoryTransport(), {
      system: 'memory',
      sendDestination: (event) => event,
    });
  });

  it('counts dead letters by reason and ends their spans in error; failed counts every throwing attempt', async () => {
    const topology = sagaTopology('otel-dl', '10ms');
    const transport = new MemoryTransport();
    const runtime = createRuntime({ topology, transport, telemetry: sdk.options, logger: silentLogger });
    runtime.handle('inventory-service.reserve', async (event) => {
      if ((event.data as { orderId: string }).orderId === 'stop') throw new NonRetryableError('no such order');
    });
    runtime.handle('shipping-service.ship', async () => {
      throw new TypeError('label printer on fire');
    });
    await runtime.start();
    try {
      await runtime.publish('shop', 'OrderPlaced', { orderId: 'stop' });
      // Poison: not JSON, with a traceparent header (binary mode) — its span still joins that trace.
      transport.injectRaw('inventory-service.reserve', {
        body: Buffer.from('{not json'),
        headers: {
          [CE.id]: 'poison-1',
          [CE.type]: 'OrderPlaced',
          [CE.source]: 'elsewhere',
          [CE.specversion]: '1.0',
          [CE.traceparent]: TRACEPARENT,
          'content-type': 'application/json',
        },
      });
      transport.injectRaw('StockReserved', {
        body: Buffer.from(JSON.stringify({ orderId: 'o-9' })),
        headers: { [CE.id]: 'sr-1', [CE.type]: 'StockReserved', [CE.source]: 'x', [CE.specversion]: '1.0' },
      });
      await waitFor(
        () => sdk.named('process ').filter((s) => s.attributes['eventform.outcome'] === 'dead-letter').length >= 3,
      );
    } finally {
      await runtime.stop();
    }
    const deadLettered = (where: Record<string, string>) => sdk.counter(METRIC_NAMES.deadLettered, where);
    expect(await deadLettered({ 'eventform.dead_letter.reason': 'non-retryable' })).toBe(1);
    expect(await deadLettered({ 'eventform.dead_letter.reason': 'invalid-json' })).toBe(1);
    expect(await deadLettered({ 'eventform.dead_letter.reason': 'retries-exhausted' })).toBe(1);
    expect(await sdk.counter(METRIC_NAMES.deadLettered)).toBe(3);
    // ship: 3 attempts, each threw; reserve: the non-retryable throw. The poison never reached a handler.
    expect(await sdk.counter(METRIC_NAMES.failed, { 'eventform.consumer': 'shipping-service.ship' })).toBe(3);
    expect(await sdk.counter(METRIC_NAMES.failed, { 'error.type': 'TypeError' })).toBe(3);
    expect(await sdk.counter(METRIC_NAMES.failed, { 'eventform.consumer': 'inventory-service.reserve' })).toBe(1);
    expect(await sdk.counter(METRIC_NAMES.handled)).toBe(0);
    expect(await sdk.histogramCount(METRIC_NAMES.processDuration)).toBe(4);

    const poison = sdk.named('process ').find((s) => s.attributes['messaging.message.id'] === 'poison-1')!;
    expect(poison.status.code).toBe(SpanStatusCode.ERROR);
    expect(poison.attributes['eventform.dead_letter.reason']).toBe('invalid-json');
    expect(poison.spanContext().traceId).toBe(TRACEPARENT.split('-')[1]);
    expect(poison.links.map((l) => l.context.spanId)).toEqual(['b7ad6b7169203331']);
    // A message from a producer without trace context starts a trace of its own: no parent, no link.
    const foreign = sdk.named('process ').filter((s) => s.attributes['messaging.message.id'] === 'sr-1');
    expect(foreign).toHaveLength(3);
    for (const span of foreign) {
      expect(parentOf(span)).toBeUndefined();
      expect(span.links).toEqual([]);
    }
  });

  it('keeps a creation context the caller gives: sent unchanged, the send span (CLIENT) links to it', async () => {
    const topology = sagaTopology('otel-custom');
    const transport = new MemoryTransport();
    const runtime = createRuntime({ topology, transport, telemetry: sdk.options, logger: silentLogger });
    const seen: EventEnvelope[] = [];
    runtime.handle('inventory-service.reserve', async (event) => void seen.push(event));
    await runtime.start();
    try {
      await runtime.publish(
        'shop',
        'OrderPlaced',
        { orderId: 'c-1' },
        { traceparent: TRACEPARENT, tracestate: 'vendor=1' },
      );
      await waitFor(() => seen.length === 1 && sdk.named('process ').length === 1);
    } finally {
      await runtime.stop();
    }
    expect(seen[0]).toMatchObject({ traceparent: TRACEPARENT, tracestate: 'vendor=1' });
    const [send] = sdk.named('send ');
    expect(send!.kind).toBe(SpanKind.CLIENT);
    expect(send!.links.map((l) => l.context.spanId)).toEqual(['b7ad6b7169203331']);
    expect(send!.links[0]!.context.traceState?.get('vendor')).toBe('1');
    const [process] = sdk.named('process ');
    expect(parentOf(process!)).toBe('b7ad6b7169203331');
    expect(process!.spanContext().traceState?.get('vendor')).toBe('1');
  });

  it('a failed publish ends its span in error with the error type', async () => {
    const topology = sagaTopology('otel-fail');
    const transport = new MemoryTransport();
    transport.publish = () => Promise.reject(new RangeError('broker said no'));
    const runtime = createRuntime({ topology, transport, telemetry: sdk.options, logger: silentLogger });
    await expect(runtime.publish('shop', 'OrderPlaced', { orderId: 'f-1' })).rejects.toThrow('broker said no');
    await runtime.stop();
    const [send] = sdk.named('send ');
    expect(send!.status.code).toBe(SpanStatusCode.ERROR);
    expect(send!.attributes['error.type']).toBe('RangeError');
  });
});

describe('W3C traceparent from the wire', () => {
  const id = '0af7651916cd43dd8448eb211c80319c';
  const span = 'b7ad6b7169203331';
  it.each([
    ['valid, sampled', `00-${id}-${span}-01`, true],
    ['valid, not sampled', `00-${id}-${span}-00`, true],
    ['a future version may add fields', `cc-${id}-${span}-01-what-the-future-holds`, true],
    ['version 00 with an extra field', `00-${id}-${span}-01-extra`, false],
    ['version ff', `ff-${id}-${span}-01`, false],
    ['upper case', `00-${id.toUpperCase()}-${span}-01`, false],
    ['all-zero trace id', `00-${'0'.repeat(32)}-${span}-01`, false],
    ['all-zero span id', `00-${id}-${'0'.repeat(16)}-01`, false],
    ['short trace id', `00-${id.slice(1)}-${span}-01`, false],
    ['empty', '', false],
    ['over-long', `cc-${id}-${span}-01-${'x'.repeat(300)}`, false],
  ])('%s', (_what, value, valid) => {
    const parsed = parseTraceparent(value);
    expect(parsed !== undefined).toBe(valid);
    if (parsed) {
      expect(parsed).toMatchObject({ traceId: id, spanId: span, isRemote: true });
      if (value.startsWith('00-')) expect(formatTraceparent(parsed)).toBe(value);
    }
  });

  it('reads tracestate only with a valid traceparent, and only within 512 characters', () => {
    expect(parseTraceparent(`00-${id}-${span}-01`, 'a=1,b=2')?.traceState?.get('b')).toBe('2');
    expect(parseTraceparent(`00-${id}-${span}-01`, `a=${'x'.repeat(600)}`)?.traceState).toBeUndefined();
    expect(parseTraceparent(undefined, 'a=1')).toBeUndefined();
  });

  it('a malformed traceparent on a delivery starts a new trace instead of failing the message', async () => {
    const topology = sagaTopology('otel-bad-tp');
    const transport = new MemoryTransport();
    const runtime = createRuntime({ topology, transport, telemetry: sdk.options, logger: silentLogger });
    let handled = 0;
    runtime.handle('inventory-service.reserve', async () => void handled++);
    await runtime.start();
    try {
      transport.injectRaw('OrderPlaced', {
        body: Buffer.from(JSON.stringify({ orderId: 'x' })),
        headers: {
          [CE.id]: 'bad-tp',
          [CE.type]: 'OrderPlaced',
          [CE.source]: 'x',
          [CE.specversion]: '1.0',
          [CE.traceparent]: '00-zz-not-a-trace',
        },
      });
      await waitFor(() => sdk.named('process ').length === 1);
    } finally {
      await runtime.stop();
    }
    expect(handled).toBe(1);
    const [process] = sdk.named('process ');
    expect(parentOf(process!)).toBeUndefined();
    expect(process!.attributes['eventform.outcome']).toBe('handled');
  });
});
