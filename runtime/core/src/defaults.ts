/**
 * Every runtime default, in one place. Options types document these with `@default`; code reads
 * them from here so a default never drifts between two files.
 */

export const RUNTIME_DEFAULTS = {
  /** How long `Runtime.stop()` waits for in-flight handlers before aborting `ctx.signal`. */
  shutdownTimeoutMs: 10_000,
  /** Environment variable holding the log level of the default logger. */
  logLevelEnv: 'EVENTFORM_LOG',
  /** Level of the default logger when the environment variable is unset or invalid. */
  logLevel: 'info',
  /**
   * Deliveries without an outcome after which a message is dead-lettered (`redelivery-limit`)
   * before its handler runs again: a message that kills its consumer each time must not loop forever.
   */
  maxDeliveries: 20,
  /**
   * Largest message body a consumer decodes, in bytes (1 MiB, Kafka's default message size limit);
   * a larger one is dead-lettered as `too-large` before it is parsed.
   */
  maxBodyBytes: 1_048_576,
  /**
   * Deepest nesting of JSON arrays and objects a consumer parses; a deeper body is dead-lettered as
   * `invalid-json` before it is parsed. Far below the few thousand levels at which validating or
   * serialising a value overflows the stack.
   */
  maxJsonDepth: 128,
  /**
   * Messages on which the delivery pipeline itself failed that the runtime remembers, to count
   * the failures of each (past `maxDeliveries` it dead-letters instead of releasing again); the
   * oldest are forgotten first.
   */
  pipelineFailureMemory: 10_000,
  /** Handlers publish into the outbox in their transaction, when the idempotency store has an outbox. */
  outbox: true,
  /** With an outbox, `start()` runs a relay in this process. */
  outboxRelay: true,
} as const;

export const DEAD_LETTER_DEFAULTS = {
  /** Longest stack trace kept in `ef-dl-stack`, in UTF-8 bytes (headers are not a log store). */
  maxStackBytes: 2048,
  /** Longest error message kept in `ef-dl-error`, in UTF-8 bytes. */
  maxErrorBytes: 1024,
} as const;

export const MEMORY_STORE_DEFAULTS = {
  /** Processed keys remembered; the oldest are evicted first beyond this. */
  maxEntries: 100_000,
  /** Interval of the expired-entry sweep; `0` disables the timer (expiry is also checked on read). */
  purgeIntervalMs: 60_000,
} as const;

export const MEMORY_TRANSPORT_DEFAULTS = {
  /** Stop timeout of subscriptions when none is given. */
  stopTimeoutMs: 10_000,
} as const;

/** Defaults of the test support (`@eventform/runtime/testing`) and the memory transport's test hooks. */
export const TESTING_DEFAULTS = {
  /** How long `waitFor`, `MemoryTransport.whenIdle` and the harness's `deliver` wait. */
  waitTimeoutMs: 10_000,
  /** How often `waitFor` polls. */
  pollIntervalMs: 10,
  /** How long the harness's `stop()` lets handlers finish. */
  harnessStopTimeoutMs: 1_000,
  /** The conformance suite's extra upper slack on measured retry delays (scaled by `timeScale`). */
  retryToleranceMs: 300,
} as const;
