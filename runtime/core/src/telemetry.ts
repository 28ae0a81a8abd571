/**
 * OpenTelemetry through `@opentelemetry/api` only: without an SDK every call here is the API's
 * no-op, so a service that registers none pays a few property reads per message.
 *
 * Spans follow the OpenTelemetry messaging semantic conventions (development status):
 * - `send {destination}` (PRODUCER) for a publish that goes to the broker now; its context is the
 *   message's creation context and travels in the envelope as the CloudEvents distributed-tracing
 *   extension (`traceparent`, `tracestate`, W3C Trace Context format).
 * - `create {destination}` (PRODUCER) for a publish written to the transactional outbox: the context
 *   of the transaction that wrote it is the creation context. The relay's later `send` (CLIENT)
 *   links to it.
 * - `process {destination}` (CONSUMER) per delivery, a child of the message's creation context and
 *   linked to it; every retry of a message is such a child too, so the attempts sit under the publish.
 *
 * Metrics: `eventform.consumer.handled`, `eventform.consumer.failed`, `eventform.consumer.dead_lettered`
 * (counters) and `messaging.process.duration` (histogram of handler time, in seconds).
 */
import {
  ProxyTracerProvider,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  createNoopMeter,
  createTraceState,
  isSpanContextValid,
  metrics,
  trace,
} from '@opentelemetry/api';
import type {
  Attributes,
  Context,
  Counter,
  Histogram,
  Link,
  MeterProvider,
  Span,
  SpanContext,
  Tracer,
  TracerProvider,
} from '@opentelemetry/api';
import type { EventEnvelope } from './api.js';
import { CE, EF } from './headers.js';
import type { ConsumerIR, EventIR } from './ir.js';
import type { Disposition, OutgoingMessage, Transport } from './transport.js';
import { RUNTIME_VERSION } from './version.js';

/** The instrumentation scope name of every tracer and meter the runtime asks for. */
export const TELEMETRY_SCOPE = '@eventform/runtime';

/** Where the runtime gets its tracer and meter (see {@link RuntimeOptions.telemetry}). */
export interface TelemetryOptions {
  /** @default the global tracer provider (`trace.getTracerProvider()`; a no-op until an SDK registers one) */
  tracerProvider?: TracerProvider | undefined;
  /**
   * Read once, when the runtime is created: register the SDK's meter provider before that.
   * @default the global meter provider (`metrics.getMeterProvider()`; a no-op without an SDK)
   */
  meterProvider?: MeterProvider | undefined;
}

/** Semantic-convention attribute names the runtime sets (messaging conventions, development status). */
export const MESSAGING_ATTRIBUTES = {
  system: 'messaging.system',
  operationName: 'messaging.operation.name',
  operationType: 'messaging.operation.type',
  destinationName: 'messaging.destination.name',
  consumerGroupName: 'messaging.consumer.group.name',
  messageId: 'messaging.message.id',
  conversationId: 'messaging.message.conversation_id',
  rabbitmqRoutingKey: 'messaging.rabbitmq.destination.routing_key',
  kafkaMessageKey: 'messaging.kafka.message.key',
  errorType: 'error.type',
} as const;

/** eventform's own attributes, on spans and metrics. */
export const EVENTFORM_ATTRIBUTES = {
  /** The consumer id, `service.handler`. */
  consumer: 'eventform.consumer',
  /** The producing service of a publish. */
  service: 'eventform.service',
  eventType: 'eventform.event.type',
  /** 1-based attempt of this delivery for its consumer. */
  attempt: 'eventform.attempt',
  /** handled, duplicate, retry, dead-letter, dropped or released. */
  outcome: 'eventform.outcome',
  /** The dead-letter reason (`retries-exhausted`, `schema-invalid`, ...). */
  deadLetterReason: 'eventform.dead_letter.reason',
} as const;

/** The metric instruments' names. */
export const METRIC_NAMES = {
  handled: 'eventform.consumer.handled',
  failed: 'eventform.consumer.failed',
  deadLettered: 'eventform.consumer.dead_lettered',
  processDuration: 'messaging.process.duration',
} as const;

