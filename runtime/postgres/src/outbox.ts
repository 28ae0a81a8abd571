/**
 * The PostgreSQL transactional outbox: events published inside a transaction are rows of the
 * outbox table written in that transaction, and relays publish the committed ones (relay.ts).
 *
 * Two ways in:
 * - Handlers: the PostgreSQL idempotency store carries an outbox (`store.outbox`), and the runtime
 *   writes what a handler publishes through `ctx.tx` (on by default; `RuntimeOptions.outbox`).
 * - Your own code: {@link withOutbox} / {@link PostgresOutbox.transaction} open a transaction, and
 *   every event published while the callback runs — through a generated producer or
 *   `runtime.publish` — is written in it. {@link PostgresOutbox.enlist} does the same inside a
 *   transaction you manage.
 */
import { OnceUntilRejected, withDefaults } from '@eventform/runtime';
import type { Pool, PoolClient, PoolConfig } from 'pg';
import {
  CE,
  OutboxTransaction,
  createJsonLogger,
  runInOutboxTransaction,
  type Logger,
  type OutboxRecord,
  type OutboxRelayTarget,
  type TopologyIR,
  type TransactionalOutbox,
  type Transport,
} from '@eventform/runtime';
import { POSTGRES_OUTBOX_DEFAULTS, POSTGRES_STORE_DEFAULTS } from './defaults.js';
import { outboxSchemaStatements } from './outbox-schema.js';
import { outboxTable, type OutboxTable } from './outbox-table.js';
import { OutboxRelay, type OutboxRelaySettings } from './relay.js';
import { guardClientErrors, transact } from './transaction.js';

/** What an outbox transaction's callback gets: the transaction's client. */
export type OutboxTx = PoolClient;

export interface PostgresOutboxOptions {
  /** A pool to use; the outbox never ends it. Without one it creates (and ends) its own. */
  pool?: Pool | undefined;
  /** Connection string of its own pool. @default libpq environment variables (PGHOST, ...) */
  connectionString?: string | undefined;
  /** Further settings of its own pool. @default { max: 10 } */
  poolConfig?: PoolConfig | undefined;
  /** Table name, optionally schema-qualified. @default 'eventform_outbox' */
  table?: string | undefined;
  /** Create the table and its indexes on `init()` when missing. @default true */
  createTable?: boolean | undefined;
  /**
   * Send NOTIFY on the table's channel after a transaction that wrote rows commits, to wake relays
   * in other processes (relays in this process are woken directly). Sent after the commit, never
   * inside it, at most one at a time per process.
   * @default true when no relay runs in this process, else false
   */
  notify?: boolean | undefined;
  /** How relays started from this outbox pace themselves (see {@link OutboxRelaySettings}). */
  relay?: OutboxRelaySettings | undefined;
  /** Where relay problems are reported. @default JSON lines on stderr */
  logger?: Logger | undefined;
}

export class PostgresOutbox implements TransactionalOutbox {
  readonly name = 'postgres';
  readonly table: OutboxTable;
  private readonly options: PostgresOutboxOptions;
  private readonly logger: Logger;
  private pool: Pool | undefined;
  private readonly ownsPool: boolean;
  private readonly sharedPool: (() => Pool) | undefined;
  private readonly initialized = new OnceUntilRejected();
  private readonly relays = new Set<OutboxRelay>();
  private notifying: 'idle' | 'sending' | 'again' = 'idle';

  /**
   * @param sharedPool used by the PostgreSQL store: the outbox writes and relays through the
   * store's pool, which exists once the store is initialised.
   */
  constructor(options: PostgresOutboxOptions = {}, sharedPool?: () => Pool) {
    this.options = options;
    this.table = outboxTable(options.table ?? POSTGRES_OUTBOX_DEFAULTS.table);
    this.logger = options.logger ?? createJsonLogger();
    this.pool = options.pool;
    this.sharedPool = sharedPool;
    this.ownsPool = !options.pool && !sharedPool;
  }

  /** Create the table (unless `createTable` is off). Idempotent; the store's `init()` calls it. */
  init(): Promise<void> {
    return this.initialized.run(() => this.doInit());
  }

