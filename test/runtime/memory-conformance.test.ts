import { describe, it } from 'vitest';
import { MemoryBroker, createMemoryTransport } from '@eventform/runtime';
import { describeTransportConformance } from '@eventform/runtime/testing';
import { topologyFromDocument } from '../../generator/src/spec/index.js';

// One broker for the file: every test uses its own topology name, and each runtime gets a new
// transport on it — the in-memory equivalent of a new process connecting to the same broker.
const broker = new MemoryBroker();

describeTransportConformance('memory', () => createMemoryTransport({ broker }), {
  topology: topologyFromDocument,
  test: { describe, it },
});