const M = MESSAGING_ATTRIBUTES;
const EFA = EVENTFORM_ATTRIBUTES;

// ---- W3C Trace Context (the CloudEvents distributed-tracing extension's format) -------------

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
/** Longest `traceparent` / `tracestate` read from the wire; W3C's own limits are 55 and 512. */
const MAX_TRACEPARENT = 256;
const MAX_TRACESTATE = 512;

/**
 * The span context a W3C `traceparent` (and `tracestate`) names, or `undefined` when it is absent
 * or not valid: malformed, version `ff`, all-zero ids, extra fields on version 00, over-long. The
 * values come from the wire: they are checked, never trusted.
 */
export function parseTraceparent(traceparent: string | undefined, tracestate?: string): SpanContext | undefined {
  if (traceparent === undefined || traceparent.length > MAX_TRACEPARENT) return undefined;
  const match = TRACEPARENT.exec(traceparent);
  if (!match) return undefined;
  const [, version, traceId, spanId, flags, rest] = match;
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  const spanContext: SpanContext = {
    traceId: traceId!,
    spanId: spanId!,
    traceFlags: parseInt(flags!, 16),
    isRemote: true,
  };
  if (!isSpanContextValid(spanContext)) return undefined;
  if (tracestate !== undefined && tracestate !== '' && tracestate.length <= MAX_TRACESTATE) {
    spanContext.traceState = createTraceState(tracestate);
  }
  return spanContext;
}

/** A span context as a W3C `traceparent` (version 00). */
export function formatTraceparent(spanContext: SpanContext): string {
  const flags = (spanContext.traceFlags & 0xff).toString(16).padStart(2, '0');
  return `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`;
}

// ---- the runtime's instruments -------------------------------------------------------------

/**
 * The broker parts of the IR the messaging conventions name destinations by, as the RabbitMQ and
 * Kafka packages build them (their ir.ts: the types are theirs, merged into the IR where they are
 * loaded, which core is not). The only place core reads a broker's part.
 */
interface NamedEvent {
  rabbitmq: { exchange: string; routingKey: string };
  kafka: { topic: string };
}
interface NamedConsumer {
  rabbitmq: { queue: string };
  kafka: { groupId: string };
}
const named = (event: EventIR) => event as EventIR & NamedEvent;
const namedConsumer = (consumer: ConsumerIR) => consumer as ConsumerIR & NamedConsumer;

/** Names of one event's destination as the messaging conventions want them, per messaging system. */
function sendNames(system: string, event: EventIR): { destination: string; attributes: Attributes } {
  if (system === 'rabbitmq') {
    const { exchange, routingKey } = named(event).rabbitmq;
    return {
      destination: `${exchange}:${routingKey}`,
      attributes: { [M.destinationName]: `${exchange}:${routingKey}`, [M.rabbitmqRoutingKey]: routingKey },
    };
  }
  if (system === 'kafka')
    return { destination: named(event).kafka.topic, attributes: { [M.destinationName]: named(event).kafka.topic } };
  return { destination: event.name, attributes: { [M.destinationName]: event.name } };
}

/**
 * A consumer's destination and group. RabbitMQ: `{exchange}:{routing key}:{queue}` (its queue takes
 * every event it consumes; the exchange and key are the first event's). Kafka: the topic of a
 * consumer of one event, else its events' topics joined; the group id as consumer group. Other
 * systems: the consumer id.
 */
function processNames(system: string, consumer: ConsumerIR, events: ReadonlyMap<string, EventIR>): Attributes {
  const first = events.get(consumer.events[0]!);
  if (system === 'rabbitmq' && first) {
    const { exchange, routingKey } = named(first).rabbitmq;
    return { [M.destinationName]: `${exchange}:${routingKey}:${namedConsumer(consumer).rabbitmq.queue}` };
  }
  if (system === 'kafka') {
    const topics = consumer.events.map((name) => {
      const event = events.get(name);
      return event ? named(event).kafka.topic : name;
    });
    return { [M.destinationName]: topics.join(','), [M.consumerGroupName]: namedConsumer(consumer).kafka.groupId };
  }
  return { [M.destinationName]: consumer.id, [M.consumerGroupName]: consumer.id };
}

