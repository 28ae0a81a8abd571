/**
 * The broker-independent part of `eventform dlq`: reading a stored dead letter into a record,
 * filters, the replay copy's headers, counts, safe printing, the rate limit and the progress bar.
 * Pure functions (the clock and the sleep are passed in), so each rule has a unit test
 * (test/dlq/dlq-records.test.ts); the brokers only move messages (DeadLetterStore).
 *
 * Everything read from a DLQ is untrusted: printed with control and bidirectional characters
 * escaped, bodies and header values cut at a bound, JSON pretty-printed only when shallow.
 */
import { createHash } from 'node:crypto';
import type { DeadLetterReason, DeadLetterRecord, Headers, StoredDeadLetter } from '@eventform/runtime';
import { CE, DEAD_LETTER_REASONS, EF, jsonDepth, readDeadLetter } from '@eventform/runtime';
import { parseDuration } from '../spec/duration.js';

/** Bounds of what `dlq` prints. */
export const DLQ_DEFAULTS = {
  /** Body bytes `dlq show` prints; `--max-body` changes it. */
  maxBodyBytes: 65_536,
  /** Characters of one header value printed. */
  maxHeaderChars: 2_048,
  /** Nesting up to which a JSON body is pretty-printed (deeper: printed as it is, escaped). */
  maxPrettyDepth: 64,
  /** Longest id taken from a message's `id` header; a longer one is not an id, the hash is used. */
  maxIdChars: 200,
  /** Replayed messages per second unless `--rate` says otherwise (0: no limit). */
  ratePerSecond: 100,
  /** Messages from which a run shows a progress bar (on a terminal only). */
  progressFrom: 50,
  /** Records `dlq show` prints at most for one id. */
  maxShown: 20,
} as const;

/** A message read from a DLQ: its record when it is one, else why not. */
export interface DlqEntry {
  stored: StoredDeadLetter;
  /** The parsed record; null when the message lacks a valid `ef-dl-*` record. */
  record: DeadLetterRecord | null;
  /** Why it is not a record (null when it is). */
  problem: string | null;
  /** The event id, or `sha256:<16 hex>` of body and headers when the message has no usable id. */
  id: string;
}

export function readEntry(stored: StoredDeadLetter): DlqEntry {
  let record: DeadLetterRecord | null = null;
  let problem: string | null = null;
  try {
    record = readDeadLetter(stored);
  } catch (error) {
    problem = error instanceof Error ? error.message : String(error);
  }
  return { stored, record, problem, id: entryId(stored) };
}

/** The event id when it is a plausible one (printable, bounded); else a digest of the message. */
export function entryId(stored: Pick<StoredDeadLetter, 'body' | 'headers'>): string {
  const id = stored.headers[CE.id];
  if (id !== undefined && id.length > 0 && id.length <= DLQ_DEFAULTS.maxIdChars && !UNSAFE_CHAR.test(id)) return id;
  const hash = createHash('sha256');
  for (const name of Object.keys(stored.headers).sort()) hash.update(`${name}\0${stored.headers[name]}\0`);
  hash.update(stored.body);
  return `sha256:${hash.digest('hex').slice(0, 16)}`;
}

/** What a command selects. Empty lists select everything. */
export interface DlqFilter {
  reasons: DeadLetterReason[];
  types: string[];
  ids: string[];
  /** Dead-lettered (last failure) at or after. */
  since: Date | null;
  /** Dead-lettered (last failure) at or before. */
  until: Date | null;
}

export const NO_FILTER: DlqFilter = { reasons: [], types: [], ids: [], since: null, until: null };

/** Whether the filter selects by anything but the consumer. */
export function filtersRecords(filter: DlqFilter): boolean {
  return (
    filter.reasons.length > 0 ||
    filter.types.length > 0 ||
    filter.ids.length > 0 ||
    filter.since !== null ||
    filter.until !== null
  );
}

/**
 * Whether the filter selects the entry. A message that is not a dead-letter record is selected
 * only by its id, or by a filter that selects by nothing.
 */
