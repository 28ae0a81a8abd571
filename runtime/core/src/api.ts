/**
 * The runtime's public surface: what generated code and user code call. Generated producers and
 * handler registrations are thin typed wrappers over {@link Runtime.publish} and
 * {@link Runtime.handle}; the string-typed methods here are the untyped escape hatch.
 */
import type { IdempotencyStore } from './idempotency.js';
import type { TopologyIR } from './ir.js';
import type { OutboxHealth } from './outbox.js';
import type { TelemetryOptions } from './telemetry.js';
import type { Transport } from './transport.js';

/** An ajv-compatible validation function (ajv `ValidateFunction` or ajv standalone output). */
export type ValidateFn = ((data: unknown) => boolean) & {
  errors?:
    | {
        instancePath: string;
        message?: string | undefined;
        keyword?: string | undefined;
        params?: unknown;
      }[]
    | null
    | undefined;
};

/** Payload validators by event name. */
export type ValidatorMap = Readonly<Record<string, ValidateFn>>;

/** A published or received event: CloudEvents attributes plus the typed payload. */
export interface EventEnvelope<TType extends string = string, TData = unknown> {
  /** Unique event id (UUID v4 unless given). */
  id: string;
  type: TType;
  /** The producing service. */
  source: string;
  specversion: '1.0';
  /**
   * RFC 3339 time of publication. Always set on what eventform publishes; CloudEvents makes it
   * optional, so an event from another producer may arrive without it.
   */
  time?: string | undefined;
  datacontenttype: 'application/json';
  /**
   * Shared by every event of one business flow (the `correlationid` extension). An event received
   * without one starts a new flow: it gets a fresh id.
   */
  correlationId: string;
  /** Id of the event whose handling published this one; `null` at the start of a flow. */
  causationId: string | null;
  /**
   * The event's schema version: on publish the topology's; on receipt the `eventversion` attribute
   * when the producer sent one (eventform does not), else the version the consuming topology declares.
   */
  eventVersion: number;
  /**
   * W3C Trace Context of the message's creation (the CloudEvents distributed-tracing extension):
   * with an OpenTelemetry SDK registered, the publish span's context; without one, the value given
   * in {@link PublishOptions.traceparent} or inherited from the event being handled.
   */
  traceparent?: string | undefined;
  /** The W3C `tracestate` that goes with {@link traceparent}. */
  tracestate?: string | undefined;
  /**
   * Ordering key (value of the event's `key` field, or the override); on the wire the CloudEvents
   * `partitionkey` extension, and on Kafka the message key.
   */
  key?: string | undefined;
  data: TData;
}

export interface PublishOptions {
  /** Continue this correlation (e.g. from an HTTP request header) instead of minting one. */
  correlationId?: string | undefined;
  causationId?: string | undefined;
  /** Override the ordering key taken from the payload. */
  key?: string | undefined;
  /** Extra headers; names must not clash with CloudEvents attributes or `ef-*`. */
  headers?: Record<string, string> | undefined;
  /** Event id; defaults to a new UUID. Useful to make a retried publish idempotent downstream. */
  id?: string | undefined;
  /**
   * A creation context of your own (W3C `traceparent`): sent unchanged, and the publish span
   * links to it instead of becoming the creation context.
   */
  traceparent?: string | undefined;
  /** The W3C `tracestate` that goes with `traceparent`; ignored without it. */
  tracestate?: string | undefined;
}

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/**
 * What `ctx.tx` is, registered by the store package a program imports: `@eventform/postgres`
 * declares `postgres: PoolClient` here, so with it `ctx.tx` is a `pg` client without a cast. Empty
 * (and `ctx.tx` typed `unknown`) when no transactional store is imported.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by declaration merging
export interface HandlerTransactions {}

/** The registered transaction type (see {@link HandlerTransactions}), else `unknown`. */
export type HandlerTransaction = [keyof HandlerTransactions] extends [never]
  ? unknown
  : HandlerTransactions[keyof HandlerTransactions];

/** Given to every handler invocation. */
export interface HandlerContext {
  /** `service.handler`. */
  consumer: string;
  /** 1-based attempt number of this delivery. */
  attempt: number;
  logger: Logger;
  /** Aborted when shutdown's grace period runs out; long handlers should honour it. */
  signal: AbortSignal;
  /**
   * The idempotency store's transaction for this event (the PostgreSQL store's `pg` client; typed
   * so once `@eventform/postgres` is imported, see {@link HandlerTransactions}): side effects
   * written through it commit atomically with the "processed" mark, so they happen once even if the
   * broker redelivers. With the outbox on, events published during the handler are written in it
   * too. The test harness gives an in-memory stand-in. Reading it when the store has no transaction
   * (the memory store) throws `TransactionUnavailableError` naming the consumer and the store.
   */
  readonly tx: HandlerTransaction;
  /**
   * Publish as this consumer's service. The new event inherits the handled event's correlation
   * id and takes its id as causation id. With the outbox on (see {@link RuntimeOptions.outbox}) it
   * is written in `ctx.tx` and published by the relay after the commit; otherwise it is sent now.
   */
  publish(event: string, payload: unknown, options?: PublishOptions): Promise<EventEnvelope>;
}

export type Handler = (event: EventEnvelope, ctx: HandlerContext) => Promise<void>;

export type HealthStatus = 'starting' | 'running' | 'degraded' | 'stopping' | 'stopped';

/**
 * The counters of one subscribed consumer: handler calls in flight, events handled, retries
 * scheduled, messages dead-lettered, duplicates skipped (idempotency), and spent messages dropped
 * on purpose (`deadLetter: false`, logged at error level).
 */
