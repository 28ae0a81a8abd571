/**
 * The runtime: publishing (validate → envelope → transport) and the delivery pipeline every
 * transport feeds (decode → type check → bounded JSON → validate → dedupe key → idempotent handler
 * run → disposition).
 *
 * Concurrency and ordering are the transport's job: it calls the pipeline at most
 * `consumer.concurrency` times at once. The pipeline never throws; every outcome is a
 * {@link Disposition}, which is what makes retries and dead letters identical on every broker.
 * Whatever arrives is untrusted: every failure before the handler runs is a poison message,
 * dead-lettered with its reason, never released for redelivery.
 */
import type {
  ConsumerHealth,
  EventEnvelope,
  Handler,
  HandlerContext,
  HealthState,
  HealthStatus,
  InputLimits,
  Logger,
  OutboxOptions,
  PublishOptions,
  Runtime,
  RuntimeOptions,
  ValidatorMap,
} from './api.js';
import { currentScope, handlerScope, runInScope } from './context.js';
import type { CorrelationScope } from './context.js';
import type { DeadLetterReason } from './dead-letter.js';
import { deadLetterHeaders } from './dead-letter.js';
import { RUNTIME_DEFAULTS } from './defaults.js';
import { assertExtraHeaders, decodeEvent, encodeEnvelope, newEnvelope, readAttempt } from './envelope.js';
import {
  ConsumerRegistrationError,
  NonRetryableError,
  PublishValidationError,
  RuntimeStateError,
  UndeclaredEventError,
  formatIssues,
} from './errors.js';
import { CE, EF, setHeader } from './headers.js';
import { dedupeKey, idempotencyNamespace } from './idempotency.js';
import type { IdempotencyResult, IdempotencyStore } from './idempotency.js';
import type { ConsumerIR, EventIR, TopologyIR } from './ir.js';
import { childLogger, createJsonLogger, isLevelEnabled } from './logger.js';
import {
  OutboxTransaction,
  TransactionUnavailableError,
  currentOutboxTransaction,
  runInOutboxTransaction,
} from './outbox.js';
import type { OutboxRelayHandle, TransactionalOutbox } from './outbox.js';
import type { BodyLimits } from './json-body.js';
import type { DecodeOptions } from './envelope.js';
import { PipelineFailures } from './pipeline-failures.js';
import { decideRetry } from './retry-policy.js';
import type { Delivery, Disposition, Headers, Subscription, Transport } from './transport.js';
import { RuntimeTelemetry, endPublishSpan } from './telemetry.js';
import type { ConsumerTelemetry, DeliveryObservation } from './telemetry.js';
import type { Span } from '@opentelemetry/api';
import { resolveValidators, validatePayload } from './validation.js';
import { createMemoryStore } from './memory/memory-store.js';
import { createMemoryTransport } from './memory/memory-transport.js';

const ACK: Disposition = Object.freeze({ kind: 'ack' });
const RELEASE: Disposition = Object.freeze({ kind: 'release' });

/** A consumer's counters, as `health()` reports them. */
type ConsumerStats = Omit<ConsumerHealth, 'id'>;

interface ConsumerState {
  ir: ConsumerIR;
  events: ReadonlySet<string>;
  /** Key namespace in the idempotency store. */
  namespace: string;
  /** What its deliveries may be: body size, JSON depth. */
  limits: BodyLimits;
  /** How `decodeEvent` reads its deliveries: its limits and its types; made once, not per message. */
  decode: DecodeOptions;
  handler: Handler | undefined;
  subscription: Subscription | undefined;
  stats: ConsumerStats;
  /** Where its handler's publishes go while its transaction is open; undefined: sent directly. */
  outbox: TransactionalOutbox | undefined;
  telemetry: ConsumerTelemetry;
}

/**
 * Create a runtime for a topology. Nothing connects until {@link Runtime.start} (or the first
 * `publish`, which starts the transport only).
 *
 * @example
 * const runtime = createRuntime({ topology, transport: createMemoryTransport() });
 * runtime.handle('inventory-service.reserveStock', async (event, ctx) => { ... });
 * await runtime.start();
 */
export function createRuntime(options: RuntimeOptions): Runtime {
  return new EventformRuntime(options);
}