export function matches(entry: DlqEntry, filter: DlqFilter): boolean {
  if (filter.ids.length > 0 && !filter.ids.includes(entry.id)) return false;
  const record = entry.record;
  if (record === null) {
    return filter.reasons.length === 0 && filter.types.length === 0 && filter.since === null && filter.until === null;
  }
  if (filter.reasons.length > 0 && !filter.reasons.includes(record.reason)) return false;
  if (filter.types.length > 0 && (record.eventType === null || !filter.types.includes(record.eventType))) return false;
  if (filter.since !== null || filter.until !== null) {
    const at = Date.parse(record.lastFailure);
    if (Number.isNaN(at)) return false;
    if (filter.since !== null && at < filter.since.getTime()) return false;
    if (filter.until !== null && at > filter.until.getTime()) return false;
  }
  return true;
}

/** A reason given on the command line, or an error naming the valid ones. */
export function parseReason(text: string): DeadLetterReason {
  if ((DEAD_LETTER_REASONS as readonly string[]).includes(text)) return text as DeadLetterReason;
  throw new Error(`unknown reason "${text}"; one of: ${DEAD_LETTER_REASONS.join(', ')}`);
}

/** `--since`/`--until`: an ISO 8601 time, or a duration before `now` (`30m`, `2h`, `7d`). */
export function parseTime(text: string, now: Date): Date {
  const ago = parseDuration(text);
  if (ago !== undefined) return new Date(now.getTime() - ago);
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const at = Date.parse(text);
    if (!Number.isNaN(at)) return new Date(at);
  }
  throw new Error(`"${text}" is neither an ISO 8601 time (2026-12-05T10:00:00Z) nor a duration ago (30m, 2h, 7d)`);
}

// Attempt bookkeeping that a replay starts again, and the retry path's own headers.
const RESET_ON_REPLAY = new Set<string>([EF.attempt, EF.firstFailure, EF.retryFor, EF.dueAt]);

/**
 * The headers of the copy a replay sends: the original message's (its correlation id, event id,
 * type, key among them; the `ef-dl-*` record left out), the attempt count and first failure
 * reset, where it was first published kept, and the replay marked with its time.
 */
export function replayHeaders(record: DeadLetterRecord, now: Date): Headers {
  const headers: Headers = {};
  for (const name in record.headers) if (!RESET_ON_REPLAY.has(name)) headers[name] = record.headers[name]!;
  headers[EF.origin] = record.origin;
  if (record.correlationId !== null && headers[CE.correlationid] === undefined && isBinary(record)) {
    // A binary-mode event that lost the attribute keeps its correlation through the record.
    headers[CE.correlationid] = record.correlationId;
  }
  headers[EF.replayed] = now.toISOString();
  return headers;
}

function isBinary(record: DeadLetterRecord): boolean {
  return !/^\s*application\/cloudevents/i.test(record.headers['content-type'] ?? '');
}

/** One row of `dlq list`: a consumer and a reason. */
export interface DlqCountRow {
  consumer: string;
  /** The reason, or `(not a dead letter)` for a message without a valid record. */
  reason: string;
  count: number;
  /** Of these, how many had been replayed before and were dead-lettered again. */
  replayed: number;
  /** Earliest and latest last-failure time; null for messages without a record. */
  oldest: string | null;
  newest: string | null;
}

export const NOT_A_RECORD = '(not a dead letter)';

/** Counts per consumer and reason, sorted by consumer, then reason. */
export function countRows(entries: Iterable<DlqEntry>): DlqCountRow[] {
  const rows = new Map<string, DlqCountRow>();
  for (const entry of entries) {
    const reason = entry.record?.reason ?? NOT_A_RECORD;
    const key = `${entry.stored.consumer}\0${reason}`;
    let row = rows.get(key);
    if (!row) {
      row = { consumer: entry.stored.consumer, reason, count: 0, replayed: 0, oldest: null, newest: null };
      rows.set(key, row);
    }
    row.count++;
    if (entry.stored.headers[EF.replayed] !== undefined) row.replayed++;
    const at = entry.record?.lastFailure;
    if (at !== undefined) {
      if (row.oldest === null || at < row.oldest) row.oldest = at;
      if (row.newest === null || at > row.newest) row.newest = at;
    }
  }
  return [...rows.values()].sort((a, b) => compare(a.consumer, b.consumer) || compare(a.reason, b.reason));
}

// ---- printing untrusted text ----------------------------------------------------------------

/**
 * C0 controls, DEL, C1 controls (U+009B is a one-character CSI), bidirectional overrides and
 * isolates (which reorder what a terminal shows), line and paragraph separators.
 */