interface SendTelemetry {
  sendName: string;
  createName: string;
  send: Attributes;
  create: Attributes;
}

/** Per consumer: names and attribute sets built once, so a delivery allocates none of them. */
export class ConsumerTelemetry {
  readonly spanName: string;
  readonly spanAttributes: Attributes;
  /** Attributes of its counters and of a successful handler's duration. */
  readonly metricAttributes: Attributes;

  constructor(
    readonly owner: RuntimeTelemetry,
    readonly ir: ConsumerIR,
    readonly system: string,
    names: Attributes,
  ) {
    this.spanName = `process ${String(names[M.destinationName])}`;
    this.metricAttributes = Object.freeze({
      [M.system]: system,
      [M.operationName]: 'process',
      ...names,
      [EFA.consumer]: ir.id,
    });
    this.spanAttributes = Object.freeze({ ...this.metricAttributes, [M.operationType]: 'process' });
  }

  /** One delivery's observation; the process span starts once the envelope is known. */
  observe(): DeliveryObservation {
    return new DeliveryObservation(this);
  }
}

/** The runtime's tracer, meter instruments and per-event/per-consumer names. */
export class RuntimeTelemetry {
  readonly tracer: Tracer;
  private readonly tracerProvider: TracerProvider;
  readonly handled: Counter;
  readonly failed: Counter;
  readonly deadLettered: Counter;
  readonly processDuration: Histogram;
  /** False when the meter is the API's no-op one: then handlers are not timed at all. */
  readonly metricsOn: boolean;
  private readonly sends = new Map<string, SendTelemetry>();

  constructor(
    readonly system: string,
    events: readonly EventIR[],
    options: TelemetryOptions | undefined,
  ) {
    this.tracerProvider = options?.tracerProvider ?? trace.getTracerProvider();
    this.tracer = this.tracerProvider.getTracer(TELEMETRY_SCOPE, RUNTIME_VERSION);
    const meter = (options?.meterProvider ?? metrics.getMeterProvider()).getMeter(TELEMETRY_SCOPE, RUNTIME_VERSION);
    const messages = (name: string, description: string): Counter =>
      meter.createCounter(name, { description, unit: '{message}' });
    this.handled = messages(
      METRIC_NAMES.handled,
      'Messages whose handler completed (duplicates skipped by idempotency not included).',
    );
    this.failed = messages(
      METRIC_NAMES.failed,
      'Handler invocations that threw (each failed attempt: retried, dead-lettered or dropped).',
    );
    this.deadLettered = messages(
      METRIC_NAMES.deadLettered,
      'Messages sent to a dead-letter destination, by reason (poison messages included).',
    );
    this.processDuration = meter.createHistogram(METRIC_NAMES.processDuration, {
      description: 'Duration of handler invocations.',
      unit: 's',
    });
    this.metricsOn = this.processDuration.constructor !== createNoopMeter().createHistogram('probe').constructor;
    for (const event of events) {
      const { destination, attributes } = sendNames(system, event);
      const base = { [M.system]: system, ...attributes, [EFA.eventType]: event.name };
      this.sends.set(event.name, {
        sendName: `send ${destination}`,
        createName: `create ${destination}`,
        send: Object.freeze({ ...base, [M.operationName]: 'send', [M.operationType]: 'send' }),
        create: Object.freeze({ ...base, [M.operationName]: 'create', [M.operationType]: 'create' }),
      });
    }
  }

  /**
   * False while the tracer is the API's no-op one: the global provider with no SDK behind it (asked
   * per message, since an SDK may be registered after the runtime was made). Its spans record
   * nothing, so the runtime makes none; what they would carry (an active span's context) is
   * handed on all the same.
   */
  get tracing(): boolean {
    const provider = this.tracerProvider;
    return !(provider instanceof ProxyTracerProvider) || provider.getDelegate() !== NOOP_TRACER_PROVIDER;
  }

