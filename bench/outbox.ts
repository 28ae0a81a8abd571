/**
 * Outbox bench: the transactional outbox against a direct publish after the commit, in the same
 * process, same broker, same database, alternating rounds (see support.ts).
 *
 *   npx tsx bench/outbox.ts [--messages 5000] [--rounds 3] [--in-flight 32]
 *                           [--latency-rate 1000] [--latency-messages 5000] [--no-latency]
 *                           [--consumer process|in-process]
 *
 * Both sides do what a service placing an order does: one PostgreSQL transaction that inserts the
 * order row, and the OrderPlaced event.
 * - `direct publish`: BEGIN, INSERT, COMMIT, then `runtime.publish` (the dual write the outbox
 *   removes: a failed publish after the commit loses the event).
 * - `outbox`: `withOutbox(store, ...)`: BEGIN, INSERT, the event as an outbox row, COMMIT; the
 *   in-process relay (woken by the commit) claims, publishes with confirms and marks the rows.
 * A second runtime consumes OrderPlaced (in-memory idempotency store), the same for both sides: by
 * default in this process, on the thread that also runs both sides' transactions and the relay;
 * `--consumer process` runs it in a child process (outbox-consumer.ts), as the consumer is another
 * service in a deployment. Throughput: from the first transaction to the last event
 * handled. Latency: from the moment the commit returned to the handler, at a fixed rate (the
 * issue's: 1,000 events/s), on the monotonic clock both processes share.
 *
 * The outbox side is checked: its rows must be in the outbox table, all marked published, or the
 * bench fails instead of reporting a number.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import amqp from 'amqplib';
import pg from 'pg';
import { createJsonLogger, createRuntime, type Runtime, type TopologyIR } from '@eventform/runtime';
import { createPostgresStore, withOutbox, type PostgresIdempotencyStore } from '@eventform/postgres';
import { RabbitMQTransport } from '@eventform/rabbitmq';
import { rabbitmqResources } from '@eventform/rabbitmq/resources';
import { BENCH_CONSUMER, BENCH_EVENT, BENCH_PRODUCER, benchTopology } from './order-topology.js';
import { monotonicMs, startConsumerProcess, type BenchConsumer } from './outbox-consumer.js';
import {
  atFixedRate,
  compare,
  formatComparison,
  loadAverage,
  measureLatency,
  numberArg,
  pooled,
  quantile,
  samplePayload,
  within,
  type ComparisonResult,
  type LatencySide,
  type Measurement,
  type Side,
  type SummaryRow,
} from './support.js';

export interface OutboxBenchOptions {
  /** @default `EVENTFORM_RABBITMQ_URL` or amqp://guest:guest@127.0.0.1:5672 */
  url?: string | undefined;
  /** @default `EVENTFORM_POSTGRES_URL`, `DATABASE_URL` or postgres://postgres@127.0.0.1:5432/test */
  databaseUrl?: string | undefined;
  /** Events per measured round. @default 5_000 */
  messages?: number | undefined;
  /** Measured rounds per side. @default 3 */
  rounds?: number | undefined;
  /** Warm-up events per side before the first round. @default 1_000 */
  warmup?: number | undefined;
  /** Transactions in flight at once, both sides (the pool has this many clients and a few more; the relay has its own connection). @default 32 */
  inFlight?: number | undefined;
  /** Commit→handled latency at a fixed rate; `false` skips it. @default { rate: 1_000, messages: 5_000, rounds: 2 } */
  latency?: { rate: number; messages: number; rounds: number } | false | undefined;
  /**
   * Where the consumer runs, for both sides: a child process (as another service would be) or this
   * process (on the thread of the transactions and the relay). @default 'in-process'
   */
  consumer?: 'process' | 'in-process' | undefined;
  /** @default console.log */
  log?: ((line: string) => void) | undefined;
}

