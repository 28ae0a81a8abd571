import { randomUUID } from 'node:crypto';
import os from 'node:os';

/**
 * Shared bench plumbing: every broker bench runs the raw client and the eventform runtime in the same
 * process, same settings, alternating rounds, and prints the ratio. Absolute numbers on a shared 2-core
 * machine are noisy; the ratio of two runs taken side by side is what the benches are for.
 */

export interface Measurement {
  /** Messages published and consumed end to end. */
  messages: number;
  /** Wall time from the first publish to the last acknowledgement, in milliseconds. */
  ms: number;
}

export interface Side {
  name: string;
  run(messages: number): Promise<Measurement>;
}

export interface ComparisonRow {
  name: string;
  /** Throughput of each measured round, messages per second. */
  rounds: number[];
  median: number;
  /**
   * CPU time of this process per message (user + system, microseconds), median over the rounds.
   * Both sides run in this process one at a time, so it is each client's own cost; the broker's
   * CPU is not in it.
   */
  cpuUsPerMessage: number;
}

export interface ComparisonResult {
  title: string;
  /** One row per side, in the order given. */
  rows: ComparisonRow[];
  /** Throughput ratios of the pairs asked for, candidate / baseline. */
  pairs: PairResult[];
  /** Publish→handled latency at a fixed rate, when measured. */
  latency?: LatencyResult;
}

/** A ratio the bench reports: `candidate / baseline`, with a goal when the issue set one. */
export interface Pair {
  candidate: string;
  baseline: string;
  /** Throughput: the ratio must be at least this. Latency: at most this. */
  goal?: number;
  /** Why this pair matters, printed next to it. */
  note?: string;
}

export interface PairResult extends Pair {
  ratio: number;
  /** `null` without a goal. */
  met: boolean | null;
}

/** Warm-up messages per side before the measured rounds, unless a bench says otherwise. */
export const DEFAULT_WARMUP = 5_000;