class EventformRuntime implements Runtime {
  readonly topology: TopologyIR;
  readonly transport: Transport;
  readonly logger: Logger;
  private readonly validators: ValidatorMap;
  private readonly store: IdempotencyStore;
  /** The store's outbox, when any service uses it. */
  private readonly outbox: TransactionalOutbox | undefined;
  private readonly outboxRelay: boolean;
  private relay: OutboxRelayHandle | undefined;
  private readonly shutdownTimeoutMs: number;
  private readonly maxDeliveries: number;
  private readonly pipelineFailures = new PipelineFailures(RUNTIME_DEFAULTS.pipelineFailureMemory);
  private readonly telemetry: RuntimeTelemetry;
  private readonly events = new Map<string, EventIR>();
  private readonly produces = new Map<string, ReadonlySet<string>>();
  private readonly consumers = new Map<string, ConsumerState>();
  private readonly shutdown = new AbortController();
  private readonly debugEnabled: boolean;
  private status: HealthStatus = 'stopped';
  private transportStarted: Promise<void> | undefined;
  private transportReady = false;
  private storeStarted = false;
  private startPromise: Promise<void> | undefined;
  private stopPromise: Promise<void> | undefined;

  constructor(options: RuntimeOptions) {
    this.topology = options.topology;
    this.transport = options.transport ?? createMemoryTransport();
    this.store = options.idempotencyStore ?? createMemoryStore();
    this.logger = options.logger ?? createJsonLogger();
    this.shutdownTimeoutMs = options.shutdownTimeoutMs ?? RUNTIME_DEFAULTS.shutdownTimeoutMs;
    this.maxDeliveries = options.maxDeliveries ?? RUNTIME_DEFAULTS.maxDeliveries;
    this.validators = resolveValidators(this.topology, options.validators);
    this.telemetry = new RuntimeTelemetry(this.transport.name, this.topology.events, options.telemetry);
    this.debugEnabled = isLevelEnabled(this.logger, 'debug');
    for (const event of this.topology.events) this.events.set(event.name, event);
    for (const service of this.topology.services) this.produces.set(service.name, new Set(service.produces));
    const limits = resolveLimits(this.topology, options);
    const outbox = resolveOutbox(this.topology, this.store, options.outbox);
    this.outbox = outbox.services.size > 0 || outbox.relay ? this.store.outbox : undefined;
    this.outboxRelay = outbox.relay;
    for (const consumer of this.topology.consumers) {
      const consumerLimits = limits.get(consumer.id)!;
      const state: ConsumerState = {
        ir: consumer,
        events: new Set(consumer.events),
        namespace: idempotencyNamespace(this.topology.name, consumer.id),
        limits: consumerLimits,
        decode: { limits: consumerLimits, resolveType: (type) => this.declaredVersion(state, type) },
        handler: undefined,
        subscription: undefined,
        stats: { inFlight: 0, handled: 0, retried: 0, deadLettered: 0, duplicates: 0, dropped: 0 },
        outbox: outbox.services.has(consumer.service) ? this.store.outbox : undefined,
        telemetry: this.telemetry.consumer(consumer, this.events),
      };
      this.consumers.set(consumer.id, state);
    }
  }

  get signal(): AbortSignal {
    return this.shutdown.signal;
  }

  get storeName(): string {
    return this.store.name;
  }

  // ---- publishing --------------------------------------------------------------------------

  publish(service: string, event: string, payload: unknown, options?: PublishOptions): Promise<EventEnvelope> {
    return this.publishAs(service, event, payload, options, currentScope());
  }

