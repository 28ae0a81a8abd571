/**
 * `@eventform/runtime/testing`: test support that depends on no test framework. The service test
 * harness, the transport conformance suite (registered with the `describe`/`it` you pass, or run
 * as data; its topologies go through the generator you pass it), and small helpers. Documented in testing.md.
 */
export { createTestHarness } from './harness.js';
export type { DeliverOptions, TestHarness, TestHarnessOptions } from './harness.js';
export { STAND_IN_LABEL, StandInTransaction, StandInTransactionStore } from './stand-in-transaction.js';
export type { RecordedStatement, StandInOptions, StandInResult } from './stand-in-transaction.js';
export {
  ConformanceSkipError,
  conformanceCases,
  conformanceSuiteName,
  describeTransportConformance,
} from './conformance.js';
export type {
  ConformanceCase,
  ConformanceOptions,
  ConformanceRunContext,
  DescribeConformanceOptions,
  RawDeadLetter,
  RawMessage,
  TestFramework,
  TestRegistrar,
  TransportFactory,
} from './conformance.js';
export type { TopologyDocument } from '../ir.js';
export { captureLogger, isCi, sleep, uniqueTopologyName, waitFor } from './test-utils.js';
export type { CaptureLogger, LogLine } from './test-utils.js';