/* eslint-disable no-control-regex -- matching control characters is the point */
const UNSAFE_CHAR = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const UNSAFE_CHARS = new RegExp(UNSAFE_CHAR.source, 'g');
/** {@link UNSAFE_CHARS} but for the line feed. */
const UNSAFE_BUT_LINES =
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
/* eslint-enable no-control-regex */

function escapeChar(c: string): string {
  const code = c.charCodeAt(0);
  if (c === '\n') return '\\n';
  if (c === '\r') return '\\r';
  if (c === '\t') return '\\t';
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** Text safe for one line of a terminal: every control or reordering character escaped. */
export function safeLine(text: string, maxChars = Infinity): string {
  const cut = text.length > maxChars ? `${text.slice(0, maxChars)}… (${text.length - maxChars} more characters)` : text;
  return cut.replace(UNSAFE_CHARS, escapeChar);
}

/** Like {@link safeLine}, but line breaks stay (a stack trace, pretty JSON); `\r` is escaped. */
export function safeBlock(text: string): string {
  return text.replace(UNSAFE_BUT_LINES, escapeChar);
}

/** A body for a terminal: pretty JSON when it is shallow JSON, else its text; cut at `maxBytes`. */
export function formatBody(body: Buffer, maxBytes: number): { text: string; note: string | null } {
  const shown = body.length > maxBytes ? body.subarray(0, maxBytes) : body;
  const cut = body.length > maxBytes ? `${body.length - maxBytes} more bytes not shown (--max-body)` : null;
  let text: string;
  let valid = true;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(shown);
  } catch {
    valid = cut !== null; // a cut may split a character; the rest decides
    text = shown.toString('utf8');
  }
  if (cut === null && valid && jsonDepth(shown) <= DLQ_DEFAULTS.maxPrettyDepth) {
    try {
      return { text: safeBlock(JSON.stringify(JSON.parse(text), null, 2)), note: null };
    } catch {
      // not JSON: shown as text
    }
  }
  const notes = [valid ? null : 'not valid UTF-8 (shown with replacement characters)', cut].filter(
    (n): n is string => n !== null,
  );
  return { text: safeBlock(text), note: notes.length > 0 ? notes.join('; ') : null };
}

/** The body for JSON output: text when it is valid UTF-8, else base64; cut at `maxBytes`. */
export function bodyJson(
  body: Buffer,
  maxBytes: number,
): { encoding: 'utf8' | 'base64'; data: string; bytes: number; truncated: boolean } {
  const shown = body.length > maxBytes ? body.subarray(0, maxBytes) : body;
  try {
    const data = new TextDecoder('utf-8', { fatal: true }).decode(shown);
    return { encoding: 'utf8', data, bytes: body.length, truncated: shown.length < body.length };
  } catch {
    return {
      encoding: 'base64',
      data: shown.toString('base64'),
      bytes: body.length,
      truncated: shown.length < body.length,
    };
  }
}

/** One record in full, for a terminal. */
export function formatEntry(entry: DlqEntry, options: { maxBodyBytes: number; location: string }): string {
  const r = entry.record;
  const s = entry.stored;
  const field = (name: string, value: string | number | null | undefined): string =>
    `${`${name}:`.padEnd(16)}${value === null || value === undefined ? '-' : safeLine(String(value), DLQ_DEFAULTS.maxHeaderChars)}\n`;
  let out = field('id', entry.id);
  out += field('consumer', s.consumer);
  out += field('where', `${options.location} ${s.position}`);
  if (r === null) {
    out += field('problem', `not a dead-letter record: ${entry.problem ?? 'unknown'}`);
  } else {
    out += field('reason', r.reason);
    out += field('error', r.error);
    out += field('attempts', r.attempts);
    out += field('event type', r.eventType);
    out += field('event id', r.eventId);
    out += field('correlation id', r.correlationId);
    out += field('origin', r.origin);
    out += field('first failure', r.firstFailure);
    out += field('last failure', r.lastFailure);
    out += field('replayed', s.headers[EF.replayed] ?? null);
  }
  if (s.key !== undefined) out += field('key', s.key);
  if (s.undecodable !== undefined) out += field('undecodable', s.undecodable);
  if (s.notReplayable !== undefined) out += field('not replayable', s.notReplayable);
  out += 'headers:\n';
  const headers = r?.headers ?? s.headers;
  const names = Object.keys(headers).sort();
  if (names.length === 0) out += '  (none)\n';
  for (const name of names) {
    out += `  ${safeLine(name, 200)}: ${safeLine(headers[name]!, DLQ_DEFAULTS.maxHeaderChars)}\n`;
  }
  const body = formatBody(s.body, options.maxBodyBytes);
  out += `body (${s.body.length} bytes${body.note ? `; ${body.note}` : ''}):\n`;
  out += `${indent(body.text)}\n`;
  if (r?.stack) out += `stack:\n${indent(safeBlock(r.stack))}\n`;
  return out;
}

