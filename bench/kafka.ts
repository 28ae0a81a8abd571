/**
 * Kafka bench: publish + consume throughput of the eventform runtime against raw kafkajs, in the
 * same process, same broker, alternating rounds (see support.ts), printed as a ratio.
 *
 *   npx tsx bench/kafka.ts [--messages 8000] [--rounds 3] [--partitions 3] [--in-flight 100] [--no-reference]
 *
 * Broker: `KAFKA_BROKERS`, else `bash scripts/kafka/kafka.sh start` (idempotent; reuses a running one).
 *
 * Same on both sides: message count, publishes in flight (each `publish` awaited until acked),
 * partitions of the topic and partitions consumed at once (= eventform consumer concurrency),
 * an idempotent producer with acks from all in-sync replicas, keyed messages, offsets committed
 * only after the handler finished, one consumer group, topics created up front.
 *
 * By design, not the same: eventform micro-batches concurrent publishes into one produce request
 * and commits the finished prefix of each fetched batch; the raw client as most code uses it sends
 * one request per `send` and commits after each message. On top, eventform validates on publish
 * and receipt, carries the CloudEvents envelope as headers and checks + records idempotency
 * (in-memory store) before committing, and provisions retry and dead-letter topics.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import { createJsonLogger } from '../runtime/core/src/logger.js';
import type { TopologyIR } from '../runtime/core/src/ir.js';
import { KafkaTransport } from '@eventform/kafka';
import { benchTopology } from './order-topology.js';
import { eventformSide } from './eventform-side.js';
import { rawKafkajsSide } from './raw-kafkajs.js';
import {
  compare,
  DEFAULT_WARMUP,
  formatComparison,
  numberArg,
  loadAverage,
  type ComparisonResult,
  type Side,
} from './support.js';

export interface KafkaBenchOptions {
  /** @default `KAFKA_BROKERS`, else the broker `scripts/kafka/kafka.sh start` runs */
  brokers?: string;
  /** Messages per measured round. @default 8_000 */
  messages?: number;
  /** Measured rounds per side. @default 3 */
  rounds?: number;
  /** Warm-up messages per side before the first round. @default min(5000, messages) */
  warmup?: number;
  /** Topic partitions = partitions consumed at once = eventform consumer concurrency. @default 3 */
  partitions?: number;
  /** Publishes awaiting their ack at once, both sides. @default 100 */
  inFlight?: number;
  /**
   * Also run raw kafkajs per message (the textbook way) and batched with eventform-like headers, as
   * reference rows. @default true
   */
  reference?: boolean;
  /** @default console.log */
  log?: (line: string) => void;
}

export const KAFKA_BENCH_DEFAULTS = {
  // Sized so the whole Kafka bench (setup included) stays under two minutes on a 2-core machine:
  // raw kafkajs sends one request per message (~1-2k msg/s here).
  messages: 8_000,
  rounds: 3,
  partitions: 3,
  inFlight: 100,
  /** The goal: eventform ≥ 0.8 × raw kafkajs. */
  goal: 0.8,
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
  return /KAFKA_BROKERS=(\S+)/.exec(out)?.[1] ?? '127.0.0.1:19092';
}

function roundTimeoutMs(messages: number): number {
  return 60_000 + messages * 20;
}

/** The eventform side: a runtime on the Kafka transport, publishing with `runtime.publish`. */
export async function eventformKafkaSide(options: {
  brokers: string;
  partitions: number;
  inFlight: number;
}): Promise<Side & { close(): Promise<void> }> {
  const topology = benchTopology({
    prefix: 'bench-ef',
    concurrency: options.partitions,
    partitions: options.partitions,
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

/** Runs raw kafkajs and the eventform runtime side by side and returns the comparison. */
export async function run(options: KafkaBenchOptions = {}): Promise<ComparisonResult> {
  const messages = options.messages ?? KAFKA_BENCH_DEFAULTS.messages;
  const rounds = options.rounds ?? KAFKA_BENCH_DEFAULTS.rounds;
  const partitions = options.partitions ?? KAFKA_BENCH_DEFAULTS.partitions;
  const inFlight = options.inFlight ?? KAFKA_BENCH_DEFAULTS.inFlight;
  const reference = options.reference ?? true;
  const log = options.log ?? ((line: string) => console.log(line));
  const brokers = options.brokers ?? (await kafkaBrokers());

  log(`\n${KAFKA_BENCH_TITLE}`);
  log(`  ${loadAverage()} at the start`);
  log(
    `  broker ${brokers}; ${messages} messages x ${rounds} rounds per side (after a warm-up of ${options.warmup ?? Math.min(DEFAULT_WARMUP, messages)}), alternating order`,
  );
  log(`  same on both sides: ${inFlight} publishes in flight, ${partitions} partitions consumed at once`);
  log(`    (eventform concurrency ${partitions}), idempotent producer, acks=all, keyed, commit after handling`);
  log('  baseline: raw kafkajs batched like the transport (concurrent sends share one produce request, one commit');
  log('    per fetched batch after handling it)');
  if (reference) {
    log('  reference rows (not the goal): raw kafkajs per message (a send and a commit per message), and raw');
    log('    kafkajs batched sending the same CloudEvents headers as eventform');
  }
  log(
    '  eventform also: validation on publish and receipt, CloudEvents headers, idempotency (in-memory) before commit',
  );

  const closers: (() => Promise<void>)[] = [];
  try {
    const brokerList = brokers.split(',');
    const baseline = await rawKafkajsSide({ brokers: brokerList, inFlight, partitions, mode: 'batched' });
    closers.push(() => baseline.close());
    const candidate = await eventformKafkaSide({ brokers, partitions, inFlight });
    closers.push(() => candidate.close());
    const others = [];
    if (reference) {
      const perMessage = await rawKafkajsSide({ brokers: brokerList, inFlight, partitions, mode: 'per-message' });
      closers.push(() => perMessage.close());
      const withHeaders = await rawKafkajsSide({
        brokers: brokerList,
        inFlight,
        partitions,
        mode: 'batched',
        envelopeHeaders: true,
      });
      closers.push(() => withHeaders.close());
      others.push(perMessage, withHeaders);
    }
    const result = await compare(KAFKA_BENCH_TITLE, baseline, candidate, {
      messages,
      rounds,
      warmup: options.warmup,
      others,
    });
    log(formatComparison(result, KAFKA_BENCH_DEFAULTS.goal));
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
    partitions: numberArg('partitions'),
    inFlight: numberArg('in-flight'),
    reference: !process.argv.includes('--no-reference'),
  });
}
