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
  /** `[baseline, candidate, ...others]`. */
  rows: ComparisonRow[];
  /** candidate median / baseline median. */
  ratio: number;
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

/**
 * Runs `baseline` and `candidate` (and `others`, for reference) in turn, `rounds` times each after
 * one warm-up of each, and returns the median throughputs and the candidate/baseline ratio.
 */
export async function compare(
  title: string,
  baseline: Side,
  candidate: Side,
  options: { messages: number; rounds: number; warmup?: number | undefined; others?: Side[] },
): Promise<ComparisonResult> {
  const sides = [baseline, candidate, ...(options.others ?? [])];
  // Long enough for the JIT: after 1,000 messages the eventform side's first round still ran at
  // ~1.5x its steady CPU per message; after 5,000 it does not.
  const warm = options.warmup ?? Math.min(DEFAULT_WARMUP, options.messages);
  for (const side of sides) await side.run(warm);
  const rates = sides.map((): number[] => []);
  const cpus = sides.map((): number[] => []);
  for (let i = 0; i < options.rounds; i++) {
    // Rotate the order so no side always runs first (or right after the same one).
    for (let k = 0; k < sides.length; k++) {
      const j = (i % 2 === 0 ? k : sides.length - 1 - k) % sides.length;
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
  return { title, rows, ratio: rows[1]!.median / rows[0]!.median };
}

export function formatComparison(r: ComparisonResult, goal?: number): string {
  const lines = [`\n${r.title}`];
  const width = Math.max(...r.rows.map((row) => row.name.length));
  for (const row of r.rows) {
    const rounds = row.rounds.map((t) => Math.round(t).toString()).join(', ');
    const cpu = `${row.cpuUsPerMessage.toFixed(0)} µs CPU/msg`;
    lines.push(
      `  ${row.name.padEnd(width)}  median ${Math.round(row.median).toString().padStart(7)} msg/s  ${cpu.padStart(16)}   rounds: ${rounds}`,
    );
  }
  const verdict = goal === undefined ? '' : r.ratio >= goal ? `  (goal ≥ ${goal}: met)` : `  (goal ≥ ${goal}: NOT met)`;
  lines.push(`  ratio ${r.rows[1]!.name} / ${r.rows[0]!.name}: ${r.ratio.toFixed(2)}${verdict}`);
  for (const other of r.rows.slice(2)) {
    lines.push(`  for reference, ${r.rows[1]!.name} / ${other.name}: ${(r.rows[1]!.median / other.median).toFixed(2)}`);
  }
  return lines.join('\n');
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

export function summaryOfComparison(name: string, r: ComparisonResult, goal: number): SummaryRow {
  const [base, cand] = r.rows;
  return {
    name,
    baseline: `${Math.round(base!.median)} msg/s`,
    eventform: `${Math.round(cand!.median)} msg/s`,
    ratio: r.ratio.toFixed(2),
    goal: `≥ ${goal}`,
    met: r.ratio >= goal,
  };
}

export function formatSummary(rows: SummaryRow[]): string {
  const header = ['bench', 'baseline median', 'eventform median', 'ratio', 'goal', 'met?'];
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

/**
 * Headers like the ones an eventform message carries — the CloudEvents attributes in binary mode
 * with the binding's prefix (`cloudEvents_` for AMQP, `ce_` for Kafka), built per message the same
 * way (two UUIDs, the time) — for the raw reference rows that separate the cost of the wire format
 * from the cost of the runtime. Not used by the baselines the goals are measured against.
 */
export function envelopeLikeHeaders(prefix: 'cloudEvents_' | 'ce_', key: string): Record<string, string> {
  const headers: Record<string, string> = {
    [`${prefix}id`]: randomUUID(),
    [`${prefix}source`]: 'order-service',
    [`${prefix}type`]: 'OrderPlaced',
    [`${prefix}specversion`]: '1.0',
    [`${prefix}time`]: new Date().toISOString(),
    [`${prefix}datacontenttype`]: 'application/json',
    [`${prefix}correlationid`]: randomUUID(),
    [`${prefix}eventversion`]: '1',
  };
  // AMQP has no key field; the eventform binding carries it as a header too.
  if (prefix === 'cloudEvents_') headers['ef-key'] = key;
  return headers;
}

/** `load average 1.02 0.98 0.87 (2 cpus)`: printed with every result, since a busy machine moves the numbers. */
export function loadAverage(): string {
  return `load average ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} (${os.cpus().length} cpus)`;
}
