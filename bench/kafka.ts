/**
 * Kafka bench: publish + consume throughput of the eventform runtime against raw kafkajs, in the
 * same process, same broker, alternating rounds (see support.ts), printed as ratios; then
 * publish→handled latency at a fixed rate.
 *
 *   npx tsx bench/kafka.ts [--messages 8000] [--rounds 3] [--partitions 3] [--in-flight 100]
 *                          [--latency-rate 500] [--latency-messages 2000] [--no-latency] [--no-reference]
 *
 * Broker: `KAFKA_BROKERS`, else `bash scripts/kafka/kafka.sh start` (idempotent; reuses a running one).
 *
 * Sides: eventform in binary and in structured mode; raw kafkajs sending the bare payload, and raw
 * kafkajs sending eventform's own wire format in each mode (built per message as the runtime builds
 * it). eventform / raw with the same format is the framework's own cost (goal ≥ 0.95); structured
 * eventform / bare raw kafkajs is the throughput decision (goal ≥ 0.85).
 *
 * Same on both sides: message count, publishes in flight (each `publish` awaited until acked),
 * partitions of the topic and partitions consumed at once (= eventform consumer concurrency),
 * an idempotent producer with acks from all in-sync replicas, keyed messages, offsets committed
 * only after the handler finished, one consumer group, topics created up front; the raw sides batch
 * concurrent publishes into one produce request and commit per fetched batch, as the transport does.
 * On top, eventform validates on publish and receipt, builds and reads the envelope, checks and
 * records idempotency (in-memory store) before committing, and provisions retry and dead-letter
 * topics.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import { createJsonLogger } from '../runtime/core/src/logger.js';
import type { ContentMode, TopologyIR } from '../runtime/core/src/ir.js';
import { KAFKA_DEFAULTS, KafkaTransport, kafkajsFastPaths } from '@eventform/kafka';
import { benchTopology } from './order-topology.js';
import { eventformSide } from './eventform-side.js';
import { recordDecodeCost } from './kafka-decode.js';
import { rawKafkajsSide } from './raw-kafkajs.js';
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

export interface KafkaBenchOptions extends BenchRunOptions {
  /** @default `KAFKA_BROKERS`, else the broker `scripts/kafka/kafka.sh start` runs */
  brokers?: string;
  /** Topic partitions = partitions consumed at once = eventform consumer concurrency. @default 3 */
  partitions?: number;
  /** Also run raw kafkajs the textbook way (a send and a commit per message), as a reference row. @default true */
  reference?: boolean;
}

export const KAFKA_BENCH_DEFAULTS = {
  // Sized so the whole Kafka bench (setup included) stays around two minutes on a 2-core machine.
  messages: 8_000,
  rounds: 3,
  partitions: 3,
  inFlight: 100,
  latency: { rate: 500, messages: 2_000, rounds: 2 },
  /** The issue's goals. */
  goals: { sameWireFormat: 0.95, structuredVsBare: 0.85, latencyP99: 1.2 },
} as const;

export const KAFKA_BENCH_TITLE = 'Kafka publish + consume (idempotent producer, acks=all, commit after handling)';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** `KAFKA_BROKERS`, else start (or reuse) the local broker with scripts/kafka/kafka.sh. */
export async function kafkaBrokers(): Promise<string> {
  const fromEnv = process.env.KAFKA_BROKERS?.trim();
  if (fromEnv) return fromEnv;
  const out = await new Promise<string>((resolve, reject) => {
    execFile(
      'bash',
      [path.join(REPO, 'scripts/kafka/kafka.sh'), 'start'],
      { cwd: REPO, timeout: 600_000, maxBuffer: 4 << 20 },
      (error, stdout, stderr) => {
        if (error)
          reject(
            new Error(`scripts/kafka/kafka.sh start failed: ${String(stderr).trim().split('\n').slice(-5).join('\n')}`),
          );
        else resolve(String(stdout));
      },
    );
  });
  return /KAFKA_BROKERS=(\S+)/.exec(out)?.[1] ?? KAFKA_DEFAULTS.brokers;
}

function roundTimeoutMs(messages: number): number {
  return 60_000 + messages * 20;
}

/** The eventform side: a runtime on the Kafka transport, publishing with `runtime.publish`. */
export async function eventformKafkaSide(options: {
  brokers: string;
  partitions: number;
  inFlight: number;
  contentMode?: ContentMode;
}): Promise<Side & LatencySide & { close(): Promise<void> }> {
  const topology = benchTopology({
    prefix: 'bench-ef',
    concurrency: options.partitions,
    partitions: options.partitions,
    ...(options.contentMode === undefined ? {} : { contentMode: options.contentMode }),
  });
  const logger = createJsonLogger({ level: 'warn', fields: { bench: 'kafka' } });
  const transport = new KafkaTransport({ brokers: options.brokers, logger, kafkaLogLevel: 'error' });
  return eventformSide({
    topology,
    transport,
    logger,
    inFlight: options.inFlight,
    roundTimeoutMs,
    cleanup: () => deleteKafkaResources(options.brokers, topology),
  });
}

