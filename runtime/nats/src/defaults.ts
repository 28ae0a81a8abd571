/**
 * Every default of the NATS JetStream binding, in one place. Options types document them with
 * `@default`; code reads them from here.
 */
export const NATS_DEFAULTS = {
  /** Servers when neither an option nor `NATS_URL` names them. */
  servers: '127.0.0.1:4222',
  /** Connection name on the server (`connz`), and the prefix of this client's inboxes' owner. */
  name: 'eventform',
  /**
   * How long the server waits for an ack before it redelivers a message. The transport keeps a
   * message it still works on alive (`working()`) every third of this, so it bounds only how
   * long a crashed consumer's messages stay invisible.
   */
  ackWaitMs: 30_000,
  /**
   * Unacknowledged messages the server lets one durable consumer have at once, across every
   * process: the bound a delayed retry (a nak with delay counts as pending) can take up.
   */
  maxAckPending: 10_000,
  /** Messages one process holds per consumer stream at once (fetched, queued or in a handler). */
  maxInHand: 256,
  /**
   * Longest a fetch waits on the server for messages. It also bounds how long `stop()` waits for
   * the fetch in flight (whose messages are then released, never dropped). The client's minimum is 1 s.
   */
  fetchExpiresMs: 1_000,
  /** How long after a `release` the server redelivers the message. */
  releaseDelayMs: 1_000,
  /** Stop timeout of subscriptions when none is given. */
  stopTimeoutMs: 10_000,
  /**
   * How much further ahead than the consumer's longest retry delay a retry copy's `ef-due-at` may
   * lie (clock skew between instances); a later one, forged or skewed, is clamped to that.
   */
  retryDueMarginMs: 30_000,
  /** Timeout of one JetStream API request or publish acknowledgement. */
  requestTimeoutMs: 10_000,
  /**
   * Whether the client records where each request started (an Error with a stack per publish and
   * per JetStream call, the client's default) so a timeout says where it came from. Off: measured
   * here at about a seventh of a consumer's CPU on the publish-and-consume path; turn it on while
   * looking for a timeout's origin.
   */
  asyncTraces: false,
  /** Pause of a fetch loop after the fetch failed (server away, consumer missing). */
  fetchErrorBackoffMs: 500,
  /** Fetch failures are logged as at most one warning per this interval per loop. */
  warnIntervalMs: 30_000,
  /**
   * How long an event stream keeps a message (JetStream `max_age`): like Kafka's retention, a
   * consumer added later reads what is still there. Dead-letter streams keep theirs forever.
   */
  eventMaxAgeMs: 7 * 24 * 3_600_000,
  /** The server's de-duplication window of retry and dead-letter copies (by `Nats-Msg-Id`). */
  duplicateWindowMs: 120_000,
  /** Headers a delivery may carry; more makes it undecodable (dead-lettered as `invalid-headers`). */
  maxHeaders: 256,
  /** The server's `max_payload` when it has not announced one: nats-server's default, 1 MiB. */
  maxPayload: 1_048_576,
} as const;

/** `NATS_URL` from the environment (comma-separated servers), else {@link NATS_DEFAULTS}.servers. */
export function defaultNatsServers(env: NodeJS.ProcessEnv = process.env): string {
  return env['NATS_URL'] || NATS_DEFAULTS.servers;
}
