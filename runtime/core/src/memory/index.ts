export { MemoryTransport, createMemoryTransport } from './memory-transport.js';
export type { MemoryTransportOptions, RawMessage } from './memory-transport.js';
export { MemoryBroker } from './memory-broker.js';
export type { MemoryDeadLetter } from './memory-broker.js';
