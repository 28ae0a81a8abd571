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
  KafkaConsumerIR,
  KafkaEventIR,
  QueueType,
  RabbitConsumerIR,
  RabbitEventIR,
  RetryPolicyIR,
  SchemaIR,
  ServiceIR,
  SourceLocation,
  TopologyDocument,
  TopologyIR,
} from '@eventform/runtime';