export function throughput(m: Measurement): number {
  return (m.messages / m.ms) * 1000;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The `q` quantile (0..1) of `values`, nearest rank. */
export function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/**
 * Runs every side in turn, `rounds` times each after one warm-up of each (the order rotated every
 * round, so no side always runs first), and returns each side's median throughput and CPU per
 * message, and the ratio of each of `pairs`.
 */
export async function compare(
  title: string,
  sides: Side[],
  options: { messages: number; rounds: number; warmup?: number | undefined; pairs: Pair[] },
): Promise<ComparisonResult> {
  // Long enough for the JIT: after 1,000 messages the eventform side's first round still ran at
  // ~1.5x its steady CPU per message; after 5,000 it does not.
  const warm = options.warmup ?? Math.min(DEFAULT_WARMUP, options.messages);
  for (const side of sides) await side.run(warm);
  const rates = sides.map((): number[] => []);
  const cpus = sides.map((): number[] => []);
  for (let i = 0; i < options.rounds; i++) {
    for (let k = 0; k < sides.length; k++) {
      const j = (i % 2 === 0 ? k + i : sides.length - 1 - k + i) % sides.length;
      const cpu = process.cpuUsage();
      const m = await sides[j]!.run(options.messages);
      const used = process.cpuUsage(cpu);
      rates[j]!.push(throughput(m));
      cpus[j]!.push((used.user + used.system) / m.messages);
    }
  }
  const rows = sides.map((side, j) => ({
    name: side.name,
    rounds: rates[j]!,
    median: median(rates[j]!),
    cpuUsPerMessage: median(cpus[j]!),
  }));
  const medianOf = (name: string): number => {
    const row = rows.find((r) => r.name === name);
    if (!row) throw new Error(`no side named "${name}" in ${title}`);
    return row.median;
  };
  const pairs = options.pairs.map((pair) => {
    const ratio = medianOf(pair.candidate) / medianOf(pair.baseline);
    return { ...pair, ratio, met: pair.goal === undefined ? null : ratio >= pair.goal };
  });
  return { title, rows, pairs };
}

/** Publish→handled latency at a fixed rate: `rate` per second, `messages` per round, `rounds` rounds. */
export interface LatencyOptions {
  rate: number;
  messages: number;
  rounds: number;
}

/** What every broker bench takes (each adds its broker's own settings). */
export interface BenchRunOptions {
  /** Messages per measured round. */
  messages?: number | undefined;
  /** Measured rounds per side. */
  rounds?: number | undefined;
  /** Warm-up messages per side before the first round. @default min(5000, messages) */
  warmup?: number | undefined;
  /** Publishes awaiting their confirm or ack at once, every side. */
  inFlight?: number | undefined;
  /** Latency at a fixed rate; `false` skips it. */
  latency?: LatencyOptions | false | undefined;
  /** Where progress and the result go. @default console.log */
  log?: ((line: string) => void) | undefined;
}

/** A side the bench opened; closed when the bench ends. */
export type OpenSide = Side & LatencySide & { close(): Promise<void> };

/**
 * The part every broker bench shares: open the sides (`open` hands each one to `keep`, so it is
 * closed at the end whatever fails), compare their throughput, measure the latency of each
 * eventform side against the raw side with the same wire format, print the result.
 */
export async function runBench(options: {
  title: string;
  log: (line: string) => void;
  messages: number;
  rounds: number;
  warmup: number | undefined;
  pairs: Pair[];
  latency: LatencyOptions | false;
  /** The p99 latency goal of each eventform side against its raw side, as a ratio. */
  latencyGoal: number;
  open(keep: <S extends OpenSide>(side: S) => S): Promise<{ sides: Side[]; sameWire: [raw: OpenSide, ef: OpenSide][] }>;
}): Promise<ComparisonResult> {
  const { log } = options;
  const closers: (() => Promise<void>)[] = [];
  try {
    const { sides, sameWire } = await options.open((side) => {
      closers.push(() => side.close());
      return side;
    });
    const { messages, rounds, warmup, pairs } = options;
    const result = await compare(options.title, sides, { messages, rounds, warmup, pairs });
    if (options.latency) {
      result.latency = await measureLatency(sameWire.flat(), {
        count: options.latency.messages,
        ratePerSecond: options.latency.rate,
        rounds: options.latency.rounds,
        pairs: sameWire.map(([raw, ef]) => ({ candidate: ef.name, baseline: raw.name, goal: options.latencyGoal })),
      });
    }
    log(formatComparison(result));
    log(`  ${loadAverage()} at the end`);
    return result;
  } finally {
    for (const close of closers.reverse()) await close().catch((e: unknown) => log(`  cleanup failed: ${String(e)}`));
  }
}

/** The latency settings from the command line (`--no-latency`, `--latency-rate|messages|rounds`) over `defaults`. */
export function latencyArg(defaults: LatencyOptions, argv: string[] = process.argv): LatencyOptions | false {
  if (argv.includes('--no-latency')) return false;
  return {
    rate: numberArg('latency-rate', argv) ?? defaults.rate,
    messages: numberArg('latency-messages', argv) ?? defaults.messages,
    rounds: numberArg('latency-rounds', argv) ?? defaults.rounds,
  };
}

export function formatComparison(r: ComparisonResult): string {
  const lines = [`\n${r.title}`];
  const width = Math.max(...r.rows.map((row) => row.name.length));
  for (const row of r.rows) {
    const rounds = row.rounds.map((t) => Math.round(t).toString()).join(', ');
    const cpu = `${row.cpuUsPerMessage.toFixed(0)} µs CPU/msg`;
    lines.push(
      `  ${row.name.padEnd(width)}  median ${Math.round(row.median).toString().padStart(7)} msg/s  ${cpu.padStart(16)}   rounds: ${rounds}`,
    );
  }
  for (const pair of r.pairs) lines.push(`  ${formatPair(pair, 'throughput', '≥')}`);
  if (r.latency) lines.push(formatLatency(r.latency));
  return lines.join('\n');
}

function formatPair(pair: PairResult, what: string, sense: '≥' | '≤'): string {
  const verdict = pair.goal === undefined ? '' : `  (goal ${sense} ${pair.goal}: ${pair.met ? 'met' : 'NOT met'})`;
  const note = pair.note ? `  — ${pair.note}` : '';
  return `${what} ${pair.candidate} / ${pair.baseline}: ${pair.ratio.toFixed(2)}${verdict}${note}`;
}

// ---- latency at a fixed rate ----------------------------------------------------------------

/** A side that can publish at a fixed rate and report each message's publish→handled latency. */
export interface LatencySide {
  name: string;
  /**
   * Publish `count` messages at `ratePerSecond`, wait until all are handled, and return each one's
   * latency in ms: from just before the publish call to the handler (the raw sides: to the
   * message callback).
   */
  atRate(count: number, ratePerSecond: number): Promise<number[]>;
}

export interface LatencyRow {
  name: string;
  p50: number;
  p99: number;
  max: number;
  samples: number;
}

export interface LatencyResult {
  ratePerSecond: number;
  rows: LatencyRow[];
  /** p99 ratios, candidate / baseline; the goal is an upper bound. */
  pairs: PairResult[];
}

/**
 * Publish→handled latency of each side at `ratePerSecond`, `rounds` rounds of `count` messages in
 * alternating order after a short warm-up; percentiles over every round's samples.
 */
export async function measureLatency(
  sides: LatencySide[],
  options: { count: number; ratePerSecond: number; rounds: number; pairs: Pair[] },
): Promise<LatencyResult> {
  const samples = sides.map((): number[] => []);
  for (const side of sides) await side.atRate(Math.min(500, options.count), options.ratePerSecond);
  for (let i = 0; i < options.rounds; i++) {
    for (let k = 0; k < sides.length; k++) {
      const j = (i % 2 === 0 ? k : sides.length - 1 - k) % sides.length;
      samples[j]!.push(...(await sides[j]!.atRate(options.count, options.ratePerSecond)));
    }
  }
  const rows = sides.map((side, j) => ({
    name: side.name,
    p50: quantile(samples[j]!, 0.5),
    p99: quantile(samples[j]!, 0.99),
    max: Math.max(...samples[j]!),
    samples: samples[j]!.length,
  }));
  const p99Of = (name: string): number => rows.find((r) => r.name === name)!.p99;
  const pairs = options.pairs.map((pair) => {
    const ratio = p99Of(pair.candidate) / p99Of(pair.baseline);
    return { ...pair, ratio, met: pair.goal === undefined ? null : ratio <= pair.goal };
  });
  return { ratePerSecond: options.ratePerSecond, rows, pairs };
}

export function formatLatency(r: LatencyResult): string {
  const lines = [`  publish→handled latency at ${r.ratePerSecond} msg/s:`];
  const width = Math.max(...r.rows.map((row) => row.name.length));
  for (const row of r.rows) {
    lines.push(
      `    ${row.name.padEnd(width)}  p50 ${row.p50.toFixed(1).padStart(6)} ms  p99 ${row.p99.toFixed(1).padStart(6)} ms  max ${row.max.toFixed(1).padStart(6)} ms  (${row.samples} messages)`,
    );
  }
  for (const pair of r.pairs) lines.push(`  ${formatPair(pair, 'p99 latency', '≤')}`);
  return lines.join('\n');
}

/**
 * Runs `send(i)` for 0..count-1, the i-th no earlier than `i / ratePerSecond` seconds after the
 * start (late ones go at once), and waits for every send.
 */
export async function atFixedRate(
  count: number,
  ratePerSecond: number,
  send: (i: number) => Promise<unknown>,
): Promise<void> {
  const start = performance.now();
  const interval = 1000 / ratePerSecond;
  const sends: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const wait = start + i * interval - performance.now();
    if (wait >= 1) await new Promise((resolve) => setTimeout(resolve, wait));
    sends.push(send(i));
  }
  await Promise.all(sends);
}

