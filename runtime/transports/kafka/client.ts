/**
 * One place that builds kafkajs clients: broker list parsing, the retry policy, and routing
 * kafkajs' logging to the eventform {@link Logger} (kafkajs logs to the console by default and is
 * chatty at INFO).
 */
import kafkajs from 'kafkajs';
import type { Kafka as KafkaClient, LogEntry, RetryOptions } from 'kafkajs';
import type { Logger } from '../../core/api.js';
import { KAFKA_DEFAULTS, type KafkaLogLevel } from './defaults.js';

const { Kafka, logLevel: LEVEL } = kafkajs;

export interface KafkaClientOptions {
  /** `host:port` list, as an array or a comma-separated string. */
  brokers: string[] | string;
  clientId?: string;
  logger?: Logger;
  /** @default 'warn' */
  logLevel?: KafkaLogLevel;
  retry?: RetryOptions;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
}

/** `'a:1, b:2'` or `['a:1']` → `['a:1', 'b:2']`; throws on an empty list. */
export function parseBrokers(brokers: string[] | string): string[] {
  const list = (Array.isArray(brokers) ? brokers : brokers.split(',')).map((b) => b.trim()).filter((b) => b.length > 0);
  if (list.length === 0) throw new Error('Kafka: no brokers given (expected "host:port[,host:port...]")');
  return list;
}

export function createKafkaClient(opts: KafkaClientOptions): KafkaClient {
  return new Kafka({
    brokers: parseBrokers(opts.brokers),
    clientId: opts.clientId ?? KAFKA_DEFAULTS.clientId,
    connectionTimeout: opts.connectionTimeoutMs ?? KAFKA_DEFAULTS.connectionTimeoutMs,
    requestTimeout: opts.requestTimeoutMs ?? KAFKA_DEFAULTS.requestTimeoutMs,
    retry: { ...KAFKA_DEFAULTS.retry, ...opts.retry },
    logLevel: toKafkaLevel(opts.logLevel ?? 'warn'),
    logCreator: () => (entry: LogEntry) => route(opts.logger, entry),
  });
}

function toKafkaLevel(level: KafkaLogLevel): number {
  switch (level) {
    case 'error':
      return LEVEL.ERROR;
    case 'warn':
      return LEVEL.WARN;
    case 'info':
      return LEVEL.INFO;
    case 'debug':
      return LEVEL.DEBUG;
  }
}

/**
 * kafkajs warns about a bounded retry count on every idempotent producer. The bound is on purpose
 * (a publish must fail within a bound when the cluster is gone) and the publisher replaces the
 * producer after a failed send, so no sequence number is ever reused: the warning is noise.
 */
const EXPECTED_WARNINGS = ['Limiting retries for the idempotent producer may invalidate EoS guarantees'];

function route(logger: Logger | undefined, entry: LogEntry): void {
  const { message, timestamp: _timestamp, logger: _name, ...fields } = entry.log;
  if (EXPECTED_WARNINGS.includes(message)) return;
  const text = `kafkajs ${entry.namespace}: ${message}`;
  const extra: Record<string, unknown> = { ...fields };
  // No logger: stay quiet; whatever matters surfaces as a rejected promise.
  if (!logger) return;
  // Concurrent starts race to create the same topics and the loser's "Topic creation errors"
  // (already exists) is expected; a real failure surfaces as a KafkaProvisionError anyway.
  if (message.startsWith('Response CreateTopics')) {
    logger.debug(text, extra);
    return;
  }
  if (entry.level <= LEVEL.ERROR) logger.error(text, extra);
  else if (entry.level <= LEVEL.WARN) logger.warn(text, extra);
  else if (entry.level <= LEVEL.INFO) logger.info(text, extra);
  else logger.debug(text, extra);
}

/** kafkajs error types meaning "the group is rebalancing: rejoin" (mirrors kafkajs' own check). */
export function isRebalancing(error: unknown): boolean {
  const type = (error as { type?: unknown } | null)?.type;
  return type === 'REBALANCE_IN_PROGRESS' || type === 'NOT_COORDINATOR_FOR_GROUP' || type === 'ILLEGAL_GENERATION';
}

/** A short description of a kafkajs error, with its cause chain, for logs and wrapped errors. */
export function describeKafkaError(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current && depth < 4; depth++) {
    const e = current as { name?: string; message?: string; type?: string; cause?: unknown };
    const label = e.type ? `${e.name ?? 'Error'}[${e.type}]` : (e.name ?? 'Error');
    const text = `${label}: ${e.message ?? String(current)}`;
    if (!parts.includes(text)) parts.push(text);
    current = e.cause;
  }
  return parts.join(' ← ');
}