export interface ConsumerHealth {
  id: string;
  inFlight: number;
  handled: number;
  retried: number;
  deadLettered: number;
  duplicates: number;
  dropped: number;
}

export interface HealthState {
  status: HealthStatus;
  transport: string;
  /** Per subscribed consumer. */
  consumers: ConsumerHealth[];
  /** The in-process outbox relay's view (see `OutboxHealth`), when one runs. */
  outbox?: OutboxHealth | undefined;
}

export interface Runtime {
  readonly topology: TopologyIR;
  readonly transport: Transport;
  /**
   * Validate `payload` against the event's schema, build the envelope and publish it as `service`.
   * Rejects with `PublishValidationError` before anything is sent if the payload is invalid, and
   * with `UndeclaredEventError` if `service` does not declare the event in `produces`.
   * Inside a handler, correlation/causation are inherited unless given in `options`.
   */
  publish(service: string, event: string, payload: unknown, options?: PublishOptions): Promise<EventEnvelope>;
  /** Register the handler of consumer `service.handler`. Must be called before {@link start}. */
  handle(consumerId: string, handler: Handler): void;
  /**
   * Start the transport and subscribe every registered handler (or only those of `services`).
   * A consumer declared in the topology but without a registered handler is not subscribed.
   */
  start(options?: { services?: string[] | undefined }): Promise<void>;
  /** Graceful shutdown: stop fetching, finish in-flight handlers within the timeout, close. */
  stop(options?: { timeoutMs?: number | undefined }): Promise<void>;
  health(): HealthState;
}

/** Options of `createRuntime`; every default is documented here and applied in one place. */
export interface RuntimeOptions {
  topology: TopologyIR;
  /** @default a new in-memory transport */
  transport?: Transport | undefined;
  /** @default validators compiled with ajv from the IR's payload schemas at start-up */
  validators?: ValidatorMap | undefined;
  /**
   * Where consumers remember processed events (see `IdempotencyStore` for the contract). The
   * runtime calls `init()` on `start()` and `close()` on `stop()`.
   * @default an in-memory store (bounded, window as TTL)
   */
  idempotencyStore?: IdempotencyStore | undefined;
  /** @default JSON lines on stderr at the level of `EVENTFORM_LOG` (default `info`) */
  logger?: Logger | undefined;
  /** How long `stop()` waits for in-flight handlers. @default 10_000 */
  shutdownTimeoutMs?: number | undefined;
  /**
   * A message delivered this many times without an outcome (its consumer crashed or lost the
   * connection each time) is dead-lettered with reason `redelivery-limit` instead of being handled
   * again. The count is the broker's where it keeps one (RabbitMQ quorum queues, memory) and the
   * consumer process's on Kafka. The same limit applies to a message on which the delivery
   * pipeline itself failed (a bug): the runtime counts those failures per message and dead-letters
   * instead of releasing it once more.
   * @default 20
   */
  maxDeliveries?: number | undefined;
  /**
   * Bounds on what every consumer decodes before its handler runs; a message beyond them is
   * dead-lettered at once (see {@link InputLimits}).
   * @default { maxBodyBytes: 1_048_576, maxJsonDepth: 128 }
   */
  limits?: InputLimits | undefined;
  /**
   * Bounds for single consumers, by consumer id (`service.handler`), field by field over `limits`.
   * An id the topology does not declare makes `createRuntime` throw `ConsumerRegistrationError`.
   * @example { 'media-service.onUpload': { maxBodyBytes: 8 * 1024 * 1024 } }
   */
  consumerLimits?: Readonly<Record<string, InputLimits>> | undefined;
  /**
   * The transactional outbox, when the idempotency store has one (`@eventform/postgres`): events a
   * handler publishes are written in its transaction (`ctx.tx`) and published by a relay after the
   * commit, so its writes, the processed-event record and its events commit or roll back together.
   * `false` publishes directly everywhere; an object sets it per service and places the relay.
   * Without such a store this option changes nothing: handlers publish directly.
   * @default true (every service; a relay in this process)
   */
  outbox?: boolean | OutboxOptions | undefined;
  /**
   * OpenTelemetry: publish and process spans, handler metrics (see docs/telemetry.md). Only the
   * API is used; without an SDK everything is a no-op.
   * @default the global tracer and meter providers
   */
  telemetry?: TelemetryOptions | undefined;
}

/** Per-service outbox settings (see {@link RuntimeOptions.outbox}). */
export interface OutboxOptions {
  /**
   * Services whose handlers publish directly (dual write) set to `false`, by name; a name the
   * topology does not declare makes `createRuntime` throw `ConsumerRegistrationError`.
   * @default every service on
   * @example { 'notification-service': false }
   */
  services?: Readonly<Record<string, boolean>> | undefined;
  /**
   * Run a relay in this process between `start()` and `stop()`. Turn it off when `eventform relay`
   * (or `startOutboxRelay`) runs elsewhere; several relays at once are safe.
   * @default true
   */
  relay?: boolean | undefined;
}

/**
 * What a consumer accepts from the wire, checked before anything parses the body. A message
 * beyond a bound is a poison message: dead-lettered with the reason, never handled or retried.
 */
export interface InputLimits {
  /** Largest body, in bytes; a larger one is dead-lettered as `too-large`. @default 1_048_576 (1 MiB) */
  maxBodyBytes?: number | undefined;
  /**
   * Deepest nesting of JSON arrays and objects; a deeper body is dead-lettered as `invalid-json`
   * before it is parsed, so validation and dedupe keys never recurse that deep.
   * @default 128
   */
  maxJsonDepth?: number | undefined;
}