/**
 * Publish→handled latencies of one round: `mark(i)` just before message i is published, `handled(orderId)`
 * when its handler runs; `done` resolves once all `count` were handled.
 */
export function latencyRecorder(count: number): {
  mark(i: number): void;
  handled(orderId: string): void;
  done: Promise<number[]>;
} {
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let resolve!: (values: number[]) => void;
  const done = new Promise<number[]>((r) => (resolve = r));
  if (count === 0) resolve([]);
  return {
    mark(i) {
      sentAt.set(samplePayload(i).orderId, performance.now());
    },
    handled(orderId) {
      const at = sentAt.get(orderId);
      if (at === undefined) return; // a message of an earlier round
      sentAt.delete(orderId);
      latencies.push(performance.now() - at);
      if (latencies.length === count) resolve(latencies);
    },
    done,
  };
}

/** A promise that resolves when `tick()` has been called `target` times; `count` says how many so far. */
export function counter(target: number): { tick(): void; readonly count: number; done: Promise<void> } {
  let n = 0;
  let resolve!: () => void;
  const done = new Promise<void>((r) => (resolve = r));
  if (target === 0) resolve();
  return {
    tick() {
      n++;
      if (n === target) resolve();
    },
    get count() {
      return n;
    },
    done,
  };
}

/**
 * `promise`, or a rejection after `ms` saying what was still missing (`describe()` is called then),
 * so a bench that loses messages fails loudly instead of hanging.
 */
