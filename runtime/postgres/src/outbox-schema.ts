/**
 * The outbox table, as SQL a user can read and apply (`eventform relay schema` prints it,
 * `eventform relay migrate` applies it; `init()` runs it when `createTable` is on).
 *
 * One row per published event, written in the producing transaction: the message exactly as the
 * runtime encoded it (body, logical headers, key), the topology and event it belongs to, and the
 * relay's bookkeeping. `seq` orders rows; rows of one key are published in `seq` order.
 * `claimed_by` names the relay (by the token of the advisory lock its session holds) publishing a
 * row right now; a claim whose session is gone is void, so a relay killed mid-batch holds nothing.
 */
import { indexName, qualifiedName } from './identifier.js';
import { POSTGRES_OUTBOX_DEFAULTS } from './defaults.js';

/** Version of the table layout, kept in the table's comment. */
export const OUTBOX_SCHEMA_VERSION = 1;

/** The statements that create the outbox table and its indexes; each is idempotent. */
export function outboxSchemaStatements(table: string = POSTGRES_OUTBOX_DEFAULTS.table): string[] {
  const t = qualifiedName(table);
  return [
    `CREATE TABLE IF NOT EXISTS ${t.sql} (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  topology text NOT NULL,
  event_type text NOT NULL,
  event_id text NOT NULL,
  key text,
  headers json NOT NULL,
  body bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  claimed_by integer,
  attempts integer NOT NULL DEFAULT 0,
  last_error text,
  published_at timestamptz
)`,
    `COMMENT ON TABLE ${t.sql} IS 'eventform transactional outbox, layout ${OUTBOX_SCHEMA_VERSION}'`,
    // What relays claim from: the unpublished rows in order.
    `CREATE INDEX IF NOT EXISTS ${indexName(t, 'pending_idx')} ON ${t.sql} (seq) WHERE published_at IS NULL`,
    // Is an earlier row of this key still unpublished (and claimed by another relay)?
    `CREATE INDEX IF NOT EXISTS ${indexName(t, 'key_idx')} ON ${t.sql} (key, seq) WHERE published_at IS NULL`,
    // What the retention purge deletes.
    `CREATE INDEX IF NOT EXISTS ${indexName(t, 'published_idx')} ON ${t.sql} (published_at) WHERE published_at IS NOT NULL`,
  ];
}

/** The migration as one SQL script, to apply with psql or a migration tool. */
export function outboxSchemaSql(table: string = POSTGRES_OUTBOX_DEFAULTS.table): string {
  return `-- eventform transactional outbox (layout ${OUTBOX_SCHEMA_VERSION}) for table ${table}\n${outboxSchemaStatements(
    table,
  )
    .map((s) => `${s};\n`)
    .join('')}`;
}
