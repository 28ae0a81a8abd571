/**
 * The framework's own CPU per message, without a broker: the bench topology's runtime on the
 * memory transport, publishing with `runtime.publish` as the broker benches do (100 in flight, the
 * same payloads and handler), so everything measured is eventform's work — validation on publish
 * and receipt, building and reading the envelope, the idempotency store, the per-key order, the
 * correlation scope — plus the memory transport's own queueing. Binary and structured mode
 * alternate round by round; medians of CPU µs per message (user + system of this process).
 *
 *   npx tsx bench/pipeline.ts [--messages 20000] [--rounds 6]
 *
 * Run it under `node --cpu-prof --import tsx bench/pipeline.ts` to see where the time goes.
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ContentMode } from '../runtime/core/src/ir.js';
import { createRuntime } from '../runtime/core/src/runtime.js';
import { silentLogger } from '../runtime/core/src/logger.js';
import { createMemoryTransport } from '../runtime/core/src/memory/memory-transport.js';
import { BENCH_CONSUMER, BENCH_EVENT, BENCH_PRODUCER, benchTopology } from './order-topology.js';
import { loadAverage, numberArg, pooled, samplePayload } from './support.js';

export interface PipelineResult {
  mode: ContentMode;
  /** Median CPU µs per message (publish and delivery together). */
  cpuUsPerMessage: number;
  rounds: number[];
}

interface PipelineSide {
  mode: ContentMode;
  round(messages: number): Promise<number>;
  close(): Promise<void>;
}

async function pipelineSide(mode: ContentMode): Promise<PipelineSide> {
  const topology = benchTopology({ prefix: 'bench-pipeline', concurrency: 3, contentMode: mode });
  const transport = createMemoryTransport();
  const runtime = createRuntime({ topology, transport, logger: silentLogger });
  let handled = 0;
  runtime.handle(BENCH_CONSUMER, async (event) => {
    if ((event.data as { orderId: string }).orderId) handled++;
  });
  await runtime.start();
  // Every round publishes new order ids, as on a broker: each is a new idempotency key.
  let next = 0;
  return {
    mode,
    async round(messages) {
      handled = 0;
      const first = next;
      next += messages;
      const cpu = process.cpuUsage();
      await pooled(messages, 100, (i) => runtime.publish(BENCH_PRODUCER, BENCH_EVENT, samplePayload(first + i)));
      await transport.whenIdle(undefined, 120_000);
      const used = process.cpuUsage(cpu);
      if (handled !== messages) throw new Error(`${mode}: handled ${handled} of ${messages}`);
      return (used.user + used.system) / messages;
    },
    close: () => runtime.stop(),
  };
}

export async function run(options: { messages?: number; rounds?: number } = {}): Promise<PipelineResult[]> {
  const messages = options.messages ?? 20_000;
  const rounds = options.rounds ?? 6;
  const sides = [await pipelineSide('binary'), await pipelineSide('structured')];
  for (const side of sides) await side.round(5_000); // warm-up: JIT, ajv
  const samples = sides.map((): number[] => []);
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? [0, 1] : [1, 0];
    for (const j of order) samples[j]!.push(await sides[j]!.round(messages));
  }
  for (const side of sides) await side.close();
  return sides.map((side, j) => ({
    mode: side.mode,
    cpuUsPerMessage: median(samples[j]!),
    rounds: samples[j]!,
  }));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  console.log(`memory-transport pipeline, ${os.cpus().length} cpus, ${loadAverage()} at the start`);
  const results = await run({ messages: numberArg('messages'), rounds: numberArg('rounds') });
  for (const r of results) {
    console.log(
      `  eventform, ${r.mode.padEnd(10)} ${r.cpuUsPerMessage.toFixed(1).padStart(6)} µs CPU/msg (median), ${Math.min(...r.rounds).toFixed(1)} (best)   rounds: ${r.rounds.map((v) => v.toFixed(1)).join(' ')}`,
    );
  }
  console.log(`  ${loadAverage()} at the end`);
}
