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
 * It carries a transactional outbox (outbox.ts) on the same pool, on by default: what a handler
 * publishes is written in the same transaction and published by a relay after the commit.
 *
 * Each in-flight handler holds one pool client for its whole run, and a relay in this process holds
 * one more (plus one while it claims or marks a batch): size the pool at least to the sum of the
 * consumers' `concurrency` plus 2.
 */
import type { Pool, PoolClient, PoolConfig } from 'pg';
import type { IdempotencyResult, IdempotencyStore, Logger } from '@eventform/runtime';
import { POSTGRES_STORE_DEFAULTS } from './defaults.js';
import { OnceUntilRejected, createJsonLogger, withDefaults } from '@eventform/runtime';
import { indexName, qualifiedName } from './identifier.js';
import { PostgresOutbox, type PostgresOutboxOptions } from './outbox.js';
import { ROLLBACK, guardClientErrors, transact } from './transaction.js';

/** What handlers get as `ctx.tx` with this store. */
export type PostgresTx = PoolClient;

/** The outbox settings a store takes: those of `createOutbox` except the pool, which is the store's. */
export type StoreOutboxOptions = Omit<PostgresOutboxOptions, 'pool' | 'connectionString' | 'poolConfig'>;

export interface PostgresStoreOptions {
  /** A pool to use; the store never ends it. Without one the store creates (and ends) its own. */
  pool?: Pool | undefined;
  /** Connection string of the store's own pool. @default libpq environment variables (PGHOST, ...) */
  connectionString?: string | undefined;
  /** Further settings of the store's own pool. @default { max: 10 } */
  poolConfig?: PoolConfig | undefined;
  /** Table name, optionally schema-qualified. @default 'eventform_processed_event' */
  table?: string | undefined;
  /** Interval of the expired-row cleanup; `0` disables it. @default 3_600_000 (1 h) */
  purgeIntervalMs?: number | undefined;
  /** Create the table on `init()` when missing. @default true */
  createTable?: boolean | undefined;
  /** Where cleanup failures are reported. @default JSON lines on stderr */
  logger?: Logger | undefined;
  /**
   * The transactional outbox on the store's pool (see `createOutbox` for the settings): handlers
   * publish into it in their transaction, `withOutbox(store, fn)` in yours. `false`: no outbox
   * (handlers publish directly, as `RuntimeOptions.outbox: false` does).
   * @default {} (on; table 'eventform_outbox', created on init())
   */
  outbox?: StoreOutboxOptions | false | undefined;
}

export class PostgresIdempotencyStore implements IdempotencyStore {
  readonly name = 'postgres';
  readonly table: string;
  private pool: Pool | undefined;
  private readonly ownsPool: boolean;
  private readonly options: PostgresStoreOptions;
  private readonly sql: { create: string[]; claim: string; purge: string };
  private timer: NodeJS.Timeout | undefined;
  private readonly initialized = new OnceUntilRejected();
  private readonly logger: Logger;
  /** The outbox on this store's pool, unless created with `outbox: false`. */
  readonly outbox: PostgresOutbox | undefined;

  constructor(options: PostgresStoreOptions = {}) {
    this.options = options;
    this.table = options.table ?? POSTGRES_STORE_DEFAULTS.table;
    this.pool = options.pool;
    this.ownsPool = !options.pool;
    this.logger = options.logger ?? createJsonLogger();
    const table = qualifiedName(this.table);
    const t = table.sql;
    if (options.outbox !== false) {
      const outboxOptions = withDefaults<PostgresOutboxOptions>({ logger: this.logger }, options.outbox || undefined);
      if (options.createTable === false) outboxOptions.createTable ??= false;
      this.outbox = new PostgresOutbox(outboxOptions, () => this.requirePool());
    }
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
        `CREATE INDEX IF NOT EXISTS ${indexName(table, 'expires_idx')} ON ${t} (expires_at)`,
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
    return this.initialized.run(() => this.doInit());
  }

  private async doInit(): Promise<void> {
    if (!this.pool) {
      const pg = await import('pg');
      const Pool = pg.default.Pool;
      const config = withDefaults<PoolConfig>({ max: POSTGRES_STORE_DEFAULTS.maxClients }, this.options.poolConfig);
      if (this.options.connectionString) config.connectionString = this.options.connectionString;
      this.pool = new Pool(config);
      // An idle client whose server connection drops emits on the pool; without a listener that kills the process.
      this.pool.on('error', (error) => this.logger.warn('idempotency store: idle PostgreSQL client failed', { error }));
    }
    guardClientErrors(this.pool);
    if (this.options.createTable ?? true) {
      await transact(this.pool, async (client) => {
        // Serialise concurrent creators: CREATE TABLE IF NOT EXISTS races on the catalog.
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`eventform:${this.table}`]);
        for (const statement of this.sql.create) await client.query(statement);
      });
    }
    await this.outbox?.init();
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
    const value = await transact(this.requirePool(), async (client) => {
      const claimed = await client.query(this.sql.claim, [consumer, key, windowMs]);
      return claimed.rowCount === 0 ? ROLLBACK : fn(client);
    });
    return value === ROLLBACK ? { duplicate: true } : { duplicate: false, value };
  }

  /**
   * A transaction without a processed-event record: what consumers with idempotency off run in, and
   * a plain transaction on the store's pool for your own use.
   */
  async transaction<T>(fn: (tx: PostgresTx) => Promise<T>): Promise<T> {
    return (await transact(this.requirePool(), fn)) as T;
  }

  async purgeExpired(): Promise<number> {
    const result = await this.requirePool().query(this.sql.purge);
    return result.rowCount ?? 0;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.outbox?.close();
    const pool = this.pool;
    this.initialized.reset();
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