  /**
   * Not async, on purpose: a publish makes one promise here (the transport's, and the reaction that
   * ends the span) rather than one per `await`, since each promise costs the async hooks of the
   * correlation scope's AsyncLocalStorage. Whatever goes wrong is a rejection, never a throw.
   */
  publishAs(
    service: string,
    eventName: string,
    payload: unknown,
    options: PublishOptions | undefined,
    scope: CorrelationScope | undefined,
  ): Promise<EventEnvelope> {
    let envelope: EventEnvelope;
    let span: Span | undefined;
    let sent: Promise<void>;
    try {
      if (this.stopPromise && this.status === 'stopped')
        throw new RuntimeStateError('Cannot publish: the runtime is stopped');
      const event = this.events.get(eventName);
      if (!event) throw new UndeclaredEventError(service, eventName, 'unknown-event');
      const produced = this.produces.get(service);
      if (!produced) throw new UndeclaredEventError(service, eventName, 'unknown-service');
      if (!produced.has(eventName)) throw new UndeclaredEventError(service, eventName, 'not-produced');
      const issues = validatePayload(this.validators[eventName]!, payload);
      if (issues) throw new PublishValidationError(eventName, issues);
      if (options?.headers) assertExtraHeaders(options.headers);

      envelope = newEnvelope(event, service, payload, {
        id: options?.id,
        correlationId: options?.correlationId ?? scope?.correlationId,
        causationId: options?.causationId ?? scope?.causationId,
        traceparent: options?.traceparent ?? scope?.traceparent,
        tracestate: options?.traceparent !== undefined ? options.tracestate : undefined,
        key: options?.key,
      });

      // Inside a transaction with an outbox (a handler's, or withOutbox): written there, sent after commit.
      const outboxTx = currentOutboxTransaction();
      // The span's context becomes the envelope's traceparent (when an SDK records), so it starts first.
      span = this.telemetry.startPublish(event, envelope, outboxTx !== null, options?.traceparent !== undefined);
      const message = encodeEnvelope(envelope, options?.headers, event.contentMode);
      try {
        if (outboxTx) sent = outboxTx.write({ topology: this.topology.name, event, message });
        else if (this.transportReady) sent = this.transport.publish(event, message);
        else sent = this.ensureTransport().then(() => this.transport.publish(event, message));
      } catch (error) {
        endPublishSpan(span, error);
        throw error;
      }
    } catch (error) {
      return Promise.reject(error);
    }
    return sent.then(
      () => {
        endPublishSpan(span);
        return envelope;
      },
      (error: unknown) => {
        endPublishSpan(span, error);
        throw error;
      },
    );
  }

  private ensureTransport(): Promise<void> {
    this.transportStarted ??= this.transport.start(this.topology).then(
      () => void (this.transportReady = true),
      (error: unknown) => {
        this.transportStarted = undefined;
        throw error;
      },
    );
    return this.transportStarted;
  }

  // ---- lifecycle ---------------------------------------------------------------------------

  handle(consumerId: string, handler: Handler): void {
    const consumer = this.consumers.get(consumerId);
    if (!consumer) {
      const known = [...this.consumers.keys()].join(', ');
      throw new ConsumerRegistrationError(
        `Unknown consumer "${consumerId}" (topology ${this.topology.name} declares: ${known || 'none'})`,
      );
    }
    if (this.startPromise) throw new ConsumerRegistrationError(`Register "${consumerId}" before start()`);
    if (consumer.handler) throw new ConsumerRegistrationError(`A handler for "${consumerId}" is already registered`);
    consumer.handler = handler;
  }

  start(options?: { services?: string[] }): Promise<void> {
    if (this.stopPromise)
      return Promise.reject(new RuntimeStateError('Cannot start a stopped runtime; create a new one'));
    this.startPromise ??= this.doStart(options?.services);
    return this.startPromise;
  }

  private async doStart(services: string[] | undefined): Promise<void> {
    this.status = 'starting';
    if (services) {
      const unknown = services.filter((s) => !this.produces.has(s));
      if (unknown.length > 0) throw new ConsumerRegistrationError(`Unknown service(s): ${unknown.join(', ')}`);
    }
    try {
      await this.ensureTransport();
      await this.store.init();
      this.storeStarted = true;
      if (this.outbox && this.outboxRelay) {
        const transport = this.telemetry.relayTransport(this.transport);
        const target = { topology: this.topology, transport, logger: this.logger };
        // Outside any outbox transaction the caller may be in: the relay publishes, it never writes.
        this.relay = await runInOutboxTransaction(null, () => this.outbox!.startRelay(target));
      }
      const subscribed: string[] = [];
      for (const consumer of this.consumers.values()) {
        if (!consumer.handler || (services && !services.includes(consumer.ir.service))) continue;
        consumer.subscription = await this.transport.subscribe(consumer.ir, (delivery) =>
          this.deliver(consumer, delivery),
        );
        subscribed.push(consumer.ir.id);
      }
      this.status = 'running';
      this.logger.info('runtime started', {
        topology: this.topology.name,
        transport: this.transport.name,
        idempotencyStore: this.store.name,
        consumers: subscribed,
      });
    } catch (error) {
      this.status = 'degraded';
      this.logger.error('runtime failed to start', {
        topology: this.topology.name,
        transport: this.transport.name,
        error,
      });
      throw error;
    }
  }

