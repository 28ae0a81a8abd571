/**
 * PostgreSQL idempotency store: a processed-event table shared by every instance of a service.
 *
 * `run` claims the key inside a transaction and hands the handler that transaction's client as
 * `ctx.tx`; side effects written through it commit together with the mark, so they happen once
 * even when two instances receive the same event or one dies half-way:
 *
 * - Two instances at once: the second `INSERT ... ON CONFLICT` blocks on the first's row lock.
 *   When the first commits, the second sees the conflict → duplicate → acknowledged without
 *   running effects. When the first rolls back (handler threw, process died), the second inserts
 *   and runs.
 * - An entry older than the window is claimed again (the `DO UPDATE ... WHERE` clause).
 *
 * Each in-flight handler holds one pool client for its whole run: size the pool at least to the
 * sum of the consumers' `concurrency`.
 */
import type { Pool, PoolClient, PoolConfig } from 'pg';
import type { IdempotencyResult, IdempotencyStore, Logger } from '@eventform/runtime';
import { POSTGRES_STORE_DEFAULTS } from './defaults.js';
import { createJsonLogger } from '@eventform/runtime';

/** What handlers get as `ctx.tx` with this store. */
export type PostgresTx = PoolClient;

export interface PostgresStoreOptions {
  /** A pool to use; the store never ends it. Without one the store creates (and ends) its own. */
  pool?: Pool;
  /** Connection string of the store's own pool. @default libpq environment variables (PGHOST, ...) */
  connectionString?: string | undefined;
  /** Further settings of the store's own pool. @default { max: 10 } */
  poolConfig?: PoolConfig;
  /** Table name, optionally schema-qualified. @default 'eventform_processed_event' */
  table?: string;
  /** Interval of the expired-row cleanup; `0` disables it. @default 3_600_000 (1 h) */
  purgeIntervalMs?: number;
  /** Create the table on `init()` when missing. @default true */
  createTable?: boolean;
  /** Where cleanup failures are reported. @default JSON lines on stderr */
  logger?: Logger | undefined;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

function quoteTable(name: string): { sql: string; indexName: string } {
  const parts = name.split('.');
  if (parts.length > 2 || !parts.every((p) => IDENTIFIER.test(p))) {
    throw new RangeError(`Invalid table name "${name}": use [schema.]name with letters, digits and _`);
  }
  const last = parts[parts.length - 1]!;
  const index = `${last.slice(0, 48)}_expires_idx`;
  return {
    sql: parts.map((p) => `"${p}"`).join('.'),
    indexName: `"${index}"`,
  };
}

export class PostgresIdempotencyStore implements IdempotencyStore {
  readonly name = 'postgres';
  readonly table: string;
  private pool: Pool | undefined;
  private readonly ownsPool: boolean;
  private readonly options: PostgresStoreOptions;
  private readonly sql: { create: string[]; claim: string; purge: string };
  private timer: NodeJS.Timeout | undefined;
  private initialized: Promise<void> | undefined;
  private readonly logger: Logger;

  constructor(options: PostgresStoreOptions = {}) {
    this.options = options;
    this.table = options.table ?? POSTGRES_STORE_DEFAULTS.table;
    this.pool = options.pool;
    this.ownsPool = !options.pool;
    this.logger = options.logger ?? createJsonLogger();
    const { sql: t, indexName } = quoteTable(this.table);
    const window = `($3::double precision * interval '1 millisecond')`;
    this.sql = {
      create: [
        `CREATE TABLE IF NOT EXISTS ${t} (
           consumer text NOT NULL,
           key text NOT NULL,
           processed_at timestamptz NOT NULL DEFAULT now(),
           expires_at timestamptz NOT NULL,
           PRIMARY KEY (consumer, key)
         )`,
        `CREATE INDEX IF NOT EXISTS ${indexName} ON ${t} (expires_at)`,
      ],
      claim: `INSERT INTO ${t} AS pe (consumer, key, processed_at, expires_at)
              VALUES ($1, $2, now(), now() + ${window})
              ON CONFLICT (consumer, key) DO UPDATE SET processed_at = now(), expires_at = EXCLUDED.expires_at
              WHERE pe.processed_at < now() - ${window}
              RETURNING 1`,
      purge: `DELETE FROM ${t} WHERE expires_at < now()`,
    };
  }

