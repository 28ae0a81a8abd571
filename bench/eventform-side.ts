/**
 * The eventform side of a broker bench, the same for every transport: a runtime publishing with
 * `runtime.publish` and a JSON-free handler (the runtime has already parsed and validated the
 * payload). A round fails, rather than reporting a number, if a message is lost or retried.
 */
import type { Logger } from '../runtime/core/src/api.js';
import type { TopologyIR } from '../runtime/core/src/ir.js';
import type { Transport } from '../runtime/core/src/transport.js';
import { createRuntime } from '../runtime/core/src/runtime.js';
import { BENCH_CONSUMER, BENCH_EVENT, BENCH_PRODUCER } from './order-topology.js';
import {
  atFixedRate,
  counter,
  eventformSideName,
  latencyRecorder,
  pooled,
  samplePayload,
  within,
  type LatencySide,
  type Measurement,
  type Side,
} from './support.js';

export interface EventformSideOptions {
  topology: TopologyIR;
  transport: Transport;
  logger: Logger;
  inFlight: number;
  /** Upper bound on one round of `messages`. */
  roundTimeoutMs(messages: number): number;
  /** Deletes the broker resources of `topology`. */
  cleanup(): Promise<void>;
}

export async function eventformSide(
  options: EventformSideOptions,
): Promise<Side & LatencySide & { close(): Promise<void> }> {
  const runtime = createRuntime({ topology: options.topology, transport: options.transport, logger: options.logger });
  let seen = counter(0);
  let latency = latencyRecorder(0);
  runtime.handle(BENCH_CONSUMER, async (event) => {
    latency.handled((event.data as { orderId: string }).orderId);
    seen.tick();
  });
  try {
    await runtime.start();
  } catch (error) {
    await runtime.stop().catch(() => undefined);
    await options.cleanup();
    throw error;
  }

  const publishOne = (i: number) => runtime.publish(BENCH_PRODUCER, BENCH_EVENT, samplePayload(i));
  const mode = options.topology.events.find((e) => e.name === BENCH_EVENT)!.contentMode;
  const name = eventformSideName(mode);
  const checkClean = () => {
    const stats = runtime.health().consumers[0];
    if (stats && (stats.retried || stats.deadLettered || stats.dropped)) {
      throw new Error(`${name} had failures during the bench: ${JSON.stringify(stats)}`);
    }
  };

  return {
    name,
    async run(messages: number): Promise<Measurement> {
      seen = counter(messages);
      const started = performance.now();
      await pooled(messages, options.inFlight, publishOne);
      await within(seen.done, options.roundTimeoutMs(messages), () => {
        const c = runtime.health().consumers[0];
        return `${name} consumed ${seen.count}/${messages} (health: ${JSON.stringify(c)})`;
      });
      const ms = performance.now() - started;
      checkClean();
      return { messages, ms };
    },
    async atRate(count: number, ratePerSecond: number): Promise<number[]> {
      seen = counter(count);
      latency = latencyRecorder(count);
      const recorder = latency;
      await atFixedRate(count, ratePerSecond, (i) => {
        recorder.mark(i);
        return publishOne(i);
      });
      const latencies = await within(recorder.done, options.roundTimeoutMs(count), () => `${name} handled too few`);
      checkClean();
      return latencies;
    },
    async close() {
      await runtime.stop();
      await options.cleanup();
    },
  };
}