  consumer(consumer: ConsumerIR, events: ReadonlyMap<string, EventIR>): ConsumerTelemetry {
    return new ConsumerTelemetry(this, consumer, this.system, processNames(this.system, consumer, events));
  }

  /**
   * Start the span of one publish, in the active context. `outbox`: written to the outbox (a
   * `create` span) rather than sent now (`send`). When the envelope already carries a creation
   * context the caller chose (`custom`), the span links to it and the envelope keeps it; otherwise
   * the span's own context becomes the envelope's `traceparent`/`tracestate` — unless no SDK
   * records, in which case the envelope is left as the caller built it.
   */
  startPublish(event: EventIR, envelope: EventEnvelope, outbox: boolean, custom: boolean): Span | undefined {
    if (!this.tracing) {
      // What the no-op tracer's span would be: non-recording, with the active span's context if any.
      if (!custom) {
        const active = trace.getSpanContext(context.active());
        if (active !== undefined && isSpanContextValid(active)) setCreationContext(envelope, active);
      }
      return undefined;
    }
    const names = this.sends.get(event.name)!;
    if (custom) {
      // A creation context of the caller's: no create span (the conventions' rule); a send span links to it.
      if (outbox) return undefined;
      const linked = parseTraceparent(envelope.traceparent, envelope.tracestate);
      const span = this.tracer.startSpan(names.sendName, {
        kind: SpanKind.CLIENT,
        attributes: names.send,
        links: linked ? [{ context: linked }] : [],
      });
      if (span.isRecording()) setMessageAttributes(span, envelope);
      return span;
    }
    const span = this.tracer.startSpan(outbox ? names.createName : names.sendName, {
      kind: SpanKind.PRODUCER,
      attributes: outbox ? names.create : names.send,
    });
    const spanContext = span.spanContext();
    if (isSpanContextValid(spanContext)) setCreationContext(envelope, spanContext);
    if (span.isRecording()) setMessageAttributes(span, envelope);
    return span;
  }

  /**
   * The transport an outbox relay publishes through: each publish a `send` span (CLIENT: the
   * creation context is the one the outbox row carries, which it links to).
   */
  relayTransport(transport: Transport): Transport {
    return new RelayTransport(transport, this);
  }

  /** @internal */
  sendNames(event: string): SendTelemetry | undefined {
    return this.sends.get(event);
  }
}

/** The API's no-op provider: what a ProxyTracerProvider hands out while no SDK is registered. */
const NOOP_TRACER_PROVIDER = new ProxyTracerProvider().getDelegate();

/** `spanContext` as the envelope's creation context (`traceparent`, `tracestate`). */
function setCreationContext(envelope: EventEnvelope, spanContext: SpanContext): void {
  envelope.traceparent = formatTraceparent(spanContext);
  const state = spanContext.traceState?.serialize();
  if (state) envelope.tracestate = state;
  else delete envelope.tracestate;
}

function setMessageAttributes(span: Span, envelope: EventEnvelope): void {
  span.setAttribute(M.messageId, envelope.id);
  span.setAttribute(M.conversationId, envelope.correlationId);
  span.setAttribute(EFA.service, envelope.source);
}

/** End a publish span: ok, or with the error's type. */
export function endPublishSpan(span: Span | undefined, error?: unknown): void {
  if (!span) return;
  if (error !== undefined) setError(span, errorType(error), error);
  span.end();
}

function setError(span: Span, type: string, error: unknown): void {
  span.setAttribute(M.errorType, type);
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}

/** A low-cardinality name for an error: its class name. */
function errorType(error: unknown): string {
  if (error instanceof Error) return error.name === 'Error' ? error.constructor.name || 'Error' : error.name;
  return '_OTHER';
}

const NO_LINKS: Link[] = [];

type Outcome = 'handled' | 'duplicate' | 'retry' | 'dead-letter' | 'dropped' | 'released';

/**
 * One delivery to one consumer, as telemetry sees it: the process span (started once the envelope
 * is decoded, or at the end for a message that never decoded), the handler's timing, the outcome.
 */
