export { PostgresIdempotencyStore, createPostgresStore } from './postgres-store.js';
export type { PostgresStoreOptions, PostgresTx } from './postgres-store.js';
export { POSTGRES_STORE_DEFAULTS } from './defaults.js';
