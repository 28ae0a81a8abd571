/**
 * The in-memory stand-in for `ctx.tx` that the test harness gives handlers when the idempotency
 * store has no transactions (the memory store). It is not a database: it records each statement a
 * handler sends through `query` and answers with no rows (or the rows `respond` returns), so a
 * handler written for `@eventform/postgres` runs in a contract test without PostgreSQL, and the test
 * can look at what it would have written. For real SQL, give the harness a PostgreSQL store.
 */
import type { IdempotencyResult, IdempotencyStore } from '../idempotency.js';

/** One statement a handler sent through the stand-in. */
export interface RecordedStatement {
  text: string;
  values: unknown[];
}

/** What `query` resolves to: the shape of a `pg` result, with no rows unless `respond` gave some. */
export interface StandInResult {
  rows: unknown[];
  rowCount: number;
  command: string;
  fields: never[];
}

export interface StandInOptions {
  /** Rows to answer a statement with; `undefined` (and the default) answers with none. */
  respond?: (statement: RecordedStatement) => unknown[] | undefined;
}

/** Says what it is in logs, `String(ctx.tx)` and the debugger. */
export const STAND_IN_LABEL = 'eventform in-memory transaction stand-in (statements are recorded, not run)';

export class StandInTransaction {
  /** Always true: tells the stand-in from a real client (`if ('standIn' in ctx.tx)`). */
  readonly standIn = true as const;
  readonly statements: RecordedStatement[] = [];
  /** `open` while the handler runs; then `committed`, or `rolled-back` when it threw. */
  outcome: 'open' | 'committed' | 'rolled-back' = 'open';

  constructor(
    /** The consumer whose handler got it. */
    readonly consumer: string,
    private readonly respond: StandInOptions['respond'],
  ) {}

  /** Records the statement; resolves like `pg`'s `query` with no rows (or `respond`'s). */
  async query(text: string | { text: string; values?: unknown[] }, values?: unknown[]): Promise<StandInResult> {
    const statement: RecordedStatement =
      typeof text === 'string'
        ? { text, values: values ?? [] }
        : { text: text.text, values: values ?? text.values ?? [] };
    if (this.outcome !== 'open') {
      throw new Error(`${STAND_IN_LABEL}: query after the transaction ${this.outcome}: ${statement.text}`);
    }
    this.statements.push(statement);
    const rows = this.respond?.(statement) ?? [];
    return {
      rows,
      rowCount: rows.length,
      command: statement.text.trim().split(/\s+/, 1)[0]!.toUpperCase(),
      fields: [],
    };
  }

  toString(): string {
    return `[${STAND_IN_LABEL}]`;
  }

  get [Symbol.toStringTag](): string {
    return STAND_IN_LABEL;
  }
}

/**
 * `store` with a stand-in transaction for every handler run it gives none to. Keys are still
 * remembered by `store`; the stand-ins are collected in `transactions`, in order.
 */
export class StandInTransactionStore implements IdempotencyStore {
  readonly name: string;
  readonly transactions: StandInTransaction[] = [];

  constructor(
    private readonly store: IdempotencyStore,
    private readonly options: StandInOptions = {},
  ) {
    this.name = `${store.name} + ctx.tx stand-in`;
  }

  init(): Promise<void> {
    return this.store.init();
  }

  run<T>(
    consumer: string,
    key: string,
    windowMs: number,
    fn: (tx: unknown) => Promise<T>,
  ): Promise<IdempotencyResult<T>> {
    return this.store.run(consumer, key, windowMs, (tx) =>
      tx !== undefined ? fn(tx) : this.withStandIn(consumer, fn),
    );
  }

  transaction<T>(fn: (tx: unknown) => Promise<T>): Promise<T> {
    return this.withStandIn('', fn);
  }

  purgeExpired(): Promise<number> {
    return this.store.purgeExpired();
  }

  close(): Promise<void> {
    return this.store.close();
  }

  private async withStandIn<T>(consumer: string, fn: (tx: unknown) => Promise<T>): Promise<T> {
    const tx = new StandInTransaction(consumer, this.options.respond);
    this.transactions.push(tx);
    try {
      const value = await fn(tx);
      tx.outcome = 'committed';
      return value;
    } catch (error) {
      tx.outcome = 'rolled-back';
      throw error;
    }
  }
}