/** One record in full, as JSON (strings as they are: JSON escapes them). */
export function entryJson(entry: DlqEntry, options: { maxBodyBytes: number; location: string }): object {
  const r = entry.record;
  const s = entry.stored;
  return {
    id: entry.id,
    consumer: s.consumer,
    location: options.location,
    position: s.position,
    isRecord: r !== null,
    problem: entry.problem,
    reason: r?.reason ?? null,
    error: r?.error ?? null,
    stack: r?.stack ?? null,
    attempts: r?.attempts ?? null,
    eventType: r?.eventType ?? null,
    eventId: r?.eventId ?? null,
    correlationId: r?.correlationId ?? null,
    origin: r?.origin ?? null,
    firstFailure: r?.firstFailure ?? null,
    lastFailure: r?.lastFailure ?? null,
    replayed: s.headers[EF.replayed] ?? null,
    key: s.key ?? null,
    undecodable: s.undecodable ?? null,
    notReplayable: s.notReplayable ?? null,
    headers: r?.headers ?? s.headers,
    body: bodyJson(s.body, options.maxBodyBytes),
  };
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}

/** Rows as an aligned table with a header line. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    `${cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')}`.trimEnd() + '\n';
  return line(header) + rows.map(line).join('');
}

// ---- pacing and progress ----------------------------------------------------------------------

/**
 * At most `perSecond` calls of {@link RateLimiter.take} per second, evenly spaced: call n may start
 * no earlier than n / perSecond seconds after the first. 0 means no limit.
 */
export class RateLimiter {
  private started: number | null = null;
  private taken = 0;

  constructor(
    private readonly perSecond: number,
    private readonly now: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {
    if (!(perSecond >= 0) || !Number.isFinite(perSecond)) throw new RangeError(`rate must be ≥ 0, got ${perSecond}`);
  }

  async take(): Promise<void> {
    if (this.perSecond === 0) return;
    const now = this.now();
    this.started ??= now;
    const due = this.started + (this.taken * 1000) / this.perSecond;
    this.taken++;
    if (due > now) await this.sleep(due - now);
  }
}

/** `replay [#######-------]  120/500  24%  38/s` — the bar for a terminal line. */
export function renderProgress(label: string, done: number, total: number, elapsedMs: number, width = 24): string {
  const ratio = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.round(ratio * width);
  const rate = elapsedMs > 0 ? Math.round((done * 1000) / elapsedMs) : 0;
  return `${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total} ${Math.round(ratio * 100)}% ${rate}/s`;
}

/**
 * A progress bar on stderr, redrawn in place; drawn only on a terminal and only for runs of at
 * least {@link DLQ_DEFAULTS.progressFrom} messages, at most ten times a second.
 */
export class ProgressBar {
  private done = 0;
  private total = 0;
  private lastDraw = 0;
  private drawn = false;
  private readonly started: number;

  constructor(
    private readonly label: string,
    private readonly stream: { isTTY?: boolean | undefined; write(text: string): unknown },
    private readonly now: () => number = Date.now,
  ) {
    this.started = now();
  }

  get enabled(): boolean {
    return this.stream.isTTY === true && this.total >= DLQ_DEFAULTS.progressFrom;
  }

  addTotal(n: number): void {
    this.total += n;
  }

  tick(): void {
    this.done++;
    const t = this.now();
    if (!this.enabled || (t - this.lastDraw < 100 && this.done < this.total)) return;
    this.lastDraw = t;
    this.drawn = true;
    this.stream.write(`\r${renderProgress(this.label, this.done, this.total, t - this.started)}\x1b[K`);
  }

  finish(): void {
    if (this.drawn) this.stream.write('\n');
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