export async function within<T>(promise: Promise<T>, ms: number, describe: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`bench timed out after ${ms} ms: ${describe()}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `fn` for 0..count-1 with at most `parallel` promises in flight. */
export async function pooled(count: number, parallel: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(parallel, count) }, async () => {
    while (next < count) {
      const i = next++;
      await fn(i);
    }
  });
  await Promise.all(workers);
}

export function samplePayload(i: number): {
  orderId: string;
  userId: string;
  total: { amount: number; currency: string };
} {
  return { orderId: `order_${i}`, userId: `user_${i % 97}`, total: { amount: (i % 500) + 0.5, currency: 'EUR' } };
}

/** `--name <number>` from the command line, or undefined. Throws on a value that is not a positive number. */
export function numberArg(name: string, argv: string[] = process.argv): number | undefined {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const value = Number(argv[i + 1]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} needs a positive number, got "${argv[i + 1]}"`);
  return value;
}

/** One line of the summary `bench/index.ts` prints at the end. */
export interface SummaryRow {
  name: string;
  baseline: string;
  eventform: string;
  ratio: string;
  goal: string;
  /** `null` when the bench has no goal or did not run to the end. */
  met: boolean | null;
}

/** The summary lines of one broker bench: every pair with a goal, throughput then latency. */
export function summaryRows(broker: string, r: ComparisonResult): SummaryRow[] {
  const out: SummaryRow[] = [];
  const medianOf = (name: string) => Math.round(r.rows.find((row) => row.name === name)!.median);
  for (const pair of r.pairs) {
    out.push({
      name: `${broker}: ${pair.candidate} / ${pair.baseline}`,
      baseline: `${medianOf(pair.baseline)} msg/s`,
      eventform: `${medianOf(pair.candidate)} msg/s`,
      ratio: pair.ratio.toFixed(2),
      goal: pair.goal === undefined ? '—' : `≥ ${pair.goal}`,
      met: pair.met,
    });
  }
  for (const pair of r.latency?.pairs ?? []) {
    const p99Of = (name: string) => r.latency!.rows.find((row) => row.name === name)!.p99.toFixed(1);
    out.push({
      name: `${broker}: p99 latency ${pair.candidate} / ${pair.baseline} at ${r.latency!.ratePerSecond}/s`,
      baseline: `${p99Of(pair.baseline)} ms`,
      eventform: `${p99Of(pair.candidate)} ms`,
      ratio: pair.ratio.toFixed(2),
      goal: pair.goal === undefined ? '—' : `≤ ${pair.goal}`,
      met: pair.met,
    });
  }
  return out;
}

