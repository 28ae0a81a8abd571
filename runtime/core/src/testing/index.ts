/**
 * Test support that does not depend on a test framework. The transport conformance suite, which
 * imports vitest, is a separate entry: runtime/testing/conformance.ts.
 */
export { createTestHarness } from './harness.js';
export type { DeliverOptions, TestHarness, TestHarnessOptions } from './harness.js';
export { buildTopology, formatDuration, parseDuration, retryDelays, uniqueTopologyName } from './topology-builder.js';
export type {
  ConsumerSpec,
  DurationSpec,
  EventSpec,
  IdempotencySpec,
  RetrySpec,
  ServiceSpec,
  TopologySpec,
} from './topology-builder.js';
export { captureLogger, isCi, sleep, waitFor } from './test-utils.js';
export type { CaptureLogger, LogLine } from './test-utils.js';