  stop(options?: { timeoutMs?: number }): Promise<void> {
    this.stopPromise ??= this.doStop(options?.timeoutMs ?? this.shutdownTimeoutMs);
    return this.stopPromise;
  }

  private async doStop(timeoutMs: number): Promise<void> {
    await this.startPromise?.catch(() => {});
    this.status = 'stopping';
    // Past the grace period, handlers see ctx.signal abort and the transport gives back what is left.
    const timer = setTimeout(() => this.shutdown.abort(new Error('shutdown grace period elapsed')), timeoutMs);
    const subscriptions = [...this.consumers.values()].flatMap((c) => (c.subscription ? [c.subscription] : []));
    const results = await Promise.allSettled(subscriptions.map((s) => s.stop({ timeoutMs })));
    clearTimeout(timer);
    for (const r of results)
      if (r.status === 'rejected') this.logger.error('subscription failed to stop', { error: r.reason });
    for (const consumer of this.consumers.values()) consumer.subscription = undefined;
    if (this.relay) await this.stopRelay(this.relay, timeoutMs);
    if (this.transportStarted) {
      await this.transport
        .close({ timeoutMs })
        .catch((error: unknown) => this.logger.error('transport failed to close', { error }));
    }
    if (this.storeStarted) {
      await this.store
        .close()
        .catch((error: unknown) => this.logger.error('idempotency store failed to close', { error }));
    }
    this.status = 'stopped';
    this.logger.info('runtime stopped', { topology: this.topology.name });
  }

  /** Publish what the handlers committed (within the grace period), then stop the relay. */
  private async stopRelay(relay: OutboxRelayHandle, timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const flushed = await Promise.race([
      relay.flush().then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]).catch(() => false);
    clearTimeout(timer);
    if (!flushed) this.logger.warn('outbox relay stopped with rows left to publish; the next relay publishes them');
    await relay.stop().catch((error: unknown) => this.logger.error('outbox relay failed to stop', { error }));
  }

  health(): HealthState {
    const consumers: HealthState['consumers'] = [];
    for (const c of this.consumers.values()) {
      if (c.handler) consumers.push({ id: c.ir.id, ...c.stats });
    }
    const health: HealthState = { status: this.status, transport: this.transport.name, consumers };
    if (this.relay) health.outbox = this.relay.health();
    return health;
  }

  // ---- the delivery pipeline ---------------------------------------------------------------

