export { MemoryIdempotencyStore, createMemoryStore } from './memory-store.js';
export type { MemoryStoreOptions } from './memory-store.js';
