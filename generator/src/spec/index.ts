/**
 * generator/spec: topology.yaml → validated, fully defaulted, sorted {@link TopologyIR}.
 *
 * ```ts
 * const { ir, diagnostics } = loadTopology('topology.yaml');
 * if (!ir) console.error(formatDiagnostics(diagnostics, (f) => readFileSync(f, 'utf8')));
 * ```
 */
export { loadTopology, setLoadDefaults, type LoadOptions, type LoadResult } from './load-topology.js';
export type { Diagnostic } from './diagnostics.js';
export { formatDiagnostics, type FormatOptions } from './format-diagnostics.js';
export { CODES, type DiagnosticCode } from './codes.js';
export { DEFAULTS, LIMITS } from './defaults.js';
export { parseDuration, formatDuration } from './duration.js';
export {
  TopologyDocumentError,
  topologyFromDocument,
  type TopologyFromDocumentOptions,
} from './topology-from-document.js';
export type {
  BackoffKind,
  Compatibility,
  ConsumerIR,
  EventIR,
  IdempotencyIR,
  IdempotencyStoreKind,
  JsonSchema,
  RetryPolicyIR,
  SchemaIR,
  ServiceIR,
  SourceLocation,
  TopologyDocument,
  TopologyIR,
} from '@eventform/runtime';
// The broker parts of the IR are typed by their packages (declaration merging); these re-exports
// also bring those types into every program that reads the IR through the generator.
export type { QueueType, RabbitConsumerIR, RabbitEventIR, RabbitTopologyIR } from '@eventform/rabbitmq/resources';
export type { KafkaConsumerIR, KafkaEventIR, KafkaTopologyIR } from '@eventform/kafka/resources';
