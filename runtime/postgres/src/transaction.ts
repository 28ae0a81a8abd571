/**
 * One transaction on a pool client, with what can go wrong on the way handled once: the client's
 * connection dying between queries (an `error` event that must not crash the process), a callback
 * that throws (ROLLBACK), a statement that failed inside the callback but was caught (PostgreSQL
 * then answers COMMIT with ROLLBACK, which is a failure, not a success), and a client whose state is
 * unknown (destroyed instead of returned to the pool).
 */
import type { Pool, PoolClient } from 'pg';

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