/** Delete the topics and consumer groups of a bench topology (best effort). */
async function deleteKafkaResources(brokers: string, topology: TopologyIR): Promise<void> {
  const topics = topology.events.map((e) => e.kafka.topic);
  const groups: string[] = [];
  for (const c of topology.consumers) {
    groups.push(c.kafka.groupId, `${c.kafka.groupId}.retry`);
    if (c.kafka.retryTopic) topics.push(c.kafka.retryTopic);
    if (c.kafka.deadLetterTopic) topics.push(c.kafka.deadLetterTopic);
  }
  const admin = new kafkajs.Kafka({
    brokers: brokers.split(','),
    clientId: 'eventform-bench-cleanup',
    logLevel: kafkajs.logLevel.NOTHING,
  }).admin();
  await admin.connect();
  try {
    await admin.deleteGroups(groups).catch(() => undefined);
    await admin.deleteTopics({ topics }).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
}

/** The ratios the Kafka bench reports, with the issue's goals. */
export function kafkaPairs(reference: boolean): Pair[] {
  const goals = KAFKA_BENCH_DEFAULTS.goals;
  const ef = eventformSideName;
  const raw = (wire: 'bare' | 'binary' | 'structured') => rawSideName('kafkajs', wire);
  const pairs: Pair[] = [
    { candidate: ef('binary'), baseline: raw('binary'), goal: goals.sameWireFormat, note: "the framework's own cost" },
    {
      candidate: ef('structured'),
      baseline: raw('structured'),
      goal: goals.sameWireFormat,
      note: "the framework's own cost",
    },
    {
      candidate: ef('structured'),
      baseline: raw('bare'),
      goal: goals.structuredVsBare,
      note: 'the throughput decision',
    },
    { candidate: ef('binary'), baseline: raw('bare'), note: 'binary mode: the headers cost the rest' },
  ];
  if (reference) pairs.push({ candidate: ef('binary'), baseline: rawSideName('kafkajs per message', 'bare') });
  return pairs;
}

/** Runs raw kafkajs and the eventform runtime side by side and returns the comparison. */
export async function run(options: KafkaBenchOptions = {}): Promise<ComparisonResult> {
  const messages = options.messages ?? KAFKA_BENCH_DEFAULTS.messages;
  const rounds = options.rounds ?? KAFKA_BENCH_DEFAULTS.rounds;
  const partitions = options.partitions ?? KAFKA_BENCH_DEFAULTS.partitions;
  const inFlight = options.inFlight ?? KAFKA_BENCH_DEFAULTS.inFlight;
  const reference = options.reference ?? true;
  const latency = options.latency ?? KAFKA_BENCH_DEFAULTS.latency;
  const log = options.log ?? ((line: string) => console.log(line));
  const brokers = options.brokers ?? (await kafkaBrokers());

  log(`\n${KAFKA_BENCH_TITLE}`);
  log(`  ${loadAverage()} at the start`);
  log(
    `  broker ${brokers}; ${messages} messages x ${rounds} rounds per side (after a warm-up of ${options.warmup ?? Math.min(DEFAULT_WARMUP, messages)}), rotating order`,
  );
  log(`  same on every side: ${inFlight} publishes in flight, ${partitions} partitions consumed at once`);
  log(`    (eventform concurrency ${partitions}), idempotent producer, acks=all, keyed, commit after handling;`);
  log('    the raw sides batch concurrent sends into one produce request and commit once per fetched batch');
  log("  raw sides: the bare payload, or eventform's wire format in binary / structured mode");
  log('  eventform also: validation on publish and receipt, the envelope, idempotency (in-memory) before commit');

  return runBench({
    title: KAFKA_BENCH_TITLE,
    log,
    messages,
    rounds,
    warmup: options.warmup,
    pairs: kafkaPairs(reference),
    latency,
    latencyGoal: KAFKA_BENCH_DEFAULTS.goals.latencyP99,
    async open(keep) {
      const brokerList = brokers.split(',');
      // The eventform sides first: the first KafkaTransport installs the record encoder and decoder
      // into kafkajs, which must happen before anything in the process produces or fetches.
      const ef = async (contentMode: ContentMode) =>
        keep(await eventformKafkaSide({ brokers, partitions, inFlight, contentMode }));
      const efBinary = await ef('binary');
      const efStructured = await ef('structured');
      const fastPaths = kafkajsFastPaths();
      log(
        `  kafkajs ${fastPaths.version}: record encoder ${fastPaths.recordEncoder} (eventform's records only), record decoder ${fastPaths.recordDecoder}`,
      );
      log(
        '    (the decoder is process-wide: the raw sides read records with it too — the same records, decoded faster)',
      );
      const decode = recordDecodeCost();
      log(
        `  record decode, kafkajs vs eventform's decoder (median of 5 x 20,000 here): ${decode.map((d) => `${d.label} (${d.headers} headers) ${d.kafkajsUs.toFixed(1)} → ${d.eventformUs.toFixed(1)} µs`).join('; ')}`,
      );
      const raw = async (wire: RawWire, mode: 'batched' | 'per-message' = 'batched') =>
        keep(await rawKafkajsSide({ brokers: brokerList, inFlight, partitions, mode, wire }));
      const rawBare = await raw('bare');
      const rawBinary = await raw('binary');
      const rawStructured = await raw('structured');
      const sides: Side[] = [rawBare, rawBinary, rawStructured, efBinary, efStructured];
      if (reference) sides.push(await raw('bare', 'per-message'));
      return {
        sides,
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
    partitions: numberArg('partitions'),
    inFlight: numberArg('in-flight'),
    reference: !process.argv.includes('--no-reference'),
    latency: latencyArg(KAFKA_BENCH_DEFAULTS.latency),
  });
}
