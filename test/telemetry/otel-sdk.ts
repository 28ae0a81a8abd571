/**
 * The OpenTelemetry SDK as a test wires it: spans into an in-memory exporter, metrics into a reader
 * collected on demand, and (once per process) the AsyncLocalStorage context manager every Node
 * SDK setup registers, so a handler's publish sees its process span as the active one.
 */
import { SpanKind, context } from '@opentelemetry/api';
import type { Attributes } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { AggregationTemporality, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import type { DataPoint, Histogram } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { TelemetryOptions } from '@eventform/runtime';

/** Collects when asked (a test reads the metrics at the point it checks them). */
class OnDemandReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

let contextManagerRegistered = false;

export interface TestSdk {
  /** Pass as `RuntimeOptions.telemetry`. */
  options: TelemetryOptions;
  exporter: InMemorySpanExporter;
  spans(): ReadableSpan[];
  /** Finished spans whose name starts with `prefix` (`send `, `process `, `create `). */
  named(prefix: string): ReadableSpan[];
  /** The sum of a counter's points whose attributes include `where`. */
  counter(name: string, where?: Attributes): Promise<number>;
  /** The count of a histogram's recordings whose attributes include `where`. */
  histogramCount(name: string, where?: Attributes): Promise<number>;
  shutdown(): Promise<void>;
}

/** `contextManager: false` leaves the global context manager alone (the API's no-op one, unless registered). */
export function testSdk(options: { contextManager?: boolean } = {}): TestSdk {
  if (options.contextManager !== false && !contextManagerRegistered) {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    contextManagerRegistered = true;
  }
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const reader = new OnDemandReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const points = async (name: string, where: Attributes = {}): Promise<DataPoint<unknown>[]> => {
    const { resourceMetrics } = await reader.collect();
    return resourceMetrics.scopeMetrics
      .flatMap((s) => s.metrics)
      .filter((m) => m.descriptor.name === name)
      .flatMap((m) => m.dataPoints as DataPoint<unknown>[])
      .filter((p) => Object.entries(where).every(([k, v]) => p.attributes[k] === v));
  };
  return {
    options: { tracerProvider, meterProvider },
    exporter,
    spans: () => exporter.getFinishedSpans(),
    named: (prefix) => exporter.getFinishedSpans().filter((s) => s.name.startsWith(prefix)),
    counter: async (name, where) => (await points(name, where)).reduce((sum, p) => sum + (p.value as number), 0),
    histogramCount: async (name, where) =>
      (await points(name, where)).reduce((sum, p) => sum + (p.value as Histogram).count, 0),
    shutdown: async () => {
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
    },
  };
}

export { SpanKind };

/** The parent span id of a finished span, if any. */
export function parentOf(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}
