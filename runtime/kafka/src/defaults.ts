/**
 * Every default of the Kafka binding, in one place. Options types document them with
 * `@default`; code reads them from here.
 */
export const KAFKA_DEFAULTS = {
  clientId: 'eventform',
  /** Brokers when neither an option nor `KAFKA_BROKERS` names them: the test broker of scripts/kafka. */
  brokers: '127.0.0.1:19092',
  /** TCP connect timeout per broker. */
  connectionTimeoutMs: 3_000,
  /** Per-request timeout (produce, fetch, admin). */
  requestTimeoutMs: 30_000,
  /**
   * kafkajs retry policy for producer, consumer and admin requests. Generous on purpose: a
   * broker restart (leader election, a single node coming back after a crash) takes seconds, and
   * the client should ride it out instead of failing the publish or crashing the consumer.
   * 300ms doubling to 5s over 20 retries ≈ 90s of patience before a publish rejects.
   */
  retry: { retries: 20, initialRetryTime: 300, maxRetryTime: 5_000, multiplier: 2, factor: 0.2 },
  /**
   * Retry policy of `provisionKafka`'s admin requests: a CLI run against an unreachable cluster
   * should fail within seconds, not minutes (about 10s).
   */
  provisionRetry: { retries: 5, initialRetryTime: 300, maxRetryTime: 5_000, multiplier: 2, factor: 0.2 },
  /** Consumer group session: a member silent this long is evicted and its partitions move. */
  sessionTimeoutMs: 30_000,
  /** How often a member heartbeats; about a third of the session timeout. */
  heartbeatIntervalMs: 3_000,
  /** How long the group waits for members to rejoin (and finish in-flight work) in a rebalance. */
  rebalanceTimeoutMs: 60_000,
  /** Longest a fetch waits on the broker for new data (also bounds pause/resume latency). */
  maxWaitTimeMs: 1_000,
  /**
   * Fetch long-poll of the retry consumer. Shorter than the main one because it is also the
   * latency between a retry becoming due (its partition resumed) and the next fetch.
   */
  retryMaxWaitTimeMs: 250,
  /** Where a consumer group with no committed offset starts. */
  startFrom: 'earliest' as 'earliest' | 'latest',
  /** Publish micro-batching: most messages and bytes in one produce request. */
  maxBatchMessages: 1_000,
  maxBatchBytes: 512 * 1024,
  /** Produce timeout on the broker side (time to get acks from all in-sync replicas). */
  produceTimeoutMs: 30_000,
  /** Stop timeout of subscriptions when none is given. */
  stopTimeoutMs: 10_000,
  /** Pause of a partition after a `release` or a failed disposition before it is fetched again. */
  releaseBackoffMs: 1_000,
  /**
   * How much further ahead than the consumer's longest retry delay a retry copy's `ef-due-at` may
   * lie (room for clock skew between the instance that scheduled the retry and the one that reads
   * it); a later due time is clamped to now + longest delay + this.
   */
  retryDueMarginMs: 30_000,
  /**
   * kafkajs' connection failures (broker unreachable; kafkajs reconnects) are logged as at most one
   * warning per this interval per client, with a count of the ones in between (logged at debug).
   */
  connectionWarnIntervalMs: 30_000,
  /** How long a consumer waits before restarting after kafkajs gave up on it. */
  crashRestartDelayMs: 2_000,
} as const;

/** Log level of kafkajs' own messages routed to the eventform logger. */
export type KafkaLogLevel = 'error' | 'warn' | 'info' | 'debug';

/** `KAFKA_BROKERS` from the environment, else {@link KAFKA_DEFAULTS}.brokers. */
export function defaultKafkaBrokers(env: NodeJS.ProcessEnv = process.env): string {
  return env['KAFKA_BROKERS'] || KAFKA_DEFAULTS.brokers;
}
