/**
 * One transaction on a pool client, with what can go wrong on the way handled once: the client's
 * connection dying between queries (an `error` event that must not crash the process), a callback
 * that throws (ROLLBACK), a statement that failed inside the callback but was caught (PostgreSQL
 * then answers COMMIT with ROLLBACK, which is a failure, not a success), and a client whose state is
 * unknown (destroyed instead of returned to the pool).
 */
import type { Pool, PoolClient } from 'pg';

const guarded = new WeakSet<Pool>();

/**
 * Gives every client of `pool` an `error` listener of its own for its whole life. A client handed
 * out by the pool has none until its user adds one; when PostgreSQL shuts down, the message that
 * ends a new connection can arrive in the same read as the one that completed it, before the user's
 * listener is there — and an `error` without a listener kills the process. The errors themselves
 * still reach the query that was running and every listener of the code using the client.
 */
export function guardClientErrors(pool: Pool): void {
  if (guarded.has(pool)) return;
  guarded.add(pool);
  pool.on('connect', (client) => void client.on('error', () => {}));
}

/** Returned by a {@link transact} callback to end the transaction with ROLLBACK without an error. */
export const ROLLBACK: unique symbol = Symbol('eventform.rollback');

/** COMMIT answered ROLLBACK: a statement inside the transaction failed and the error was caught. */
export class TransactionAbortedError extends Error {
  readonly code = 'EF_PG_TRANSACTION_ABORTED';
  constructor() {
    super('The transaction was aborted by a failed statement and rolled back');
    this.name = 'TransactionAbortedError';
  }
}

/** BEGIN, `fn(client)`, COMMIT — or ROLLBACK when `fn` throws (rethrown) or returns {@link ROLLBACK}. */
export async function transact<T>(
  pool: Pool,
  fn: (client: PoolClient) => Promise<T | typeof ROLLBACK>,
): Promise<T | typeof ROLLBACK> {
  const client = await pool.connect();
  let connectionError: unknown;
  const onError = (error: unknown) => (connectionError = error);
  client.on('error', onError);
  let clean = false; // true once the transaction is over and the connection is reusable
  try {
    await client.query('BEGIN');
    let value: T | typeof ROLLBACK;
    try {
      value = await fn(client);
    } catch (error) {
      await client.query('ROLLBACK').then(
        () => (clean = true),
        () => {},
      );
      throw error;
    }
    if (value === ROLLBACK) {
      await client.query('ROLLBACK');
      clean = true;
      return ROLLBACK;
    }
    const commit = await client.query('COMMIT');
    clean = true;
    if ((commit as { command?: string }).command === 'ROLLBACK') throw new TransactionAbortedError();
    return value;
  } finally {
    client.off('error', onError);
    client.release(clean && !connectionError ? undefined : true);
  }
}
