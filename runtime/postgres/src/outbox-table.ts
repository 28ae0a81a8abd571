/**
 * Every SQL statement on one outbox table, built once from its validated name. The layout is in
 * outbox-schema.ts; the claim protocol is explained in relay.ts.
 */
import { qualifiedName } from './identifier.js';

export interface OutboxTable {
  /** The name as configured. */
  name: string;
  /** LISTEN/NOTIFY channel of this table (the name itself, hashed when longer than 63 bytes). */
  channel: string;
  channelSql: string;
  /** First key of every advisory lock relays of this table take (31-bit hash of the name). */
  lockNamespace: number;
  sql: {
    /** $1 topology, $2 event type, $3 event id, $4 key, $5 headers (JSON text), $6 body. */
    insert: string;
    /** $1 relay token, $2 topology, $3 event types, $4 batch size, $5 seqs the relay has in flight (left out) → the claimed rows. */
    claim: string;
    /** $1 seqs → { n, lag_ms } (commit-to-publish time of the oldest). */
    mark: string;
    /** $1 seqs, $2 relay token, $3 seqs that failed, $4 error text. */
    release: string;
    /** → { pending, oldest_ms }. */
    stats: string;
    /** $1 retention (ms), $2 rows at most. */
    purge: string;
  };
}

/** FNV-1a, folded to 31 bits (positive, so it reads the same as an `oid` in pg_locks). */
function hash31(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) & 0x7fffffff || 1;
}

export function outboxTable(name: string): OutboxTable {
  const t = qualifiedName(name).sql;
  const channel = name.length <= 63 ? name : `eventform_outbox_${hash31(name).toString(16)}`;
  const lockNamespace = hash31(`eventform-outbox:${name}`);
  // Relays alive now: sessions holding a relay token's advisory lock in this database.
  const live = `SELECT objid::bigint AS token FROM pg_locks
      WHERE locktype = 'advisory' AND granted AND objsubid = 2 AND classid = ${lockNamespace}::oid
        AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`;
  return {
    name,
    channel,
    channelSql: `"${channel}"`,
    lockNamespace,
    sql: {
      insert: `INSERT INTO ${t} (topology, event_type, event_id, key, headers, body) VALUES ($1, $2, $3, $4, $5, $6)`,
      claim: `WITH live AS (${live})
        UPDATE ${t} AS o SET claimed_by = $1
        FROM (
          SELECT c.seq FROM ${t} AS c
          WHERE c.published_at IS NULL
            AND c.topology = $2
            AND c.event_type = ANY($3::text[])
            AND (c.claimed_by IS NULL OR c.claimed_by = $1 OR c.claimed_by NOT IN (SELECT token FROM live))
            AND NOT (c.seq = ANY($5::bigint[]))
            AND NOT EXISTS (
              SELECT 1 FROM ${t} AS b
              WHERE b.key = c.key AND b.seq < c.seq AND b.published_at IS NULL
                AND b.claimed_by <> $1 AND b.claimed_by IN (SELECT token FROM live))
          ORDER BY c.seq
          LIMIT $4
        ) AS pick
        WHERE o.seq = pick.seq
        RETURNING o.seq, o.event_type, o.key, o.headers, o.body`,
      mark: `WITH m AS (
          UPDATE ${t} SET published_at = clock_timestamp(), claimed_by = NULL
          WHERE seq = ANY($1::bigint[]) AND published_at IS NULL
          RETURNING created_at)
        SELECT count(*)::int AS n, (extract(epoch FROM clock_timestamp() - min(created_at)) * 1000)::float8 AS lag_ms FROM m`,
      release: `UPDATE ${t} SET claimed_by = NULL,
          attempts = attempts + CASE WHEN seq = ANY($3::bigint[]) THEN 1 ELSE 0 END,
          last_error = CASE WHEN seq = ANY($3::bigint[]) THEN $4 ELSE last_error END
        WHERE seq = ANY($1::bigint[]) AND claimed_by = $2 AND published_at IS NULL`,
      stats: `SELECT count(*)::int AS pending,
          (extract(epoch FROM clock_timestamp() - min(created_at)) * 1000)::float8 AS oldest_ms
        FROM ${t} WHERE published_at IS NULL`,
      purge: `DELETE FROM ${t} WHERE seq IN (
          SELECT seq FROM ${t} WHERE published_at < clock_timestamp() - ($1::float8 * interval '1 millisecond') LIMIT $2)`,
    },
  };
}