export class DeliveryObservation {
  private span: Span | undefined;
  private spanContext: Context = ROOT_CONTEXT;
  private handlerError: unknown;
  private handlerFailed = false;
  private handlerOk = false;
  /** Set by the runtime when idempotency skipped the handler. */
  duplicate = false;
  /** This delivery's attempt for its consumer, once read. */
  attempt = 1;
  private wasDecoded = false;

  constructor(private readonly consumer: ConsumerTelemetry) {}

  /**
   * The envelope is known: start the process span as a child of the message's creation context
   * (and linked to it; a message without one starts a trace). The ambient context is not used:
   * a transport's callback may run in whatever context delivered it.
   */
  decoded(envelope: EventEnvelope): void {
    this.wasDecoded = true;
    const creation = parseTraceparent(envelope.traceparent, envelope.tracestate);
    // No SDK and no creation context: the no-op span would carry nothing to record or hand on.
    if (creation === undefined && !this.consumer.owner.tracing) return;
    this.start(creation);
    if (this.span!.isRecording()) {
      this.span!.setAttribute(M.messageId, envelope.id);
      this.span!.setAttribute(M.conversationId, envelope.correlationId);
      this.span!.setAttribute(EFA.eventType, envelope.type);
      if (envelope.key !== undefined && this.consumer.system === 'kafka') {
        this.span!.setAttribute(M.kafkaMessageKey, envelope.key);
      }
    }
  }

  private start(creation: SpanContext | undefined): void {
    const parent = creation ? trace.setSpanContext(ROOT_CONTEXT, creation) : ROOT_CONTEXT;
    const links: Link[] = creation ? [{ context: creation }] : NO_LINKS;
    const span = this.consumer.owner.tracer.startSpan(
      this.consumer.spanName,
      { kind: SpanKind.CONSUMER, attributes: this.consumer.spanAttributes, links },
      parent,
    );
    if (span.isRecording()) span.setAttribute(EFA.attempt, this.attempt);
    this.span = span;
    // A span without a valid context (no SDK, no creation context) gives the handler nothing to see.
    if (isSpanContextValid(span.spanContext())) this.spanContext = trace.setSpan(parent, span);
  }

  /** Run the handler in the process span's context, timed for `messaging.process.duration`. */
  runHandler<T>(handler: () => Promise<T>): Promise<T> {
    if (!this.consumer.owner.metricsOn && !this.span?.isRecording()) {
      // Nothing records: the handler as it is, in the span's context when it has a valid one.
      return this.spanContext === ROOT_CONTEXT ? handler() : context.with(this.spanContext, handler);
    }
    return this.timed(handler);
  }

  private async timed<T>(handler: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      const result = await context.with(this.spanContext, handler);
      this.handlerOk = true;
      this.consumer.owner.processDuration.record((performance.now() - started) / 1000, this.consumer.metricAttributes);
      return result;
    } catch (error) {
      this.handlerFailed = true;
      this.handlerError = error;
      const attributes = { ...this.consumer.metricAttributes, [M.errorType]: errorType(error) };
      this.consumer.owner.processDuration.record((performance.now() - started) / 1000, attributes);
      this.consumer.owner.failed.add(1, attributes);
      throw error;
    }
  }

  /** The delivery's disposition is decided: count it and end the span. */
  end(disposition: Disposition, headers: Record<string, string>): void {
    const owner = this.consumer.owner;
    let outcome: Outcome;
    let reason: string | undefined;
    switch (disposition.kind) {
      case 'ack':
        outcome = this.handlerOk ? 'handled' : this.duplicate ? 'duplicate' : 'dropped';
        break;
      case 'retry':
        outcome = 'retry';
        break;
      case 'dead-letter':
        outcome = 'dead-letter';
        reason = disposition.headers[EF.dlReason] ?? 'unknown';
        break;
      default:
        outcome = 'released';
    }
    if (outcome === 'handled') owner.handled.add(1, this.consumer.metricAttributes);
    else if (reason !== undefined) {
      owner.deadLettered.add(1, { ...this.consumer.metricAttributes, [EFA.deadLetterReason]: reason });
    }
    if (!this.span) {
      // Decoded without a span (no SDK then), or no SDK now: a span would record nothing.
      if (this.wasDecoded || !owner.tracing) return;
      // Never decoded (poison): a span all the same, from what the headers say.
      this.start(parseTraceparent(headers[CE.traceparent], headers[CE.tracestate]));
      const id = headers[CE.id];
      if (id !== undefined && this.span!.isRecording()) this.span!.setAttribute(M.messageId, id);
    }
    const span = this.span!;
    if (span.isRecording()) {
      span.setAttribute(EFA.outcome, outcome);
      if (reason !== undefined) {
        span.setAttribute(EFA.deadLetterReason, reason);
        setError(
          span,
          reason,
          disposition.kind === 'dead-letter' ? (disposition.headers[EF.dlError] ?? reason) : reason,
        );
      } else if (this.handlerFailed) {
        setError(span, errorType(this.handlerError), this.handlerError);
      } else if (outcome === 'dropped' || outcome === 'released') {
        span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
      }
    }
    span.end();
  }
}

