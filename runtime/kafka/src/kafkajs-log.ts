/**
 * Routes kafkajs' own log entries to the eventform {@link Logger}, at a level that follows kafkajs'
 * own classification of the error rather than the level kafkajs happened to log it at.
 *
 * kafkajs logs every failed response at ERROR, including the ones it retries a moment later: right
 * after a topic is created, during a leader election, a rebalance or a broker restart, a healthy
 * client writes dozens of ERROR lines ("This server is not the leader for that topic-partition").
 * An entry describes an error through its `error` field or its message; that text is looked up in
 * kafkajs' error-code table (the one kafkajs builds its `KafkaJSProtocolError`s from, with their
 * `retriable` flag):
 *
 * - a protocol error kafkajs marks `retriable` (NOT_LEADER_FOR_PARTITION, LEADER_NOT_AVAILABLE,
 *   UNKNOWN_TOPIC_OR_PARTITION, GROUP_LOAD_IN_PROGRESS, ...) → debug;
 * - REBALANCE_IN_PROGRESS and ILLEGAL_GENERATION, which kafkajs does not mark retriable (the request
 *   cannot be repeated) but recovers from by rejoining the group → debug; UNKNOWN_MEMBER_ID, also
 *   rejoined, → warn: the member had been evicted (silent past the session timeout), so its
 *   unfinished messages go to another member again;
 * - a broker that cannot be reached (kafkajs' `KafkaJSConnectionError`, retriable: kafkajs
 *   reconnects) → one warning per `connectionWarnIntervalMs`, carrying the number of further
 *   failures since the last warning, which are logged at debug: an outage is worth a line, not a
 *   hundred;
 * - anything else keeps kafkajs' level; a protocol error kafkajs does not retry stays an error.
 *
 * Retries that run out still surface as errors: a publish rejects with `KafkaPublishError`, and a
 * consumer crash is logged by kafkajs ("Crash: ...", not matched here) and by the consumer loop.
 */
import { createRequire } from 'node:module';
import kafkajs from 'kafkajs';
import type { LogEntry } from 'kafkajs';
import type { Logger } from '@eventform/runtime';
import { KAFKA_DEFAULTS } from './defaults.js';

/** One row of kafkajs' error-code table (`kafkajs/src/protocol/error.js`). */
export interface KafkajsErrorCode {
  type: string;
  code: number;
  retriable: boolean;
  message: string;
}

/**
 * kafkajs' error-code table, by message. The table is not part of kafkajs' typed API, so it is
 * loaded defensively: without it nothing is downgraded (every entry keeps kafkajs' level), which is
 * noisy but never hides an error. `test/kafka/kafkajs-log.test.ts` fails if it cannot be loaded.
 */
export const KAFKAJS_ERROR_CODES: ReadonlyMap<string, KafkajsErrorCode> = loadErrorCodes();

function loadErrorCodes(): Map<string, KafkajsErrorCode> {
  try {
    const module = createRequire(import.meta.url)('kafkajs/src/protocol/error.js') as { errorCodes?: unknown };
    const rows = Array.isArray(module.errorCodes) ? (module.errorCodes as KafkajsErrorCode[]) : [];
    return new Map(rows.filter((row) => typeof row.message === 'string').map((row) => [row.message, row]));
  } catch {
    return new Map();
  }
}

/**
 * Group errors kafkajs handles by rejoining the group (its consumer runner's `isRebalancing` and
 * UNKNOWN_MEMBER_ID branches), with the level they deserve once recovered from.
 */
const REJOIN_LEVELS: Readonly<Record<string, 'debug' | 'warn'>> = {
  REBALANCE_IN_PROGRESS: 'debug',
  ILLEGAL_GENERATION: 'debug',
  UNKNOWN_MEMBER_ID: 'warn',
};

/**
 * Context kafkajs puts in front of an error's message when it logs it just before retrying
 * (producer/sendMessages.js, cluster/brokerPool.js).
 */
const RETRY_CONTEXTS = [
  'Failed to send messages: ',
  'Failed to connect to seed broker, trying another broker from the list: ',
];

/** Messages of kafkajs' `KafkaJSConnectionError`s (network/connection.js): the broker is out of reach. */
const CONNECTION_FAILURES = [
  /^Connection error: /,
  /^Connection timeout$/,
  /^Failed to connect: /,
  /^Closed connection$/,
  /^Connection closed by the server$/,
  /^Not connected$/,
];

/**
 * kafkajs warns about a bounded retry count on every idempotent producer. The bound is on purpose
 * (a publish must fail within a bound when the cluster is gone) and the publisher replaces the
 * producer after a failed send, so no sequence number is ever reused: the warning is noise.
 */
const EXPECTED_WARNINGS = ['Limiting retries for the idempotent producer may invalidate EoS guarantees'];