  init(): Promise<void> {
    this.initialized ??= this.doInit().catch((error: unknown) => {
      this.initialized = undefined;
      throw error;
    });
    return this.initialized;
  }

  private async doInit(): Promise<void> {
    if (!this.pool) {
      const pg = await import('pg');
      const Pool = pg.default.Pool;
      const config: PoolConfig = { max: POSTGRES_STORE_DEFAULTS.maxClients, ...this.options.poolConfig };
      if (this.options.connectionString) config.connectionString = this.options.connectionString;
      this.pool = new Pool(config);
      // An idle client whose server connection drops emits on the pool; without a listener that kills the process.
      this.pool.on('error', (error) => this.logger.warn('idempotency store: idle PostgreSQL client failed', { error }));
    }
    if (this.options.createTable ?? true) {
      const client = await this.pool.connect();
      try {
        // Serialise concurrent creators: CREATE TABLE IF NOT EXISTS races on the catalog.
        await client.query('BEGIN');
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`eventform:${this.table}`]);
        for (const statement of this.sql.create) await client.query(statement);
        await client.query('COMMIT');
        client.release();
      } catch (error) {
        client.release(true);
        throw error;
      }
    }
    const interval = this.options.purgeIntervalMs ?? POSTGRES_STORE_DEFAULTS.purgeIntervalMs;
    if (interval > 0 && !this.timer) {
      this.timer = setInterval(() => {
        this.purgeExpired().catch((error: unknown) =>
          this.logger.warn('idempotency store: cleanup failed', { error, table: this.table }),
        );
      }, interval);
      this.timer.unref();
    }
  }

  async run<T>(
    consumer: string,
    key: string,
    windowMs: number,
    fn: (tx: unknown) => Promise<T>,
  ): Promise<IdempotencyResult<T>> {
    const pool = this.requirePool();
    const client = await pool.connect();
    // A checked-out client whose connection dies between queries emits 'error'; keep it from crashing the process.
    let connectionError: unknown;
    const onError = (error: unknown) => (connectionError = error);
    client.on('error', onError);
    let clean = false; // true once the transaction is over and the connection is reusable
    try {
      await client.query('BEGIN');
      const claimed = await client.query(this.sql.claim, [consumer, key, windowMs]);
      if (claimed.rowCount === 0) {
        await client.query('ROLLBACK');
        clean = true;
        return { duplicate: true };
      }
      let value: T;
      try {
        value = await fn(client);
      } catch (error) {
        await client.query('ROLLBACK').then(
          () => (clean = true),
          () => {},
        );
        throw error;
      }
      const commit = await client.query('COMMIT');
      clean = true;
      // COMMIT of a transaction aborted by a failed statement (through ctx.tx) silently rolls back.
      if ((commit as { command?: string }).command === 'ROLLBACK') {
        throw new Error('The handler transaction was aborted by a failed statement and rolled back');
      }
      return { duplicate: false, value };
    } finally {
      client.off('error', onError);
      client.release(clean && !connectionError ? undefined : true);
    }
  }

  async purgeExpired(): Promise<number> {
    const result = await this.requirePool().query(this.sql.purge);
    return result.rowCount ?? 0;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const pool = this.pool;
    this.initialized = undefined;
    if (this.ownsPool && pool) {
      this.pool = undefined;
      await pool.end();
    }
  }

  private requirePool(): Pool {
    if (!this.pool) throw new Error('PostgresIdempotencyStore: call init() first');
    return this.pool;
  }
}

/** A PostgreSQL idempotency store; call `init()` (the runtime does) before use. */
export function createPostgresStore(options?: PostgresStoreOptions): PostgresIdempotencyStore {
  return new PostgresIdempotencyStore(options);
}
