/**
 * One place that builds kafkajs clients: broker list parsing, the retry policy, and routing
 * kafkajs' logging to the eventform {@link Logger} (kafkajs logs to the console by default, is
 * chatty at INFO and logs errors it retries at ERROR; see kafkajs-log.ts).
 */
import { withDefaults } from '@eventform/runtime';
import kafkajs from 'kafkajs';
import type { Kafka as KafkaClient, RetryOptions } from 'kafkajs';
import type { Logger } from '@eventform/runtime';
import { KAFKA_DEFAULTS, type KafkaLogLevel } from './defaults.js';
import { createKafkajsLogRouter } from './kafkajs-log.js';

const { Kafka, logLevel: LEVEL } = kafkajs;

export interface KafkaClientOptions {
  /** `host:port` list, as an array or a comma-separated string. */
  brokers: string[] | string;
  clientId?: string | undefined;
  logger?: Logger | undefined;
  /** @default 'warn' */
  logLevel?: KafkaLogLevel | undefined;
  retry?: RetryOptions | undefined;
  connectionTimeoutMs?: number | undefined;
  requestTimeoutMs?: number | undefined;
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
    retry: withDefaults<RetryOptions>({ ...KAFKA_DEFAULTS.retry }, opts.retry),
    logLevel: toKafkaLevel(opts.logLevel ?? 'warn'),
    // One router per client: it aggregates connection failures (see kafkajs-log.ts).
    logCreator: () => createKafkajsLogRouter(opts.logger),
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
