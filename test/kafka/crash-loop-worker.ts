/**
 * One consumer process for `crash-loop.test.ts`: handles `Job` events and, on the poison one, dies
 * with SIGKILL in the middle of the handler (no outcome, no commit, no LeaveGroup), every time it
 * gets it. Reports each handled job over IPC before the handler returns.
 *
 * Run with `node --import tsx test/kafka/crash-loop-worker.ts` and `EF_CRASH_LOOP_WORKER` set.
 */
import type { Logger } from '../../runtime/core/api.js';
import type { TopologyIR } from '../../runtime/core/ir.js';
import { createRuntime } from '../../runtime/core/runtime.js';
import { KafkaTransport, type KafkaTransportOptions } from '../../runtime/transports/kafka/index.js';

export interface CrashLoopWorkerConfig {
  brokers: string;
  topology: TopologyIR;
  consumerId: string;
  poison: number;
  maxDeliveries: number;
  transport: Partial<KafkaTransportOptions>;
}

export type CrashLoopWorkerMessage =
  { type: 'ready' } | { type: 'handled'; n: number } | { type: 'poison-started' } | { type: 'failed'; error: string };

const send = (message: CrashLoopWorkerMessage): void => void process.send?.(message);

process.on('disconnect', () => process.exit(1));

const logger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (message, fields) => void process.stderr.write(`warn ${message} ${JSON.stringify(fields ?? {})}\n`),
  error: (message, fields) => void process.stderr.write(`error ${message} ${JSON.stringify(fields ?? {})}\n`),
};

async function main(): Promise<void> {
  const config = JSON.parse(process.env.EF_CRASH_LOOP_WORKER ?? '') as CrashLoopWorkerConfig;
  const runtime = createRuntime({
    topology: config.topology,
    transport: new KafkaTransport({ brokers: config.brokers, logger, ...config.transport }),
    logger,
    maxDeliveries: config.maxDeliveries,
  });
  runtime.handle(config.consumerId, async (event) => {
    const { n } = event.data as { n: number };
    if (n === config.poison) {
      send({ type: 'poison-started' });
      // Let the IPC message out, then die like a segfault would.
      await new Promise((resolve) => setTimeout(resolve, 50));
      process.kill(process.pid, 'SIGKILL');
      await new Promise<never>(() => undefined);
    }
    send({ type: 'handled', n });
  });
  await runtime.start();
  send({ type: 'ready' });
}

main().catch((error: unknown) => {
  send({ type: 'failed', error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exitCode = 1;
});