  /**
   * The pipeline as the transport calls it. Not async, nor is anything up to the handler: a
   * delivery makes three promises here (the idempotency store's, the handler's and the reaction
   * that decides the disposition) instead of one per `await`, since each promise costs the async
   * hooks of the correlation scope's AsyncLocalStorage. It rejects only if the pipeline failed and
   * then logging that failed too.
   */
  private deliver(consumer: ConsumerState, delivery: Delivery): Promise<Disposition> {
    try {
      const observation = consumer.telemetry.observe();
      let outcome: Disposition | Promise<Disposition>;
      try {
        outcome = this.process(consumer, delivery, observation);
      } catch (error) {
        outcome = this.pipelineFailed(consumer, delivery, error);
      }
      // A promise from `process` is observed already.
      if (outcome instanceof Promise) return outcome;
      return Promise.resolve(this.observed(observation, outcome, consumer, delivery));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private observed(
    observation: DeliveryObservation,
    disposition: Disposition,
    consumer: ConsumerState,
    delivery: Delivery,
  ): Disposition {
    try {
      observation.end(disposition, delivery.headers);
    } catch (error) {
      this.logger.warn('telemetry failed to record a delivery', { consumer: consumer.ir.id, error });
    }
    return disposition;
  }

  /**
   * Only a bug in the pipeline itself gets here. The message is kept (released for redelivery)
   * rather than lost, but not forever: past `maxDeliveries` failures on the same message it is
   * dead-lettered, also where the broker does not count deliveries.
   */
  private pipelineFailed(consumer: ConsumerState, delivery: Delivery, error: unknown): Disposition {
    const id = consumer.ir.id;
    const failures = Math.max(this.pipelineFailures.record(id, delivery), (delivery.deliveryCount ?? 0) + 1);
    if (failures >= this.maxDeliveries) {
      try {
        const why = `The delivery pipeline failed on this message ${failures} times (maxDeliveries ${this.maxDeliveries}): ${messageOf(error)}`;
        const attempt = readAttempt(delivery.headers, consumer.ir).attempt;
        return this.poison(consumer, delivery, attempt, 'redelivery-limit', new Error(why));
      } catch (again) {
        this.logger.error('delivery pipeline failed to dead-letter a message it keeps failing on', {
          consumer: id,
          error: again,
        });
      }
    }
    this.logger.error('delivery pipeline failed; message released', { consumer: id, failures, error });
    return RELEASE;
  }

  /**
   * Everything before the handler runs synchronously: a poison message gets its disposition
   * without a promise. Throws only on a bug (see `pipelineFailed`).
   */
  private process(
    consumer: ConsumerState,
    delivery: Delivery,
    observation: DeliveryObservation,
  ): Disposition | Promise<Disposition> {
    const headers = delivery.headers;
    const reading = readAttempt(headers, consumer.ir);
    const attempt = reading.attempt;
    observation.attempt = attempt;
    if (delivery.undecodable !== undefined) {
      return this.poison(consumer, delivery, attempt, 'invalid-headers', new Error(delivery.undecodable));
    }
    if (delivery.deliveryCount !== undefined && delivery.deliveryCount >= this.maxDeliveries) {
      // Each earlier delivery ended without an outcome: the handler most likely takes the process down.
      const why = `Delivered ${delivery.deliveryCount + 1} times without an outcome (maxDeliveries ${this.maxDeliveries}); the handler may crash its process`;
      return this.poison(consumer, delivery, attempt, 'redelivery-limit', new Error(why));
    }
    // Either content mode; the type is checked as soon as it is known, the body within bounds.
    const decoded = decodeEvent(delivery, consumer.decode);
    if (!decoded.ok) return this.poison(consumer, delivery, attempt, decoded.reason, decoded.error);
    const envelope = decoded.envelope;
    observation.decoded(envelope);
    const type = envelope.type;
    const data = envelope.data;
    if (reading.problem !== undefined) {
      // Only our own retry path writes ef-attempt; a value out of range was forged or is stale.
      this.logger.warn('ef-attempt header not taken as sent', {
        consumer: consumer.ir.id,
        eventType: type,
        eventId: envelope.id,
        correlationId: envelope.correlationId,
        attempt,
        problem: reading.problem,
      });
    }
    let issues: ReturnType<typeof validatePayload>;
    try {
      issues = validatePayload(this.validators[type]!, data);
    } catch (error) {
      // A validator that throws (a stack overflow on a recursive schema, a bug) has not shown the
      // payload valid: it is poison, not a reason to release the message again and again.
      const why = `Payload of ${type} could not be validated: ${errorText(error)}`;
      return this.poison(consumer, delivery, attempt, 'schema-invalid', new Error(why));
    }
    if (issues) {
      return this.poison(
        consumer,
        delivery,
        attempt,
        'schema-invalid',
        new Error(`Payload does not match ${type}: ${formatIssues(issues)}`),
      );
    }
    const idempotency = consumer.ir.idempotency;
    let key: string | undefined;
    if (idempotency.enabled) {
      try {
        key = dedupeKey(idempotency, envelope.id, data);
      } catch (error) {
        const why = `No dedupe key from payload field "${idempotency.key}": ${errorText(error)}`;
        return this.poison(consumer, delivery, attempt, 'invalid-dedupe-key', new Error(why));
      }
    }

    consumer.stats.inFlight++;
    const started = this.debugEnabled ? performance.now() : 0;
    let running: Promise<unknown>;
    try {
      const scope = handlerScope(envelope, consumer.ir.id);
      // Inline arrows, not named closures: this runs per message (and named ones cost more under tsx).
      if (key !== undefined) {
        running = this.store.run(consumer.namespace, key, idempotency.windowMs, (tx) =>
          this.invoke(consumer, envelope, scope, attempt, tx, observation),
        );
      } else if (this.store.transaction) {
        running = this.store.transaction((tx) => this.invoke(consumer, envelope, scope, attempt, tx, observation));
      } else {
        running = Promise.resolve(this.invoke(consumer, envelope, scope, attempt, undefined, observation));
      }
    } catch (error) {
      consumer.stats.inFlight--;
      return this.failed(consumer, delivery, envelope, attempt, error);
    }
    return running.then(
      (result) => this.settled(consumer, delivery, observation, envelope, attempt, key, started, false, result),
      (error: unknown) => this.settled(consumer, delivery, observation, envelope, attempt, key, started, true, error),
    );
  }

  /**
   * The disposition of a delivery whose handler ran (or was skipped as a duplicate), observed: what
   * `process` resolves to never rejects and is already recorded by telemetry.
   */
  private settled(
    consumer: ConsumerState,
    delivery: Delivery,
    observation: DeliveryObservation,
    envelope: EventEnvelope,
    attempt: number,
    key: string | undefined,
    started: number,
    failed: boolean,
    result: unknown,
  ): Disposition {
    consumer.stats.inFlight--;
    let disposition: Disposition;
    try {
      disposition = failed
        ? this.failed(consumer, delivery, envelope, attempt, result)
        : this.completed(consumer, delivery, observation, envelope, attempt, key, started, result);
    } catch (error) {
      disposition = this.pipelineFailed(consumer, delivery, error);
    }
    return this.observed(observation, disposition, consumer, delivery);
  }

  /** `result`: the store's (idempotency on) or the transaction's result, or the handler's. */
  private completed(
    consumer: ConsumerState,
    delivery: Delivery,
    observation: DeliveryObservation,
    envelope: EventEnvelope,
    attempt: number,
    key: string | undefined,
    started: number,
    result: unknown,
  ): Disposition {
    let written = result;
    if (key !== undefined) {
      const run = result as IdempotencyResult<unknown>;
      if (run.duplicate) {
        observation.duplicate = true;
        consumer.stats.duplicates++;
        if (this.debugEnabled)
          this.logger.debug('duplicate skipped', { ...deliveryFields(consumer, envelope, attempt), dedupeKey: key });
        return ACK;
      }
      written = run.value;
    }
    try {
      // What the handler wrote through the outbox is committed: the relay may send it now.
      if (written instanceof OutboxTransaction) written.outbox.committed();
    } catch (error) {
      return this.failed(consumer, delivery, envelope, attempt, error);
    }
    consumer.stats.handled++;
    if (this.debugEnabled) {
      this.logger.debug('event handled', {
        ...deliveryFields(consumer, envelope, attempt),
        durationMs: Math.round(performance.now() - started),
      });
    }
    return ACK;
  }

  /**
   * The handler, in the handling scope (correlation for what it publishes), with its `ctx`. With
   * the outbox on, its publishes are written through `tx`; resolves to that outbox transaction
   * when it wrote something, so the caller can announce the commit.
   */
  private invoke(
    consumer: ConsumerState,
    envelope: EventEnvelope,
    scope: CorrelationScope,
    attempt: number,
    tx: unknown,
    observation: DeliveryObservation,
  ): Promise<OutboxTransaction | undefined | void> {
    const handler = consumer.handler!;
    const ctx = new DeliveryContext(this, consumer, envelope, scope, attempt, tx);
    // In the process span's context (what it publishes are its children), timed.
    if (consumer.outbox && tx !== undefined)
      return invokeWithOutbox(consumer.outbox, tx, scope, () => observation.runHandler(() => handler(envelope, ctx)));
    // An outbox transaction of whoever delivered this in-process does not extend into the handler.
    if (currentOutboxTransaction()) {
      return runInOutboxTransaction(null, () =>
        runInScope(scope, () => observation.runHandler(() => handler(envelope, ctx))),
      );
    }
    return runInScope(scope, () => observation.runHandler(() => handler(envelope, ctx)));
  }

  private failed(
    consumer: ConsumerState,
    delivery: Delivery,
    envelope: EventEnvelope,
    attempt: number,
    error: unknown,
  ): Disposition {
    const fields = deliveryFields(consumer, envelope, attempt);
    if (this.shutdown.signal.aborted) {
      this.logger.warn('handler interrupted by shutdown; message released for redelivery', {
        ...fields,
        error: messageOf(error),
      });
      return RELEASE;
    }
    if (error instanceof NonRetryableError) {
      return this.deadLetter(consumer, delivery, attempt, 'non-retryable', error, fields);
    }
    const decision = decideRetry(consumer.ir.retry, attempt);
    if (!decision.retry) return this.deadLetter(consumer, delivery, attempt, 'retries-exhausted', error, fields);
    consumer.stats.retried++;
    this.logger.warn('handler failed; retry scheduled', {
      ...fields,
      error: messageOf(error),
      delayMs: decision.delayMs,
      nextAttempt: decision.nextAttempt,
    });
    return { kind: 'retry', delayMs: decision.delayMs, headers: retryHeaders(delivery, decision.nextAttempt) };
  }

  /** The version `consumer` declares for `type`, or why it does not take that type. */
  private declaredVersion(consumer: ConsumerState, type: string | undefined): number | Error {
    if (type !== undefined && consumer.events.has(type)) return this.events.get(type)!.version;
    return new Error(
      type === undefined
        ? 'Missing "type" attribute'
        : this.events.has(type)
          ? `Consumer ${consumer.ir.id} does not consume "${type}"`
          : `Unknown event type "${type}"`,
    );
  }

  private poison(
    consumer: ConsumerState,
    delivery: Delivery,
    attempt: number,
    reason: DeadLetterReason,
    error: unknown,
  ): Disposition {
    const headers = delivery.headers;
    const fields: Record<string, unknown> = {
      consumer: consumer.ir.id,
      eventType: headers[CE.type],
      eventId: headers[CE.id],
      correlationId: headers[CE.correlationid],
      attempt,
    };
    // No handler ran: a stack trace would only show the runtime's own parsing code.
    return this.deadLetter(consumer, delivery, attempt, reason, messageOf(error), fields);
  }

  private deadLetter(
    consumer: ConsumerState,
    delivery: Delivery,
    attempt: number,
    reason: DeadLetterReason,
    error: unknown,
    fields: Record<string, unknown>,
  ): Disposition {
    if (!consumer.ir.deadLetter) {
      consumer.stats.dropped++;
      this.logger.error('message dropped on purpose (deadLetter: false)', {
        ...fields,
        reason,
        error: messageOf(error),
      });
      return ACK;
    }
    consumer.stats.deadLettered++;
    this.logger.error('message dead-lettered', { ...fields, reason, error });
    const now = new Date().toISOString();
    const headers = deadLetterHeaders(delivery.headers, {
      reason,
      error,
      attempts: attempt,
      origin: delivery.headers[EF.origin] ?? delivery.origin,
      consumer: consumer.ir.id,
      firstFailure: delivery.headers[EF.firstFailure] ?? now,
      lastFailure: now,
      // A structured-mode event carries it in its body: the decoded envelope's, when there is one.
      correlationId:
        delivery.headers[CE.correlationid] ?? (typeof fields.correlationId === 'string' ? fields.correlationId : null),
    });
    return { kind: 'dead-letter', headers };
  }
}

/** What a handler gets as `ctx`; the logger is built only when used. */
class DeliveryContext implements HandlerContext {
  readonly consumer: string;
  private childLogger: Logger | undefined;
  private boundPublish: HandlerContext['publish'] | undefined;

  constructor(
    private readonly runtime: EventformRuntime,
    private readonly state: ConsumerState,
    private readonly envelope: EventEnvelope,
    private readonly scope: CorrelationScope,
    readonly attempt: number,
    private readonly transaction: unknown,
  ) {
    this.consumer = state.ir.id;
  }

  get tx(): HandlerContext['tx'] {
    if (this.transaction === undefined) {
      throw new TransactionUnavailableError(
        `ctx.tx is missing: ${this.consumer} runs without a transaction, because the runtime's idempotency store ` +
          `("${this.runtime.storeName}") has none. Use createPostgresStore from @eventform/postgres ` +
          '(createTestHarness gives handlers an in-memory stand-in).',
      );
    }
    return this.transaction as HandlerContext['tx'];
  }

  get signal(): AbortSignal {
    return this.runtime.signal;
  }

  get logger(): Logger {
    this.childLogger ??= childLogger(this.runtime.logger, deliveryFields(this.state, this.envelope, this.attempt));
    return this.childLogger;
  }

  /** Bound, so `const { publish } = ctx` works; made on first use, not for every delivery. */
  get publish(): HandlerContext['publish'] {
    this.boundPublish ??= this.publishInScope.bind(this);
    return this.boundPublish;
  }

  private publishInScope(event: string, payload: unknown, options?: PublishOptions): Promise<EventEnvelope> {
    return this.runtime.publishAs(this.state.ir.service, event, payload, options, this.scope);
  }
}

function deliveryFields(consumer: ConsumerState, envelope: EventEnvelope, attempt: number): Record<string, unknown> {
  return {
    consumer: consumer.ir.id,
    eventType: envelope.type,
    eventId: envelope.id,
    correlationId: envelope.correlationId,
    attempt,
  };
}

function retryHeaders(delivery: Delivery, nextAttempt: number): Headers {
  const headers: Headers = {};
  const original = delivery.headers;
  for (const name in original) {
    if (name !== EF.retryFor && name !== EF.dueAt) setHeader(headers, name, original[name]!);
  }
  headers[EF.attempt] = String(nextAttempt);
  headers[EF.firstFailure] ??= new Date().toISOString();
  headers[EF.origin] ??= delivery.origin;
  return headers;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** `RangeError: Maximum call stack size exceeded`: the kind of error matters when it is not ours. */
function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** Runs a handler with its publishes written through `tx`; resolves to the outbox transaction if it wrote. */
async function invokeWithOutbox(
  outbox: TransactionalOutbox,
  tx: unknown,
  scope: CorrelationScope,
  run: () => Promise<void>,
): Promise<OutboxTransaction | undefined> {
  const outboxTx = new OutboxTransaction(outbox, tx);
  try {
    await runInOutboxTransaction(outboxTx, () => runInScope(scope, run));
  } finally {
    await outboxTx.close();
  }
  return outboxTx.written > 0 ? outboxTx : undefined;
}

/** Which services publish into the store's outbox from their handlers, and whether a relay runs here. */
function resolveOutbox(
  topology: TopologyIR,
  store: IdempotencyStore,
  option: boolean | OutboxOptions | undefined,
): { services: Set<string>; relay: boolean } {
  const settings: OutboxOptions = typeof option === 'object' ? option : {};
  const names = new Set(topology.services.map((s) => s.name));
  const unknown = Object.keys(settings.services ?? {}).filter((name) => !names.has(name));
  if (unknown.length > 0) {
    throw new ConsumerRegistrationError(
      `outbox.services names service(s) topology ${topology.name} does not declare: ${unknown.join(', ')}`,
    );
  }
  const on = store.outbox !== undefined && (option ?? RUNTIME_DEFAULTS.outbox) !== false;
  const services = new Set<string>();
  if (on) for (const name of names) if (settings.services?.[name] ?? true) services.add(name);
  return { services, relay: on && (settings.relay ?? RUNTIME_DEFAULTS.outboxRelay) };
}

/** Each consumer's body limits: defaults, then `limits`, then its own `consumerLimits` entry. */
function resolveLimits(
  topology: TopologyIR,
  options: Pick<RuntimeOptions, 'limits' | 'consumerLimits'>,
): Map<string, BodyLimits> {
  const ids = new Set(topology.consumers.map((c) => c.id));
  const overrides = options.consumerLimits ?? {};
  const unknown = Object.keys(overrides).filter((id) => !ids.has(id));
  if (unknown.length > 0) {
    throw new ConsumerRegistrationError(
      `consumerLimits names consumer(s) topology ${topology.name} does not declare: ${unknown.join(', ')}`,
    );
  }
  const base = withLimits(
    { maxBodyBytes: RUNTIME_DEFAULTS.maxBodyBytes, maxJsonDepth: RUNTIME_DEFAULTS.maxJsonDepth },
    options.limits,
    'limits',
  );
  const out = new Map<string, BodyLimits>();
  for (const id of ids) out.set(id, overrides[id] ? withLimits(base, overrides[id], `consumerLimits["${id}"]`) : base);
  return out;
}

function withLimits(base: BodyLimits, given: InputLimits | undefined, where: string): BodyLimits {
  if (!given) return base;
  const out = { ...base };
  for (const name of ['maxBodyBytes', 'maxJsonDepth'] as const) {
    const value = given[name];
    if (value === undefined) continue;
    if (!(value === Infinity || (Number.isInteger(value) && value >= 1))) {
      throw new RangeError(`${where}.${name} must be a positive integer or Infinity, got ${String(value)}`);
    }
    out[name] = value;
  }
  return Object.freeze(out);
}