/** A transport whose publishes are traced as the relay's `send`; everything else is delegated. */
/**
 * `transport` with a `send` span (CLIENT, linked to the row's creation context) around each
 * publish, as the in-process outbox relay has: for a relay running on its own (`eventform relay`).
 * The providers are the global ones unless `options` name others; without an SDK it costs nothing.
 */
export function tracedRelayTransport(
  transport: Transport,
  events: readonly EventIR[],
  options?: TelemetryOptions | undefined,
): Transport {
  return new RuntimeTelemetry(transport.name, events, options).relayTransport(transport);
}

class RelayTransport implements Transport {
  constructor(
    private readonly inner: Transport,
    private readonly telemetry: RuntimeTelemetry,
  ) {}

  get name(): string {
    return this.inner.name;
  }

  get capabilities(): Transport['capabilities'] {
    return this.inner.capabilities;
  }

  start(...args: Parameters<Transport['start']>): ReturnType<Transport['start']> {
    return this.inner.start(...args);
  }

  subscribe(...args: Parameters<Transport['subscribe']>): ReturnType<Transport['subscribe']> {
    return this.inner.subscribe(...args);
  }

  close(...args: Parameters<Transport['close']>): ReturnType<Transport['close']> {
    return this.inner.close(...args);
  }

  async publish(event: EventIR, message: OutgoingMessage): Promise<void> {
    const names = this.telemetry.sendNames(event.name);
    if (!names) return this.inner.publish(event, message);
    const span = this.telemetry.tracer.startSpan(names.sendName, { kind: SpanKind.CLIENT, attributes: names.send });
    if (span.isRecording()) {
      const creation = creationContextOf(message);
      if (creation.context) span.addLink({ context: creation.context });
      if (creation.id !== undefined) span.setAttribute(M.messageId, creation.id);
    }
    try {
      await this.inner.publish(event, message);
      span.end();
    } catch (error) {
      endPublishSpan(span, error);
      throw error;
    }
  }
}

/** The creation context and id an encoded message carries, in either content mode. */
function creationContextOf(message: OutgoingMessage): { context?: SpanContext; id?: string } {
  let attributes: Record<string, unknown> = message.headers;
  if (message.headers[CE.id] === undefined) {
    // Structured mode: the attributes are in the body (our own encoding, read back once).
    try {
      const parsed: unknown = JSON.parse(message.body.toString('utf8'));
      if (parsed !== null && typeof parsed === 'object') attributes = parsed as Record<string, unknown>;
    } catch {
      return {};
    }
  }
  const text = (name: string): string | undefined =>
    typeof attributes[name] === 'string' ? (attributes[name] as string) : undefined;
  const out: { context?: SpanContext; id?: string } = {};
  const parsed = parseTraceparent(text(CE.traceparent), text(CE.tracestate));
  if (parsed) out.context = parsed;
  const id = text(CE.id);
  if (id !== undefined) out.id = id;
  return out;
}
