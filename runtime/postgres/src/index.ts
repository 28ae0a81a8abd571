/**
 * @eventform/postgres — PostgreSQL for eventform: the idempotency store (the inbox: a processed-event
 * record in the handler's transaction) and the transactional outbox (events written in the same
 * transaction, published by a relay after the commit). See README.md.
 */
import type { PostgresTx } from './postgres-store.js';

export { PostgresIdempotencyStore, createPostgresStore } from './postgres-store.js';
export type { PostgresStoreOptions, PostgresTx, StoreOutboxOptions } from './postgres-store.js';
export { PostgresOutbox, createOutbox, startOutboxRelay, withOutbox } from './outbox.js';
export type { OutboxRelayOptions, OutboxTx, PostgresOutboxOptions } from './outbox.js';
export { KeyChains, OutboxRelay } from './relay.js';
export type { OutboxRelaySettings } from './relay.js';
export { OUTBOX_SCHEMA_VERSION, outboxSchemaSql, outboxSchemaStatements } from './outbox-schema.js';
export { TransactionAbortedError } from './transaction.js';
export { POSTGRES_OUTBOX_DEFAULTS, POSTGRES_STORE_DEFAULTS } from './defaults.js';

// With this package in the program, `ctx.tx` is the store's pg client: no cast in handlers.
declare module '@eventform/runtime' {
  interface HandlerTransactions {
    postgres: PostgresTx;
  }
}
