/**
 * The dead-letter record: ONE format on every transport. A dead-lettered message is the original
 * body with the original headers plus `ef-dl-*` headers (names in {@link EF}) describing why, so a
 * DLQ can be inspected and replayed with the same tools whatever the broker.
 */
import { DEAD_LETTER_DEFAULTS } from './defaults.js';
import { NotADeadLetterError } from './errors.js';
import { CE, EF, setHeader } from './headers.js';
import type { Headers } from './transport.js';

/**
 * Why a message was dead-lettered. Every reason but the last three is a poison message: it is
 * dead-lettered at once, before any handler runs, and never retried or released.
 * - `invalid-headers`: the transport could not decode the message's headers within its bounds
 *   (e.g. an AMQP header table nested too deep); see `Delivery.undecodable`.
 * - `too-large`: the body is larger than the consumer's limit.
 * - `invalid-encoding`: the body is not valid UTF-8 (JSON must be).
 * - `invalid-json`: the body is not JSON, or is nested deeper than the runtime parses.
 * - `unknown-type`: the `type` header is missing, unknown, or not consumed by this consumer.
 * - `invalid-envelope`: other CloudEvents attributes are missing or malformed.
 * - `schema-invalid`: the payload fails the event's schema, or the validator threw on it.
 * - `invalid-dedupe-key`: no dedupe key could be made from the payload field named by the
 *   consumer's `idempotency.key` (serialising the value threw, e.g. nested too deep).
 * - `non-retryable`: the handler threw `NonRetryableError`.
 * - `retries-exhausted`: the handler failed on every attempt.
 * - `redelivery-limit`: delivered more often than `maxDeliveries` without an outcome (the consumer
 *   crashed or lost its connection each time, or the delivery pipeline failed on it each time).
 */
export type DeadLetterReason =
  | 'invalid-headers'
  | 'too-large'
  | 'invalid-encoding'
  | 'invalid-json'
  | 'unknown-type'
  | 'invalid-envelope'
  | 'schema-invalid'
  | 'invalid-dedupe-key'
  | 'non-retryable'
  | 'retries-exhausted'
  | 'redelivery-limit';

export const DEAD_LETTER_REASONS: readonly DeadLetterReason[] = [
  'invalid-headers',
  'too-large',
  'invalid-encoding',
  'invalid-json',
  'unknown-type',
  'invalid-envelope',
  'schema-invalid',
  'invalid-dedupe-key',
  'non-retryable',
  'retries-exhausted',
  'redelivery-limit',
];

/** A dead letter, parsed back by {@link readDeadLetter}. */
export interface DeadLetterRecord {
  reason: DeadLetterReason;
  /** The error message (truncated). */
  error: string;
  /** The error's stack trace, truncated to ~2 KiB; `null` for poison messages (no handler ran). */
  stack: string | null;
  /** Attempts made, the failing one included (1 for poison messages). */
  attempts: number;
  /** Where the message was originally published (exchange/routing key or topic). */
  origin: string;
  /** Consumer id (`service.handler`) that gave up on it. */
  consumer: string;
  /** ISO 8601 time of the first and the last failure. */
  firstFailure: string;
  lastFailure: string;
  /** The message's correlation id, when it had one. */
  correlationId: string | null;
  /** The event id and type from the original headers, when present. */
  eventId: string | null;
  eventType: string | null;
  /** The original body, untouched. */
  body: Buffer;
  /** The original headers, without the `ef-dl-*` record. */
  headers: Headers;
}

/** What the runtime knows when it dead-letters a message. */
export interface DeadLetterInput {
  reason: DeadLetterReason;
  /** An `Error` (message and stack are kept) or a description. */
  error: unknown;
  attempts: number;
  origin: string;
  consumer: string;
  firstFailure: string;
  lastFailure: string;
  correlationId?: string | null | undefined;
}

// Transport bookkeeping that means nothing once a message is in a DLQ.
const TRANSIENT_HEADERS = new Set<string>([EF.retryFor, EF.dueAt]);

/** Shorten `text` to at most `maxBytes` UTF-8 bytes, marking the cut with `…`. */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  const cut = Buffer.from(text)
    .subarray(0, Math.max(0, maxBytes - 3))
    .toString('utf8');
  return cut.replace(/\uFFFD$/, '') + '…';
}

function errorParts(error: unknown): { message: string; stack: string | null } {
  if (error instanceof Error) {
    return { message: error.message || error.name, stack: error.stack ?? null };
  }
  return { message: typeof error === 'string' ? error : String(error), stack: null };
}

/** The headers of the dead-letter copy: original headers plus the `ef-dl-*` record. */
export function deadLetterHeaders(original: Headers, input: DeadLetterInput): Headers {
  const headers: Headers = {};
  for (const name of Object.keys(original)) {
    if (!TRANSIENT_HEADERS.has(name) && !name.startsWith('ef-dl-')) setHeader(headers, name, original[name]!);
  }
  const { message, stack } = errorParts(input.error);
  headers[EF.dlReason] = input.reason;
  headers[EF.dlError] = truncateUtf8(message, DEAD_LETTER_DEFAULTS.maxErrorBytes);
  if (stack) headers[EF.dlStack] = truncateUtf8(stack, DEAD_LETTER_DEFAULTS.maxStackBytes);
  headers[EF.dlAttempts] = String(input.attempts);
  headers[EF.dlOrigin] = input.origin;
  headers[EF.dlConsumer] = input.consumer;
  headers[EF.dlFirstFailure] = input.firstFailure;
  headers[EF.dlLastFailure] = input.lastFailure;
  const correlationId = input.correlationId ?? original[CE.correlationid];
  if (correlationId) headers[EF.dlCorrelationId] = correlationId;
  return headers;
}

/**
 * Parse a dead-lettered message (logical headers, as a transport delivers them) back into a
 * record. Throws {@link NotADeadLetterError} when the `ef-dl-*` record is missing or malformed.
 */
export function readDeadLetter(message: { body: Buffer; headers: Headers }): DeadLetterRecord {
  const h = message.headers;
  const reason = h[EF.dlReason];
  if (reason === undefined) throw new NotADeadLetterError(`Message has no "${EF.dlReason}" header`);
  if (!(DEAD_LETTER_REASONS as readonly string[]).includes(reason)) {
    throw new NotADeadLetterError(`Unknown dead-letter reason "${reason}"`);
  }
  const need = (name: string): string => {
    const value = h[name];
    if (value === undefined) throw new NotADeadLetterError(`Dead letter lacks the "${name}" header`);
    return value;
  };
  const attempts = Number(need(EF.dlAttempts));
  if (!Number.isInteger(attempts) || attempts < 1)
    throw new NotADeadLetterError(`Invalid "${EF.dlAttempts}": ${h[EF.dlAttempts]}`);
  const headers: Headers = {};
  for (const name of Object.keys(h)) if (!name.startsWith('ef-dl-')) setHeader(headers, name, h[name]!);
  return {
    reason: reason as DeadLetterReason,
    error: h[EF.dlError] ?? '',
    stack: h[EF.dlStack] ?? null,
    attempts,
    origin: need(EF.dlOrigin),
    consumer: need(EF.dlConsumer),
    firstFailure: need(EF.dlFirstFailure),
    lastFailure: need(EF.dlLastFailure),
    correlationId: h[EF.dlCorrelationId] ?? null,
    eventId: h[CE.id] ?? null,
    eventType: h[CE.type] ?? null,
    body: message.body,
    headers,
  };
}