export type KafkajsLogClass =
  /** A protocol error kafkajs retries, or a group error it recovers from by rejoining. */
  | { kind: 'recoverable'; level: 'debug' | 'warn'; error: KafkajsErrorCode }
  /** The broker could not be reached; kafkajs reconnects. */
  | { kind: 'connection' }
  /** Expected and harmless: dropped, or logged at debug. */
  | { kind: 'expected'; level: 'drop' | 'debug' }
  /** Anything else, including protocol errors kafkajs does not retry: kafkajs' level stands. */
  | { kind: 'other'; error?: KafkajsErrorCode | undefined };

/** What an ERROR or WARN entry of kafkajs is about (pure; entries at other levels are `other`). */
export function classifyKafkajsLog(entry: Pick<LogEntry, 'level' | 'log'>): KafkajsLogClass {
  const { message } = entry.log;
  if (EXPECTED_WARNINGS.includes(message)) return { kind: 'expected', level: 'drop' };
  // Concurrent starts race to create the same topics and the loser's "Topic creation errors"
  // (already exists) is expected; a real failure surfaces as a KafkaProvisionError anyway.
  if (message.startsWith('Response CreateTopics')) return { kind: 'expected', level: 'debug' };

  const text = errorTextOf(entry.log);
  const error = KAFKAJS_ERROR_CODES.get(text);
  if (error) {
    if (error.retriable) return { kind: 'recoverable', level: 'debug', error };
    const rejoin = REJOIN_LEVELS[error.type];
    if (rejoin) return { kind: 'recoverable', level: rejoin, error };
    return { kind: 'other', error };
  }
  if (CONNECTION_FAILURES.some((pattern) => pattern.test(text))) return { kind: 'connection' };
  return { kind: 'other' };
}

/** The error an entry is about: its `error` field when a string, else its message minus retry context. */
function errorTextOf(log: LogEntry['log']): string {
  const field = (log as { error?: unknown }).error;
  if (typeof field === 'string') return field;
  const context = RETRY_CONTEXTS.find((prefix) => log.message.startsWith(prefix));
  return context ? log.message.slice(context.length) : log.message;
}

export interface KafkajsLogRouterOptions {
  /** @default KAFKA_DEFAULTS.connectionWarnIntervalMs (30 s) */
  connectionWarnIntervalMs?: number | undefined;
  /** Clock, for tests. @default Date.now */
  now?: (() => number) | undefined;
}

/**
 * A kafkajs log function (what `logCreator` returns) writing to `logger`. One per kafkajs client:
 * the connection-failure aggregation is per client. Without a logger it drops everything; what
 * matters surfaces as a rejected promise.
 */
export function createKafkajsLogRouter(
  logger: Logger | undefined,
  options: KafkajsLogRouterOptions = {},
): (entry: LogEntry) => void {
  const interval = options.connectionWarnIntervalMs ?? KAFKA_DEFAULTS.connectionWarnIntervalMs;
  const now = options.now ?? Date.now;
  let lastConnectionWarning = -Infinity;
  let connectionFailuresSince = 0;

  return (entry) => {
    if (!logger) return;
    const { message, timestamp: _timestamp, logger: _name, ...fields } = entry.log;
    const text = `kafkajs ${entry.namespace}: ${message}`;
    const extra: Record<string, unknown> = { ...fields };
    const kafkaLevel = levelOf(entry.level);
    if (kafkaLevel !== 'error' && kafkaLevel !== 'warn') return logger[kafkaLevel](text, extra);

    const found = classifyKafkajsLog(entry);
    switch (found.kind) {
      case 'expected':
        if (found.level === 'debug') logger.debug(text, extra);
        return;
      case 'recoverable':
        return logger[found.level](text, { ...extra, kafkaError: found.error.type, recoverable: true });
      case 'connection': {
        const at = now();
        if (at - lastConnectionWarning < interval) {
          connectionFailuresSince++;
          return logger.debug(text, extra);
        }
        const repeated = connectionFailuresSince;
        lastConnectionWarning = at;
        connectionFailuresSince = 0;
        return logger.warn(text, {
          ...extra,
          recoverable: true,
          // Further connection failures within the interval go to debug; the next warning counts them.
          ...(repeated > 0 ? { connectionFailuresSinceLastWarning: repeated } : {}),
        });
      }
      case 'other':
        return logger[kafkaLevel](text, found.error ? { ...extra, kafkaError: found.error.type } : extra);
    }
  };
}

function levelOf(level: number): 'error' | 'warn' | 'info' | 'debug' {
  const { logLevel } = kafkajs;
  if (level <= logLevel.ERROR) return 'error';
  if (level <= logLevel.WARN) return 'warn';
  if (level <= logLevel.INFO) return 'info';
  return 'debug';
}