export function formatSummary(rows: SummaryRow[]): string {
  const header = ['bench', 'baseline', 'eventform', 'ratio', 'goal', 'met?'];
  const cells = rows.map((r) => [
    r.name,
    r.baseline,
    r.eventform,
    r.ratio,
    r.goal,
    r.met === null ? '—' : r.met ? 'yes' : 'NO',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

// ---- the wire formats the raw sides send ----------------------------------------------------

/** How a raw side sends: the payload alone, or eventform's wire format in one of its modes. */
export type RawWire = 'bare' | 'binary' | 'structured';

/** Matches what the eventform side publishes (bench/order-topology.ts). */
const SOURCE = 'order-service';
const TYPE = 'OrderPlaced';

/**
 * The CloudEvents attributes eventform sends for message `i`, built per message the same way the
 * runtime builds them (two UUIDs, the time): what the raw sides with eventform's wire format send,
 * so their ratios show the cost of the framework, not of the format. test/bench/wire-formats.test.ts
 * checks they match what eventform puts on the wire.
 */
export function eventAttributes(i: number): Record<string, string> {
  return {
    id: randomUUID(),
    source: SOURCE,
    type: TYPE,
    specversion: '1.0',
    time: new Date().toISOString(),
    correlationid: randomUUID(),
    partitionkey: samplePayload(i).orderId,
  };
}

export const JSON_CONTENT_TYPE = 'application/json';
export const STRUCTURED_CONTENT_TYPE = 'application/cloudevents+json; charset=utf-8';

/** Binary mode: the attributes as headers with `prefix` (`ce_`, `cloudEvents_`), in eventform's order. */
export function binaryHeaders(prefix: string, attributes: Record<string, string>): Record<string, string> {
  const a = attributes;
  const headers: Record<string, string> = {
    [`${prefix}id`]: a.id!,
    [`${prefix}source`]: a.source!,
    [`${prefix}type`]: a.type!,
    [`${prefix}specversion`]: a.specversion!,
  };
  // Kafka carries the content type as a header here; AMQP as a property (the caller sets it).
  if (prefix === 'ce_') headers['content-type'] = JSON_CONTENT_TYPE;
  headers[`${prefix}time`] = a.time!;
  headers[`${prefix}correlationid`] = a.correlationid!;
  headers[`${prefix}partitionkey`] = a.partitionkey!;
  return headers;
}

/** Structured mode: the event in the JSON event format, as eventform writes it. */
export function structuredBody(attributes: Record<string, string>, data: unknown): string {
  const a = attributes;
  return JSON.stringify({
    specversion: a.specversion,
    id: a.id,
    source: a.source,
    type: a.type,
    datacontenttype: JSON_CONTENT_TYPE,
    time: a.time,
    correlationid: a.correlationid,
    partitionkey: a.partitionkey,
    data,
  });
}

/** The payload of a consumed message in either format, for the raw sides' handlers (they parse it, like eventform). */
export function payloadOf(body: string, wire: RawWire): { orderId: string } {
  const parsed = JSON.parse(body) as { orderId: string; data?: { orderId: string } };
  return wire === 'structured' ? parsed.data! : parsed;
}

/** `raw kafkajs, bare` / `raw kafkajs, binary` / ...: the names the summary and the README use. */
export function rawSideName(client: string, wire: RawWire): string {
  return `raw ${client}, ${wire}`;
}

export function eventformSideName(mode: 'binary' | 'structured'): string {
  return `eventform, ${mode}`;
}

/** `load average 1.02 0.98 0.87 (2 cpus)`: printed with every result, since a busy machine moves the numbers. */
export function loadAverage(): string {
  return `load average ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} (${os.cpus().length} cpus)`;
}