export const OUTBOX_BENCH_DEFAULTS = {
  messages: 5_000,
  rounds: 3,
  warmup: 1_000,
  inFlight: 32,
  latency: { rate: 1_000, messages: 5_000, rounds: 2 },
  consumer: 'in-process',
  /** The goals: outbox / direct throughput, and the outbox's commit→handled p99 at 1,000/s. */
  goals: { throughput: 0.7, latencyP99Ms: 50 },
} as const;

export const OUTBOX_BENCH_TITLE = 'Transactional outbox vs direct publish (PostgreSQL + RabbitMQ, order row + event)';
export const DIRECT_SIDE = 'direct publish';
export const OUTBOX_SIDE = 'outbox';

/** The outbox's commit→handled p99 against the absolute goal, beside the comparison's result. */
export interface OutboxBenchResult extends ComparisonResult {
  latencyGoal?: { p50: number; p99: number; goalMs: number; met: boolean };
}

function roundTimeoutMs(messages: number): number {
  return 60_000 + messages * 10;
}

/**
 * One round's times per event, on the monotonic clock: `committed(id)` when its transaction's commit
 * returned, `handled(id, at)` when the consumer ran (in whichever process); either may arrive first
 * (a direct publish is handled only after it, but nothing else promises that).
 */
class RoundClock {
  private readonly startedAt = new Map<string, number>();
  private readonly committedAt = new Map<string, number>();
  private readonly handledTimes = new Map<string, number>();
  private readonly latencies: number[] = [];
  /** From the start of each event's transaction (a wait for a pool client included) to the handler. */
  readonly fromStart: number[] = [];
  private resolve!: () => void;
  readonly done: Promise<void>;
  constructor(readonly expected: number) {
    this.done = new Promise((r) => (this.resolve = r));
    if (expected === 0) this.resolve();
  }
  get handled(): number {
    return this.latencies.length;
  }
  started(id: string): void {
    this.startedAt.set(id, monotonicMs());
  }
  committed(id: string): void {
    this.committedAt.set(id, monotonicMs());
    this.pair(id);
  }
  handledAt(id: string, at: number): void {
    this.handledTimes.set(id, at);
    this.pair(id);
  }
  private pair(id: string): void {
    const c = this.committedAt.get(id);
    const h = this.handledTimes.get(id);
    if (c === undefined || h === undefined) return;
    this.committedAt.delete(id);
    this.handledTimes.delete(id);
    this.latencies.push(Math.max(0, h - c));
    this.fromStart.push(h - (this.startedAt.get(id) ?? c));
    this.startedAt.delete(id);
    if (this.latencies.length === this.expected) this.resolve();
  }
  values(): number[] {
    return this.latencies;
  }
}