  private async doInit(): Promise<void> {
    const pool = await this.ensurePool();
    if (!(this.options.createTable ?? true)) return;
    await transact(pool, async (client) => {
      // Serialise concurrent creators: CREATE ... IF NOT EXISTS races on the catalog.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`eventform:${this.table.name}`]);
      for (const statement of outboxSchemaStatements(this.table.name)) await client.query(statement);
    });
  }

  private async ensurePool(): Promise<Pool> {
    const pool = await this.openPool();
    guardClientErrors(pool);
    return pool;
  }

  private async openPool(): Promise<Pool> {
    if (this.sharedPool) return this.sharedPool();
    if (!this.pool) {
      const pg = await import('pg');
      const config = withDefaults<PoolConfig>({ max: POSTGRES_STORE_DEFAULTS.maxClients }, this.options.poolConfig);
      if (this.options.connectionString) config.connectionString = this.options.connectionString;
      this.pool = new pg.default.Pool(config);
      this.pool.on('error', (error) => this.logger.warn('outbox: idle PostgreSQL client failed', { error }));
    }
    return this.pool;
  }

  private requirePool(): Pool {
    const pool = this.sharedPool ? this.sharedPool() : this.pool;
    if (!pool) throw new Error('PostgresOutbox: call init() first');
    return pool;
  }

  // ---- writing -------------------------------------------------------------------------------

  /** One row, through `tx` (a client inside a transaction). The runtime calls this; see the interface. */
  write(tx: unknown, { topology, event, message }: OutboxRecord): Promise<void> {
    const client = tx as PoolClient;
    return client
      .query(this.table.sql.insert, [
        topology,
        event.name,
        message.headers[CE.id] ?? '',
        message.key ?? null,
        JSON.stringify(message.headers),
        message.body,
      ])
      .then(() => undefined);
  }

  /** Rows were committed: wake this process's relays, and the others by NOTIFY. */
  committed(): void {
    for (const relay of this.relays) relay.wake();
    if (this.options.notify ?? this.relays.size === 0) this.sendNotify();
  }

  /** At most one NOTIFY in flight; commits meanwhile are covered by one more after it. */
  private sendNotify(): void {
    if (this.notifying !== 'idle') {
      this.notifying = 'again';
      return;
    }
    this.notifying = 'sending';
    this.requirePool()
      .query('SELECT pg_notify($1, $2)', [this.table.channel, ''])
      .catch((error: unknown) =>
        this.logger.debug('outbox: NOTIFY failed; relays find the rows on their next poll', { error }),
      )
      .finally(() => {
        const again = this.notifying === 'again';
        this.notifying = 'idle';
        if (again) this.sendNotify();
      });
  }

  /**
   * Run `fn` in a new transaction: its writes through `tx` and every event published while it runs
   * (generated producers, `runtime.publish`) commit together, or, when it throws, roll back
   * together. After the commit the relays publish the events.
   *
   * @example
   * await outbox.transaction(async (tx) => {
   *   await tx.query('INSERT INTO orders (id, total) VALUES ($1, $2)', [order.orderId, order.total.amount]);
   *   await orders.orderCreated(order); // written to the outbox in tx; sent after COMMIT
   * });
   */
  async transaction<T>(fn: (tx: OutboxTx) => Promise<T>): Promise<T> {
    await this.init();
    let outboxTx: OutboxTransaction | undefined;
    const value = await transact(this.requirePool(), async (client) => {
      outboxTx = new OutboxTransaction(this, client);
      const tx = outboxTx;
      try {
        return await runInOutboxTransaction(tx, () => fn(client));
      } finally {
        await tx.close();
      }
    });
    if (outboxTx && outboxTx.written > 0) this.committed();
    return value as T; // fn never returns ROLLBACK
  }

  /**
   * Like {@link transaction}, inside a transaction you opened on `tx` and will commit yourself: events
   * published while `fn` runs are written through `tx`. A NOTIFY is queued in the transaction, so
   * relays wake when you commit (it takes PostgreSQL's NOTIFY lock during that commit).
   */
  async enlist<T>(tx: OutboxTx, fn: () => Promise<T>): Promise<T> {
    await this.init();
    const outboxTx = new OutboxTransaction(this, tx);
    let value: T;
    try {
      value = await runInOutboxTransaction(outboxTx, fn);
    } finally {
      await outboxTx.close();
    }
    if (outboxTx.written > 0) await tx.query('SELECT pg_notify($1, $2)', [this.table.channel, '']);
    return value;
  }

