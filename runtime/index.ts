/**
 * eventform runtime — the library generated code imports.
 *
 * Test support lives in `runtime/testing` (topology builder, service harness) and
 * `runtime/testing/conformance.ts` (the transport suite; imports vitest).
 */
export { createRuntime } from './core/runtime.js';
export type {
  EventEnvelope,
  Handler,
  HandlerContext,
  HealthState,
  HealthStatus,
  Logger,
  PublishOptions,
  Runtime,
  RuntimeOptions,
  ValidateFn,
  ValidatorMap,
} from './core/api.js';

export type * from './core/ir.js';
export type {
  Delivery,
  DeliveryHandler,
  Disposition,
  Headers,
  OutgoingMessage,
  Subscription,
  Transport,
  TransportCapabilities,
} from './core/transport.js';
export { CE, CE_PREFIX, EF, fromWireHeaders, toWireHeaders } from './core/headers.js';
export type { Binding, CloudEventAttribute } from './core/headers.js';

export {
  CONTENT_TYPE,
  SPEC_VERSION,
  assertExtraHeaders,
  attemptOf,
  decodeDelivery,
  encodeEnvelope,
  envelopeHeaders,
  parseJsonBody,
  readEnvelopeAttributes,
} from './core/envelope.js';
export type { EnvelopeAttributes } from './core/envelope.js';

export { currentEvent, currentScope, withCorrelation } from './core/context.js';
export type { CorrelationScope } from './core/context.js';

export {
  ConsumerRegistrationError,
  EnvelopeError,
  EventformError,
  InvalidJsonError,
  NonRetryableError,
  NotADeadLetterError,
  PublishOptionsError,
  PublishValidationError,
  RuntimeStateError,
  UndeclaredEventError,
  formatIssues,
} from './core/errors.js';
export type { EnvelopeProblem, ValidationIssue } from './core/errors.js';

export { assembleEventSchema, compileValidators, validatePayload } from './core/validation.js';
export { baseRetryDelay, decideRetry, retryDelay } from './core/retry-policy.js';
export type { RetryDecision } from './core/retry-policy.js';
export { DEAD_LETTER_REASONS, deadLetterHeaders, readDeadLetter, truncateUtf8 } from './core/dead-letter.js';
export type { DeadLetterInput, DeadLetterReason, DeadLetterRecord } from './core/dead-letter.js';

export { dedupeKey, idempotencyNamespace } from './core/idempotency.js';
export type { IdempotencyResult, IdempotencyStore } from './core/idempotency.js';

export {
  childLogger,
  createJsonLogger,
  isLevelEnabled,
  levelFromEnv,
  prettyLogger,
  silentLogger,
} from './core/logger.js';
export type { JsonLoggerOptions, LeveledLogger, LogLevel, PrettyLoggerOptions } from './core/logger.js';

export {
  DEAD_LETTER_DEFAULTS,
  MEMORY_STORE_DEFAULTS,
  MEMORY_TRANSPORT_DEFAULTS,
  POSTGRES_STORE_DEFAULTS,
  RUNTIME_DEFAULTS,
} from './core/defaults.js';

export { MemoryBroker, MemoryTransport, createMemoryTransport } from './transports/memory/index.js';
export { BROKER_NAMES, UnknownBrokerError, brokerFromEnv, createTransportFromEnv } from './transports/from-env.js';
export type { BrokerName, TransportFromEnvOptions } from './transports/from-env.js';
export type { MemoryDeadLetter, MemoryTransportOptions, RawMessage } from './transports/memory/index.js';

export {
  MemoryIdempotencyStore,
  PostgresIdempotencyStore,
  createMemoryStore,
  createPostgresStore,
} from './stores/index.js';
export type { MemoryStoreOptions, PostgresStoreOptions, PostgresTx } from './stores/index.js';