async function deleteRabbitResources(url: string, topology: TopologyIR): Promise<void> {
  const resources = rabbitmqResources(topology);
  const connection = await amqp.connect(url);
  try {
    const channel = await connection.createChannel();
    for (const q of resources.queues) await channel.deleteQueue(q.name).catch(() => undefined);
    for (const x of resources.exchanges) await channel.deleteExchange(x.name).catch(() => undefined);
    await channel.close().catch(() => undefined);
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/** Runs both sides side by side and returns the comparison, with the outbox's latency against its goal. */
export async function run(options: OutboxBenchOptions = {}): Promise<OutboxBenchResult> {
  const url = options.url ?? process.env.EVENTFORM_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
  const databaseUrl =
    options.databaseUrl ??
    process.env.EVENTFORM_POSTGRES_URL ??
    process.env.DATABASE_URL ??
    'postgres://postgres@127.0.0.1:5432/test';
  const messages = options.messages ?? OUTBOX_BENCH_DEFAULTS.messages;
  const rounds = options.rounds ?? OUTBOX_BENCH_DEFAULTS.rounds;
  const warmup = options.warmup ?? Math.min(OUTBOX_BENCH_DEFAULTS.warmup, messages);
  const inFlight = options.inFlight ?? OUTBOX_BENCH_DEFAULTS.inFlight;
  const latency = options.latency ?? OUTBOX_BENCH_DEFAULTS.latency;
  const consumerPlace = options.consumer ?? OUTBOX_BENCH_DEFAULTS.consumer;
  const log = options.log ?? ((line: string) => console.log(line));

  log(`\n${OUTBOX_BENCH_TITLE}`);
  log(`  ${loadAverage()} at the start`);
  log(`  ${messages} events x ${rounds} rounds per side (after a warm-up of ${warmup}), rotating order`);
  log(`  both sides: ${inFlight} transactions in flight, each BEGIN, INSERT order row, COMMIT + the event;`);
  log(`    ${DIRECT_SIDE}: runtime.publish after the COMMIT; ${OUTBOX_SIDE}: an outbox row in the transaction,`);
  log('    published by the in-process relay (woken by the commit) with confirms, then marked');
  log(
    `  consumer: a second runtime in ${consumerPlace === 'process' ? 'a child process (CPU/msg is this process only)' : 'this process'}, the same for both sides,`,
  );
  log('    quorum queue, in-memory idempotency; RabbitMQ and PostgreSQL shared');

  const suffix = randomBytes(4).toString('hex');
  const tables = {
    orders: `bench_orders_${suffix}`,
    outbox: `bench_outbox_${suffix}`,
    processed: `bench_pe_${suffix}`,
  };
  const topology = benchTopology({ prefix: 'bench-outbox', concurrency: 50 });
  const logger = createJsonLogger({ level: 'warn', fields: { bench: 'outbox' } });
  // The sides' transactions, and the relay's stats query; the relay's claims and marks run on its own connection.
  const pool = new pg.Pool({ connectionString: databaseUrl, max: inFlight + 4 });
  pool.on('error', (error) => logger.warn('bench: idle PostgreSQL client failed', { error }));
  const closers: (() => Promise<void>)[] = [() => pool.end()];
  let store: PostgresIdempotencyStore | undefined;
  let clock = new RoundClock(0);
  try {
    await pool.query(
      `CREATE TABLE ${tables.orders} (id bigserial PRIMARY KEY, order_id text NOT NULL, amount numeric NOT NULL)`,
    );
    closers.push(async () => {
      await pool.query(`DROP TABLE IF EXISTS ${tables.orders}, ${tables.outbox}, ${tables.processed}`);
    });
    closers.push(() => deleteRabbitResources(url, topology));

    store = createPostgresStore({ pool, table: tables.processed, outbox: { table: tables.outbox }, logger });
    const producer: Runtime = createRuntime({
      topology,
      transport: new RabbitMQTransport({ url, logger }),
      idempotencyStore: store,
      logger,
    });
    closers.push(() => producer.stop());
    const handled = (orderId: string, at: number) => clock.handledAt(orderId, at);
    const consumer: BenchConsumer =
      consumerPlace === 'process'
        ? await startConsumerProcess({ url, topology, prefetch: 50, handled })
        : await startConsumerHere(url, topology, logger, handled);
    closers.push(() => consumer.stop());
    await producer.start({ services: [BENCH_PRODUCER] });
    if (!producer.health().outbox) throw new Error('the producer runtime runs no outbox relay');

    let round = 0;
    const payload = (r: number, i: number) => ({ ...samplePayload(i), orderId: `r${r}-${i}` });
    const insert = `INSERT INTO ${tables.orders} (order_id, amount) VALUES ($1, $2)`;
    const direct = async (r: number, i: number) => {
      const order = payload(r, i);
      clock.started(order.orderId);
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query(insert, [order.orderId, order.total.amount]);
        await client.query('COMMIT');
      } finally {
        client.release();
      }
      clock.committed(order.orderId);
      await producer.publish(BENCH_PRODUCER, BENCH_EVENT, order);
    };
    const outboxed = async (r: number, i: number) => {
      const order = payload(r, i);
      clock.started(order.orderId);
      await withOutbox(store!, async (tx) => {
        await tx.query(insert, [order.orderId, order.total.amount]);
        await producer.publish(BENCH_PRODUCER, BENCH_EVENT, order);
      });
      clock.committed(order.orderId);
    };

    /** Per side, start→handled of the measured fixed-rate rounds (the first round is measureLatency's warm-up). */
    const fromStart = new Map<string, { rounds: number; values: number[] }>();
    const side = (name: string, one: (r: number, i: number) => Promise<void>): Side & LatencySide => {
      const finish = async (c: RoundClock) => {
        await within(c.done, roundTimeoutMs(c.expected), () => `${name}: ${c.handled}/${c.expected} handled`);
        const h = (await consumer.health())[0];
        if (h && (h.retried || h.deadLettered || h.dropped)) {
          throw new Error(`${name} had failures during the bench: ${JSON.stringify(h)}`);
        }
      };
      return {
        name,
        async run(n: number): Promise<Measurement> {
          const r = ++round;
          clock = new RoundClock(n);
          const started = performance.now();
          await pooled(n, inFlight, (i) => one(r, i));
          await finish(clock);
          return { messages: n, ms: performance.now() - started };
        },
        async atRate(n: number, rate: number): Promise<number[]> {
          const r = ++round;
          clock = new RoundClock(n);
          await atFixedRate(n, rate, (i) => one(r, i));
          await finish(clock);
          const f = fromStart.get(name) ?? { rounds: 0, values: [] };
          if (f.rounds++ > 0) f.values.push(...clock.fromStart);
          fromStart.set(name, f);
          return clock.values();
        },
      };
    };
    const directSide = side(DIRECT_SIDE, direct);
    const outboxSide = side(OUTBOX_SIDE, outboxed);

    const result: OutboxBenchResult = await compare(OUTBOX_BENCH_TITLE, [directSide, outboxSide], {
      messages,
      rounds,
      warmup,
      pairs: [
        {
          candidate: OUTBOX_SIDE,
          baseline: DIRECT_SIDE,
          goal: OUTBOX_BENCH_DEFAULTS.goals.throughput,
          note: 'no dual write, at this cost',
        },
      ],
    });
    if (latency) {
      result.latency = await measureLatency([directSide, outboxSide], {
        count: latency.messages,
        ratePerSecond: latency.rate,
        rounds: latency.rounds,
        pairs: [{ candidate: OUTBOX_SIDE, baseline: DIRECT_SIDE }],
      });
      const row = result.latency.rows.find((r) => r.name === OUTBOX_SIDE)!;
      const goalMs = OUTBOX_BENCH_DEFAULTS.goals.latencyP99Ms;
      result.latencyGoal = { p50: row.p50, p99: row.p99, goalMs, met: row.p99 <= goalMs };
    }

    // The outbox side really went through the outbox: one row per event, every one published.
    await producer.stop();
    const { rows } = await pool.query<{ total: string; published: string }>(
      `SELECT count(*) AS total, count(published_at) AS published FROM ${tables.outbox}`,
    );
    const outboxEvents =
      warmup + messages * rounds + (latency ? Math.min(500, latency.messages) + latency.messages * latency.rounds : 0);
    if (Number(rows[0]!.total) !== outboxEvents || Number(rows[0]!.published) !== outboxEvents) {
      throw new Error(
        `the outbox table holds ${rows[0]!.total} rows (${rows[0]!.published} published); expected ${outboxEvents}`,
      );
    }

    log(formatComparison(result).replace('publish→handled latency', 'commit→handled latency'));
    if (result.latencyGoal) {
      const g = result.latencyGoal;
      log(
        `  outbox commit→handled at ${latency ? latency.rate : 0}/s: p50 ${g.p50.toFixed(1)} ms, p99 ${g.p99.toFixed(1)} ms (goal p99 ≤ ${g.goalMs} ms: ${g.met ? 'met' : 'NOT met'})`,
      );
    }
    for (const [name, f] of fromStart) {
      if (f.values.length === 0) continue;
      log(
        `  ${name}: start of the transaction→handled p50 ${quantile(f.values, 0.5).toFixed(1)} ms, p99 ${quantile(f.values, 0.99).toFixed(1)} ms` +
          ' (with the wait for a pool client: where a backlog of the direct side shows)',
      );
    }
    log(`  ${outboxEvents} outbox rows checked: all published; ${loadAverage()} at the end`);
    return result;
  } finally {
    for (const close of closers.reverse()) await close().catch((e: unknown) => log(`  cleanup failed: ${String(e)}`));
  }
}

/** The consumer in this process, on the thread of the transactions and the relay. */
async function startConsumerHere(
  url: string,
  topology: TopologyIR,
  logger: ReturnType<typeof createJsonLogger>,
  handled: (orderId: string, at: number) => void,
): Promise<BenchConsumer> {
  const runtime: Runtime = createRuntime({
    topology,
    transport: new RabbitMQTransport({ url, prefetch: 50, logger }),
    logger,
  });
  runtime.handle(BENCH_CONSUMER, async (event) => handled((event.data as { orderId: string }).orderId, monotonicMs()));
  await runtime.start();
  return { where: 'this process', health: async () => runtime.health().consumers, stop: () => runtime.stop() };
}

/** The summary lines: the throughput ratio, and the outbox's p99 against its absolute goal. */
export function outboxSummaryRows(r: OutboxBenchResult): SummaryRow[] {
  const medianOf = (name: string) => Math.round(r.rows.find((row) => row.name === name)!.median);
  const out: SummaryRow[] = r.pairs.map((pair) => ({
    name: `outbox: throughput ${pair.candidate} / ${pair.baseline}`,
    baseline: `${medianOf(pair.baseline)} msg/s`,
    eventform: `${medianOf(pair.candidate)} msg/s`,
    ratio: pair.ratio.toFixed(2),
    goal: pair.goal === undefined ? '—' : `≥ ${pair.goal}`,
    met: pair.met,
  }));
  if (r.latency && r.latencyGoal) {
    const p = (name: string) => r.latency!.rows.find((row) => row.name === name)!;
    out.push({
      name: `outbox: commit→handled p50 / p99 at ${r.latency.ratePerSecond}/s`,
      baseline: `${p(DIRECT_SIDE).p50.toFixed(1)} / ${p(DIRECT_SIDE).p99.toFixed(1)} ms`,
      eventform: `${p(OUTBOX_SIDE).p50.toFixed(1)} / ${p(OUTBOX_SIDE).p99.toFixed(1)} ms`,
      ratio: (p(OUTBOX_SIDE).p99 / p(DIRECT_SIDE).p99).toFixed(2),
      goal: `p99 ≤ ${r.latencyGoal.goalMs} ms`,
      met: r.latencyGoal.met,
    });
  }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  await run({
    messages: numberArg('messages'),
    rounds: numberArg('rounds'),
    inFlight: numberArg('in-flight'),
    consumer: consumerArg(),
    latency: process.argv.includes('--no-latency')
      ? false
      : {
          rate: numberArg('latency-rate') ?? OUTBOX_BENCH_DEFAULTS.latency.rate,
          messages: numberArg('latency-messages') ?? OUTBOX_BENCH_DEFAULTS.latency.messages,
          rounds: numberArg('latency-rounds') ?? OUTBOX_BENCH_DEFAULTS.latency.rounds,
        },
  });
}

function consumerArg(): 'process' | 'in-process' | undefined {
  const i = process.argv.indexOf('--consumer');
  if (i < 0) return undefined;
  const value = process.argv[i + 1];
  if (value === 'process' || value === 'in-process') return value;
  throw new Error(`--consumer takes process or in-process, got ${value}`);
}
