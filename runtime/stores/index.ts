export type { IdempotencyResult, IdempotencyStore } from '../core/idempotency.js';
export * from './memory/index.js';
export * from './postgres/index.js';
