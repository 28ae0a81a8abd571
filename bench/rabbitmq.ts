/**
 * RabbitMQ bench: publish + consume throughput of the eventform runtime against raw amqplib, in
 * the same process, same broker, alternating rounds (see support.ts), printed as a ratio.
 *
 *   npx tsx bench/rabbitmq.ts [--messages 20000] [--rounds 5] [--prefetch 50] [--in-flight 100] [--no-reference]
 *
 * Same on both sides: message count, publishes in flight, prefetch (= handler concurrency on the
 * eventform side), persistent messages, publisher confirms awaited per message, manual acks,
 * one quorum queue bound to a topic exchange, one connection.
 *
 * What the eventform side does on top, by design (that cost is what the ratio measures): payload
 * validation on publish and on receipt, the CloudEvents envelope as headers (built, encoded,
 * decoded, checked), correlation scope per handler call, the idempotency check + mark (in-memory
 * store) before the ack, and the declared retry/dead-letter queues.
 */
import amqp from 'amqplib';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { createJsonLogger } from '../runtime/core/src/logger.js';
import { RabbitMQTransport } from '../runtime/rabbitmq/src/transport.js';
import { rabbitmqResources } from '../runtime/rabbitmq/src/resources.js';
import { benchTopology } from './order-topology.js';
import { eventformSide } from './eventform-side.js';
import { rawAmqplibSide } from './raw-amqplib.js';
import {
  compare,
  DEFAULT_WARMUP,
  formatComparison,
  numberArg,
  loadAverage,
  type ComparisonResult,
  type Side,
} from './support.js';

export interface RabbitBenchOptions {
  /** @default `EVENTFORM_RABBITMQ_URL` or amqp://guest:guest@127.0.0.1:5672 */
  url?: string;
  /** Messages per measured round. @default 20_000 */
  messages?: number;
  /** Measured rounds per side (five: the broker's disk makes single rounds noisy). @default 5 */
  rounds?: number;
  /** Warm-up messages per side before the first round. @default min(5000, messages) */
  warmup?: number;
  /** Raw prefetch = eventform consumer concurrency (and prefetch). @default 50 */
  prefetch?: number;
  /** Publishes awaiting their confirm at once, both sides. @default 100 */
  inFlight?: number;
  /**
   * Also run raw amqplib with eventform-like headers, as a reference row that separates the cost of
   * the wire format from the cost of the runtime. @default true
   */
  reference?: boolean;
  /** Where progress and the result go. @default console.log */
  log?: (line: string) => void;
}

export const RABBITMQ_BENCH_DEFAULTS = {
  messages: 20_000,
  rounds: 5,
  prefetch: 50,
  inFlight: 100,
  /** The goal: eventform ≥ 0.8 × raw amqplib. */
  goal: 0.8,
} as const;

export const RABBITMQ_BENCH_TITLE = 'RabbitMQ publish + consume (persistent, confirms, quorum queue)';

function defaultUrl(): string {
  return process.env.EVENTFORM_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
}

/** Upper bound on one round: generous (a loaded 2-core box), but a lost message fails the bench. */
function roundTimeoutMs(messages: number): number {
  return 60_000 + messages * 5;
}

/** The eventform side: a runtime on the RabbitMQ transport, publishing with `runtime.publish`. */
export async function eventformRabbitSide(options: {
  url: string;
  prefetch: number;
  inFlight: number;
}): Promise<Side & { close(): Promise<void> }> {
  const topology = benchTopology({ prefix: 'bench-ef', concurrency: options.prefetch });
  const logger = createJsonLogger({ level: 'warn', fields: { bench: 'rabbitmq' } });
  // prefetch defaults to the consumer's concurrency; set here too so the equality is explicit.
  const transport = new RabbitMQTransport({ url: options.url, prefetch: options.prefetch, logger });
  return eventformSide({
    topology,
    transport,
    logger,
    inFlight: options.inFlight,
    roundTimeoutMs,
    cleanup: () => deleteResources(options.url, topology),
  });
}

/** Delete the queues and exchanges a bench topology declared. */
async function deleteResources(url: string, topology: Parameters<typeof rabbitmqResources>[0]): Promise<void> {
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

/** Runs raw amqplib and the eventform runtime side by side and returns the comparison. */
export async function run(options: RabbitBenchOptions = {}): Promise<ComparisonResult> {
  const url = options.url ?? defaultUrl();
  const messages = options.messages ?? RABBITMQ_BENCH_DEFAULTS.messages;
  const rounds = options.rounds ?? RABBITMQ_BENCH_DEFAULTS.rounds;
  const prefetch = options.prefetch ?? RABBITMQ_BENCH_DEFAULTS.prefetch;
  const inFlight = options.inFlight ?? RABBITMQ_BENCH_DEFAULTS.inFlight;
  const reference = options.reference ?? true;
  const log = options.log ?? ((line: string) => console.log(line));

  log(`\n${RABBITMQ_BENCH_TITLE}`);
  log(`  ${loadAverage()} at the start`);
  log(
    `  ${messages} messages x ${rounds} rounds per side (after a warm-up of ${options.warmup ?? Math.min(DEFAULT_WARMUP, messages)}), alternating order`,
  );
  log(
    `  same on both sides: ${inFlight} publishes in flight, prefetch ${prefetch} (eventform concurrency ${prefetch}),`,
  );
  log('    persistent, a confirm awaited per publish, manual ack, quorum queue on a topic exchange, one connection');
  log('  eventform also: validation on publish and receipt, CloudEvents headers, idempotency (in-memory) before ack');

  if (reference) log('  reference row (not the goal): raw amqplib sending the same CloudEvents headers as eventform');

  const closers: (() => Promise<void>)[] = [];
  try {
    const baseline = await rawAmqplibSide({ url, prefetch, inFlight });
    closers.push(() => baseline.close());
    const candidate = await eventformRabbitSide({ url, prefetch, inFlight });
    closers.push(() => candidate.close());
    const others = [];
    if (reference) {
      const withHeaders = await rawAmqplibSide({ url, prefetch, inFlight, envelopeHeaders: true });
      closers.push(() => withHeaders.close());
      others.push(withHeaders);
    }
    const result = await compare(RABBITMQ_BENCH_TITLE, baseline, candidate, {
      messages,
      rounds,
      warmup: options.warmup,
      others,
    });
    log(formatComparison(result, RABBITMQ_BENCH_DEFAULTS.goal));
    log(`  ${loadAverage()} at the end`);
    return result;
  } finally {
    for (const close of closers.reverse()) await close().catch((e: unknown) => log(`  cleanup failed: ${String(e)}`));
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  await run({
    messages: numberArg('messages'),
    rounds: numberArg('rounds'),
    prefetch: numberArg('prefetch'),
    inFlight: numberArg('in-flight'),
    reference: !process.argv.includes('--no-reference'),
  });
}
