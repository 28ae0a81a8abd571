/** Defaults of the PostgreSQL store, in one place; options document them with `@default`. */
export const POSTGRES_STORE_DEFAULTS = {
  /** Table of processed events; created on `init()` when missing. */
  table: 'eventform_processed_event',
  /** Interval of the expired-row cleanup; `0` disables it. */
  purgeIntervalMs: 60 * 60_000,
  /** Pool size when the store creates its own pool; each in-flight handler holds one client. */
  maxClients: 10,
} as const;
