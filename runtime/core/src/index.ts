/**
 * @eventform/runtime — the library generated code and services import: the runtime, the envelope,
 * retries, dead letters, idempotency and the in-memory broker. Broker bindings are packages of
 * their own (`@eventform/rabbitmq`, `@eventform/kafka`); the PostgreSQL store is `@eventform/postgres`.
 * Test support (service harness, transport conformance suite) is `@eventform/runtime/testing`.
 */
export { createRuntime } from './runtime.js';
export type {
  ConsumerHealth,
  EventEnvelope,
  Handler,
  HandlerContext,
  HandlerTransaction,
  HandlerTransactions,
  HealthState,
  HealthStatus,
  InputLimits,
  Logger,
  OutboxOptions,
  PublishOptions,
  Runtime,
  RuntimeOptions,
  ValidateFn,
  ValidatorMap,
} from './api.js';

export type * from './ir.js';
export type {
  Delivery,
  DeliveryHandler,
  Disposition,
  Headers,
  OutgoingMessage,
  Subscription,
  Transport,
  TransportCapabilities,
} from './transport.js';
export { CE, CE_PREFIX, CONTENT_TYPE_HEADER, EF, fromWireHeaders, toWireHeaders } from './headers.js';
export type { Binding, CloudEventAttribute } from './headers.js';

export {
  CONTENT_TYPE,
  SPEC_VERSION,
  STRUCTURED_CONTENT_TYPE,
  assertExtraHeaders,
  attemptOf,
  contentModeOf,
  decodeDelivery,
  decodeEvent,
  encodeEnvelope,
  envelopeHeaders,
  parseJsonBody,
  readAttempt,
  readEnvelopeAttributes,
  structuredEvent,
} from './envelope.js';
export type { AttemptReading, DecodeOptions, DecodedEvent, EnvelopeAttributes } from './envelope.js';
export { fewerOpeningBrackets, jsonDepth } from './json-body.js';
export type { BodyLimits } from './json-body.js';

export { currentEvent, currentScope, withCorrelation } from './context.js';
export type { CorrelationScope } from './context.js';

export {
  EVENTFORM_ATTRIBUTES,
  MESSAGING_ATTRIBUTES,
  METRIC_NAMES,
  TELEMETRY_SCOPE,
  formatTraceparent,
  parseTraceparent,
} from './telemetry.js';
export type { TelemetryOptions } from './telemetry.js';
export { tracedRelayTransport } from './telemetry.js';

export {
  BodyTooLargeError,
  ConsumerRegistrationError,
  EnvelopeError,
  EventformError,
  InvalidEncodingError,
  InvalidJsonError,
  NonRetryableError,
  NotADeadLetterError,
  PublishOptionsError,
  ProvisioningIncompleteError,
  PublishValidationError,
  RuntimeStateError,
  UndeclaredEventError,
  formatIssues,
} from './errors.js';
export type { EnvelopeProblem, ValidationIssue } from './errors.js';

export { assembleEventSchema, compileValidators, validatePayload } from './validation.js';
export { AJV_RUNTIME_MODULE, PAYLOAD_AJV_OPTIONS, ajvRuntime } from './ajv-runtime.js';
export { backoffDelay, baseRetryDelay, decideRetry, retryDelay, retryDelays } from './retry-policy.js';
export type { RetryDecision } from './retry-policy.js';
export { DEAD_LETTER_REASONS, deadLetterHeaders, readDeadLetter, truncateUtf8 } from './dead-letter.js';
export type { DeadLetterInput, DeadLetterReason, DeadLetterRecord } from './dead-letter.js';
export type {
  DeadLetterDecision,
  DeadLetterMoves,
  DeadLetterPass,
  DeadLetterPassOptions,
  DeadLetterStore,
  DecideDeadLetter,
  StoredDeadLetter,
} from './dead-letter-store.js';
export {
  carryOutDecision,
  emptyPass,
  requireDeadLetterLocation,
  retryPathBlocked,
  retryPathReplayHeaders,
} from './dead-letter-store.js';

export { dedupeKey, idempotencyNamespace } from './idempotency.js';
export type { IdempotencyResult, IdempotencyStore } from './idempotency.js';

export {
  OutboxTransaction,
  OutboxTransactionClosedError,
  TransactionUnavailableError,
  currentOutboxTransaction,
  runInOutboxTransaction,
} from './outbox.js';
export type {
  OutboxHealth,
  OutboxRecord,
  OutboxRelayHandle,
  OutboxRelayTarget,
  TransactionalOutbox,
} from './outbox.js';

export { childLogger, createJsonLogger, isLevelEnabled, levelFromEnv, prettyLogger, silentLogger } from './logger.js';
export type { JsonLoggerOptions, LeveledLogger, LogLevel, PrettyLoggerOptions } from './logger.js';

export {
  DEAD_LETTER_DEFAULTS,
  MEMORY_STORE_DEFAULTS,
  MEMORY_TRANSPORT_DEFAULTS,
  RUNTIME_DEFAULTS,
} from './defaults.js';

export { MemoryBroker, MemoryTransport, createMemoryTransport } from './memory/index.js';
export {
  BROKER_NAMES,
  BROKER_PACKAGES,
  TransportPackageMissingError,
  UnknownBrokerError,
  brokerFromEnv,
  createTransportFromEnv,
  loadBrokerBinding,
} from './from-env.js';
export type { BrokerName, TransportEnvOptions, TransportFromEnvOptions } from './from-env.js';
export type {
  BindingConnectOptions,
  BindingProvisionOptions,
  BrokerBinding,
  BrokerResource,
  ProvisionAction,
  ProvisionPlanItem,
} from './broker-binding.js';
export { orderedRecord } from './provisioning-document.js';
export { formatDuration, parseDuration } from './duration.js';
export type {
  ResourceNameClaim,
  SectionChange,
  SectionConsumerInput,
  SectionEventInput,
  SectionFieldSpec,
  SectionFields,
  SectionIR,
  SectionInput,
  SectionLeftovers,
  SectionLevel,
  SectionPlace,
  SectionProblem,
  SectionValues,
  TopologySection,
} from './topology-section.js';
export { withDefaults } from './with-defaults.js';
export { OnceUntilRejected } from './once.js';
export type { PlanMarkdown, ProvisioningDocument, ProvisioningDocumentFn } from './provisioning-document.js';
export { RUNTIME_VERSION } from './version.js';
export type { MemoryDeadLetter, MemoryTransportOptions, RawMessage } from './memory/index.js';

export { MemoryIdempotencyStore, createMemoryStore } from './memory/memory-store.js';
export type { MemoryStoreOptions } from './memory/memory-store.js';

// For broker bindings (@eventform/rabbitmq, @eventform/kafka, ...): wire-name maps, a queue, the
// per-key scheduler, retry-copy headers and the start/close bookkeeping.
export { attributeNames, headerValueToString, logicalNames, setHeader, wireNames } from './headers.js';
export type { AttributeNames } from './headers.js';
export { Deque } from './deque.js';
export { KeyScheduler } from './key-scheduler.js';
export { retryCopyHeaders } from './retry-copy.js';
export { TransportLifecycle } from './transport-lifecycle.js';
export type { LifecycleSubscription } from './transport-lifecycle.js';
