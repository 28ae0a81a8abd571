/** Defaults of the PostgreSQL store and outbox, in one place; options document them with `@default`. */
export const POSTGRES_STORE_DEFAULTS = {
  /** Table of processed events; created on `init()` when missing. */
  table: 'eventform_processed_event',
  /** Interval of the expired-row cleanup; `0` disables it. */
  purgeIntervalMs: 60 * 60_000,
  /** Pool size when the store creates its own pool; each in-flight handler holds one client. */
  maxClients: 10,
} as const;

export const POSTGRES_OUTBOX_DEFAULTS = {
  /** Table of outgoing events; created on `init()` when missing. */
  table: 'eventform_outbox',
  /** Rows one claim of a relay takes at most; a relay has at most about twice as many unconfirmed. */
  batchSize: 500,
  /**
   * How often an idle relay looks for rows without being woken. Rows committed through eventform
   * wake it (in process, or by NOTIFY); this only covers what nothing announced (rows inserted by
   * hand, a notification lost while the relay reconnected).
   */
  pollIntervalMs: 5_000,
  /** How long published rows are kept before the relay deletes them (1 h). */
  retentionMs: 60 * 60_000,
  /** How often a relay deletes published rows past the retention; `0` disables it. */
  purgeIntervalMs: 60_000,
  /** Rows one DELETE removes while purging, so a large backlog is removed in short statements. */
  purgeBatch: 10_000,
  /** How often a relay measures the pending rows and the oldest one's age for `health()`. */
  statsIntervalMs: 1_000,
  /** Wait after a failed batch before the next try; doubled per failure up to the maximum. */
  retry: { initialDelayMs: 100, maxDelayMs: 5_000 },
} as const;
