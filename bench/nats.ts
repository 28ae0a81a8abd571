/**
 * NATS JetStream bench: publish + consume throughput of the eventform runtime against the raw
 * `@nats-io` clients, in the same process, same server, alternating rounds (see support.ts), printed
 * as ratios; then publish→handled latency at a fixed rate.
 *
 *   npx tsx bench/nats.ts [--messages 20000] [--rounds 5] [--concurrency 50] [--in-flight 100]
 *                         [--latency-rate 500] [--latency-messages 2000] [--no-latency]
 *
 * Same on both sides: message count, publishes in flight, a publish acknowledgement awaited per
 * message, file storage, one durable pull consumer with explicit acks, fetches of `maxInHand`
 * messages with the same wait, one connection per side. The eventform side also validates, builds
 * and checks the envelope, schedules per key, and checks and marks idempotency before the ack.
 */
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { createJsonLogger } from '../runtime/core/src/logger.js';
import type { ContentMode } from '../runtime/core/src/ir.js';
import { NatsTransport } from '../runtime/nats/src/transport.js';
import { NATS_DEFAULTS, defaultNatsServers } from '../runtime/nats/src/defaults.js';
import { natsResources } from '../runtime/nats/src/resources.js';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { benchTopology } from './order-topology.js';
import { eventformSide } from './eventform-side.js';
import { rawNatsSide } from './raw-nats.js';
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
  type Pair,
  type RawWire,
} from './support.js';

export interface NatsBenchOptions extends BenchRunOptions {
  /** @default `NATS_URL` or 127.0.0.1:4222 */
  servers?: string;
  /** Handler concurrency of the eventform consumer. @default 50 */
  concurrency?: number;
}

export const NATS_BENCH_DEFAULTS = {
  messages: 20_000,
  rounds: 5,
  concurrency: 50,
  inFlight: 100,
  latency: { rate: 500, messages: 2_000, rounds: 2 },
  goals: { sameWireFormat: 0.9, latencyP99: 1.2 },
} as const;

export const NATS_BENCH_TITLE = 'NATS JetStream publish + consume (file storage, publish acks, durable pull consumer)';

function roundTimeoutMs(messages: number): number {
  return 60_000 + messages * 5;
}

async function deleteStreams(servers: string, topology: Parameters<typeof natsResources>[0]): Promise<void> {
  const nc = await connect({ servers: servers.split(',') });
  try {
    const jsm = await jetstreamManager(nc);
    for (const s of natsResources(topology).streams) await jsm.streams.delete(s.name).catch(() => undefined);
  } finally {
    await nc.close();
  }
}

export function natsPairs(): Pair[] {
  const goal = NATS_BENCH_DEFAULTS.goals.sameWireFormat;
  const raw = (wire: RawWire) => rawSideName('nats', wire);
  return [
    { candidate: eventformSideName('binary'), baseline: raw('binary'), goal, note: "the framework's own cost" },
    { candidate: eventformSideName('structured'), baseline: raw('structured'), goal, note: "the framework's own cost" },
    { candidate: eventformSideName('binary'), baseline: raw('bare') },
  ];
}

export async function run(options: NatsBenchOptions = {}): Promise<ComparisonResult> {
  const servers = options.servers ?? defaultNatsServers();
  const messages = options.messages ?? NATS_BENCH_DEFAULTS.messages;
  const rounds = options.rounds ?? NATS_BENCH_DEFAULTS.rounds;
  const concurrency = options.concurrency ?? NATS_BENCH_DEFAULTS.concurrency;
  const inFlight = options.inFlight ?? NATS_BENCH_DEFAULTS.inFlight;
  const latency = options.latency ?? NATS_BENCH_DEFAULTS.latency;
  const log = options.log ?? ((line: string) => console.log(line));
  const batch = NATS_DEFAULTS.maxInHand;
  const fetchExpiresMs = NATS_DEFAULTS.fetchExpiresMs;

  log(`\n${NATS_BENCH_TITLE}`);
  log(`  ${loadAverage()} at the start`);
  log(
    `  ${messages} messages x ${rounds} rounds per side (after a warm-up of ${options.warmup ?? Math.min(DEFAULT_WARMUP, messages)}), rotating order`,
  );
  log(
    `  same on every side: ${inFlight} publishes in flight, fetches of ${batch} messages (wait ${fetchExpiresMs} ms),`,
  );
  log('    a publish ack awaited per message, explicit acks, file storage, one connection per side');
  log(
    `  eventform also: concurrency ${concurrency} with per-key order, validation, the envelope, idempotency before ack`,
  );

  return runBench({
    title: NATS_BENCH_TITLE,
    log,
    messages,
    rounds,
    warmup: options.warmup,
    pairs: natsPairs(),
    latency,
    latencyGoal: NATS_BENCH_DEFAULTS.goals.latencyP99,
    async open(keep) {
      const raw = async (wire: RawWire) => keep(await rawNatsSide({ servers, batch, fetchExpiresMs, inFlight, wire }));
      const ef = async (contentMode: ContentMode) => {
        const topology = benchTopology({ prefix: 'bench-ef', concurrency, contentMode });
        const logger = createJsonLogger({ level: 'warn', fields: { bench: 'nats' } });
        const transport = new NatsTransport({ servers, logger });
        return keep(
          await eventformSide({
            topology,
            transport,
            logger,
            inFlight,
            roundTimeoutMs,
            cleanup: () => deleteStreams(servers, topology),
          }),
        );
      };
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
    concurrency: numberArg('concurrency'),
    inFlight: numberArg('in-flight'),
    latency: latencyArg(NATS_BENCH_DEFAULTS.latency),
  });
}
