/**
 * RabbitMQ bench: publish + consume throughput of the eventform runtime against raw amqplib, in
 * the same process, same broker, alternating rounds (see support.ts), printed as ratios; then
 * publish→handled latency at a fixed rate.
 *
 *   npx tsx bench/rabbitmq.ts [--messages 20000] [--rounds 5] [--prefetch 50] [--in-flight 100]
 *                             [--latency-rate 500] [--latency-messages 2000] [--no-latency]
 *
 * Sides: eventform in binary and in structured mode; raw amqplib sending the bare payload, and raw
 * amqplib sending eventform's own wire format in each mode (built per message as the runtime
 * builds it, with the same AMQP properties). eventform / raw with the same format is the
 * framework's own cost (goal ≥ 0.95).
 *
 * Same on both sides: message count, publishes in flight, prefetch (= handler concurrency on the
 * eventform side), persistent messages, publisher confirms awaited per message, manual acks,
 * one quorum queue bound to a topic exchange, one connection.
 *
 * What the eventform side does on top, by design (that cost is what the ratio measures): payload
 * validation on publish and on receipt, the CloudEvents envelope (built, encoded, decoded, checked),
 * correlation scope per handler call, the idempotency check + mark (in-memory store) before the
 * ack, and the declared retry/dead-letter queues.
 */
import amqp from 'amqplib';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { createJsonLogger } from '../runtime/core/src/logger.js';
import type { ContentMode } from '../runtime/core/src/ir.js';
import { RabbitMQTransport } from '../runtime/rabbitmq/src/transport.js';
import { defaultRabbitmqUrl } from '../runtime/rabbitmq/src/defaults.js';
import { rabbitmqResources } from '../runtime/rabbitmq/src/resources.js';
import { benchTopology } from './order-topology.js';
import { eventformSide } from './eventform-side.js';
import { rawAmqplibSide } from './raw-amqplib.js';
import {
  DEFAULT_WARMUP,
  eventformSideName,
  latencyArg,
  loadAverage,
  numberArg,
  rawSideName,
  runBench,
  type BenchRunOptions,
  type ComparisonResult,
  type LatencySide,
  type Pair,
  type RawWire,
  type Side,
} from './support.js';

export interface RabbitBenchOptions extends BenchRunOptions {
  /** @default `EVENTFORM_RABBITMQ_URL` or amqp://guest:guest@127.0.0.1:5672 */
  url?: string;
  /** Raw prefetch = eventform consumer concurrency (and prefetch). @default 50 */
  prefetch?: number;
}

export const RABBITMQ_BENCH_DEFAULTS = {
  messages: 20_000,
  rounds: 5,
  prefetch: 50,
  inFlight: 100,
  latency: { rate: 500, messages: 2_000, rounds: 2 },
  /** The goals: the issue's, and the earlier ≥ 0.8 of bare raw amqplib for binary mode. */
  goals: { sameWireFormat: 0.95, binaryVsBare: 0.8, latencyP99: 1.2 },
} as const;

export const RABBITMQ_BENCH_TITLE = 'RabbitMQ publish + consume (persistent, confirms, quorum queue)';

/** Upper bound on one round: generous (a loaded 2-core box), but a lost message fails the bench. */
function roundTimeoutMs(messages: number): number {
  return 60_000 + messages * 5;
}

/** The eventform side: a runtime on the RabbitMQ transport, publishing with `runtime.publish`. */
export async function eventformRabbitSide(options: {
  url: string;
  prefetch: number;
  inFlight: number;
  contentMode?: ContentMode;
}): Promise<Side & LatencySide & { close(): Promise<void> }> {
  const topology = benchTopology({
    prefix: 'bench-ef',
    concurrency: options.prefetch,
    ...(options.contentMode === undefined ? {} : { contentMode: options.contentMode }),
  });
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

/** The ratios the RabbitMQ bench reports, with their goals. */
export function rabbitmqPairs(): Pair[] {
  const goals = RABBITMQ_BENCH_DEFAULTS.goals;
  const ef = eventformSideName;
  const raw = (wire: 'bare' | 'binary' | 'structured') => rawSideName('amqplib', wire);
  return [
    { candidate: ef('binary'), baseline: raw('binary'), goal: goals.sameWireFormat, note: "the framework's own cost" },
    {
      candidate: ef('structured'),
      baseline: raw('structured'),
      goal: goals.sameWireFormat,
      note: "the framework's own cost",
    },
    { candidate: ef('binary'), baseline: raw('bare'), goal: goals.binaryVsBare, note: 'the earlier goal' },
    { candidate: ef('structured'), baseline: raw('bare') },
  ];
}

/** Runs raw amqplib and the eventform runtime side by side and returns the comparison. */
export async function run(options: RabbitBenchOptions = {}): Promise<ComparisonResult> {
  const url = options.url ?? defaultRabbitmqUrl();
  const messages = options.messages ?? RABBITMQ_BENCH_DEFAULTS.messages;
  const rounds = options.rounds ?? RABBITMQ_BENCH_DEFAULTS.rounds;
  const prefetch = options.prefetch ?? RABBITMQ_BENCH_DEFAULTS.prefetch;
  const inFlight = options.inFlight ?? RABBITMQ_BENCH_DEFAULTS.inFlight;
  const latency = options.latency ?? RABBITMQ_BENCH_DEFAULTS.latency;
  const log = options.log ?? ((line: string) => console.log(line));

  log(`\n${RABBITMQ_BENCH_TITLE}`);
  log(`  ${loadAverage()} at the start`);
  log(
    `  ${messages} messages x ${rounds} rounds per side (after a warm-up of ${options.warmup ?? Math.min(DEFAULT_WARMUP, messages)}), rotating order`,
  );
  log(
    `  same on every side: ${inFlight} publishes in flight, prefetch ${prefetch} (eventform concurrency ${prefetch}),`,
  );
  log('    persistent, a confirm awaited per publish, manual ack, quorum queue on a topic exchange, one connection');
  log("  raw sides: the bare payload, or eventform's wire format in binary / structured mode");
  log('  eventform also: validation on publish and receipt, the envelope, idempotency (in-memory) before ack');

  return runBench({
    title: RABBITMQ_BENCH_TITLE,
    log,
    messages,
    rounds,
    warmup: options.warmup,
    pairs: rabbitmqPairs(),
    latency,
    latencyGoal: RABBITMQ_BENCH_DEFAULTS.goals.latencyP99,
    async open(keep) {
      const raw = async (wire: RawWire) => keep(await rawAmqplibSide({ url, prefetch, inFlight, wire }));
      const ef = async (contentMode: ContentMode) =>
        keep(await eventformRabbitSide({ url, prefetch, inFlight, contentMode }));
      const rawBare = await raw('bare');
      const rawBinary = await raw('binary');
      const rawStructured = await raw('structured');
      const efBinary = await ef('binary');
      const efStructured = await ef('structured');
      return {
        sides: [rawBare, rawBinary, rawStructured, efBinary, efStructured],
        sameWire: [
          [rawBinary, efBinary],
          [rawStructured, efStructured],
        ],
      };
    },
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  await run({
    messages: numberArg('messages'),
    rounds: numberArg('rounds'),
    prefetch: numberArg('prefetch'),
    inFlight: numberArg('in-flight'),
    latency: latencyArg(RABBITMQ_BENCH_DEFAULTS.latency),
  });
}
