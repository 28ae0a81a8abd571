/**
 * Finds the local PostgreSQL (127.0.0.1:5432, database `test`) for store tests: user from PGUSER,
 * else `postgres`, else `root`. Under CI=true a missing server is an error, never a skip.
 */
import { isCi } from '../support/brokers.js';
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const PG_HOST = process.env['PGHOST'] ?? '127.0.0.1';
export const PG_PORT = Number(process.env['PGPORT'] ?? 5432);
export const PG_DATABASE = process.env['PGDATABASE'] ?? 'test';

export interface PgTarget {
  config: pg.PoolConfig;
  /** Why no server was found; `null` when one was. */
  unavailable: string | null;
}

export async function findPostgres(): Promise<PgTarget> {
  const users = [...new Set([process.env['PGUSER'], 'postgres', 'root'].filter((u): u is string => Boolean(u)))];
  const errors: string[] = [];
  for (const user of users) {
    const config: pg.PoolConfig = {
      host: PG_HOST,
      port: PG_PORT,
      database: PG_DATABASE,
      user,
      connectionTimeoutMillis: 3_000,
    };
    const client = new pg.Client(config);
    try {
      await client.connect();
      await client.query('SELECT 1');
      await client.end();
      return { config, unavailable: null };
    } catch (error) {
      errors.push(`${user}: ${(error as Error).message}`);
      await client.end().catch(() => {});
    }
  }
  const unavailable = `PostgreSQL not reachable at ${PG_HOST}:${PG_PORT}/${PG_DATABASE} (${errors.join('; ')})`;
  if (isCi()) throw new Error(`${unavailable} — CI=true forbids skipping the PostgreSQL tests`);
  return { config: {}, unavailable };
}

export const uniqueTable = (prefix: string) => `${prefix}_${randomBytes(4).toString('hex')}`;