  // ---- relays ----------------------------------------------------------------------------------

  /**
   * Start a relay in this process (the runtime's `start()` does). It is woken directly by this
   * outbox's commits and stopped by {@link close} at the latest.
   */
  async startRelay(
    target: OutboxRelayTarget,
    settings: OutboxRelaySettings = this.options.relay ?? {},
    onStop?: () => Promise<void>,
  ): Promise<OutboxRelay> {
    await this.init();
    const relay = new OutboxRelay(this.requirePool(), this.table, target, settings, async (stopped) => {
      this.relays.delete(stopped);
      await onStop?.();
    });
    this.relays.add(relay);
    try {
      await relay.start();
    } catch (error) {
      this.relays.delete(relay);
      throw error;
    }
    return relay;
  }

  async flush(): Promise<void> {
    await Promise.all([...this.relays].map((r) => r.flush()));
  }

  /** Stop the relays started here, then end the pool if the outbox created it. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.relays].map((r) => r.stop()));
    this.initialized.reset();
    const pool = this.pool;
    if (this.ownsPool && pool) {
      this.pool = undefined;
      await pool.end();
    }
  }
}

/** A PostgreSQL outbox of its own (for a service whose handlers do not use the PostgreSQL store). */
export function createOutbox(options?: PostgresOutboxOptions): PostgresOutbox {
  return new PostgresOutbox(options);
}

/**
 * Run `fn` in a new transaction whose published events go to the outbox (see
 * {@link PostgresOutbox.transaction}); `target` is the PostgreSQL store the runtime uses, or an outbox.
 *
 * @example
 * const store = createPostgresStore({ pool });
 * const runtime = createShopRuntime({ transport, idempotencyStore: store });
 * const orders = createOrderServiceProducer(runtime);
 * await withOutbox(store, async (tx) => {
 *   await tx.query('INSERT INTO orders ...', [...]);
 *   await orders.orderCreated(order); // committed with the order row, published after the commit
 * });
 */
export function withOutbox<T>(
  target: PostgresOutbox | { readonly outbox?: PostgresOutbox | undefined },
  fn: (tx: OutboxTx) => Promise<T>,
): Promise<T> {
  const outbox = target instanceof PostgresOutbox ? target : target.outbox;
  if (!outbox) throw new Error('withOutbox: this store has no outbox (it was created with outbox: false)');
  return outbox.transaction(fn);
}

/** What a standalone relay needs (the `eventform relay` command builds one). */
export interface OutboxRelayOptions extends OutboxRelaySettings {
  topology: TopologyIR;
  /** Started by the relay (`start` is idempotent); not closed by it. */
  transport: Transport;
  /** A pool to use; the relay never ends it. Without one it creates (and ends) its own. */
  pool?: Pool | undefined;
  connectionString?: string | undefined;
  poolConfig?: PoolConfig | undefined;
  /** @default 'eventform_outbox' */
  table?: string | undefined;
  /** Create the table on start when missing. @default true */
  createTable?: boolean | undefined;
  /** @default JSON lines on stderr */
  logger?: Logger | undefined;
}

/**
 * A relay outside any runtime, e.g. one process per database publishing for every service that
 * writes to it. `start()` it; `stop()` ends what it created.
 */
export async function startOutboxRelay(options: OutboxRelayOptions): Promise<OutboxRelay> {
  const logger = options.logger ?? createJsonLogger();
  const outboxOptions: PostgresOutboxOptions = { logger, relay: options };
  if (options.pool) outboxOptions.pool = options.pool;
  if (options.connectionString) outboxOptions.connectionString = options.connectionString;
  if (options.poolConfig) outboxOptions.poolConfig = options.poolConfig;
  if (options.table) outboxOptions.table = options.table;
  if (options.createTable !== undefined) outboxOptions.createTable = options.createTable;
  const outbox = new PostgresOutbox(outboxOptions);
  try {
    const target = { topology: options.topology, transport: options.transport, logger };
    return await outbox.startRelay(target, options, () => outbox.close());
  } catch (error) {
    await outbox.close();
    throw error;
  }
}
