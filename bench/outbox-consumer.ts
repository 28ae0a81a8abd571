/**
 * The outbox bench's consumer in a process of its own, as it is in a deployment (the consumer is
 * another service): it consumes OrderPlaced from RabbitMQ and tells its parent when each order was
 * handled, on the machine's monotonic clock, which every process reads the same (so the parent can
 * subtract its own commit times). The parent runs both sides' transactions and the relay; both
 * sides get this same consumer.
 *
 * The child is this file, started with `node --import tsx`; the parent talks to it over the IPC
 * channel: `start` → `started`, `health` → `health`, and `handled` batches (one per turn of the
 * child's event loop).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createJsonLogger, createRuntime, type ConsumerHealth, type TopologyIR } from '@eventform/runtime';
import { RabbitMQTransport } from '@eventform/rabbitmq';
import { BENCH_CONSUMER } from './order-topology.js';

/** Milliseconds on the monotonic clock (CLOCK_MONOTONIC on Linux): comparable between processes. */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

type ToChild = { type: 'start'; url: string; topology: TopologyIR; prefetch: number } | { type: 'health'; id: number };

type FromChild =
  | { type: 'started' }
  | { type: 'handled'; ids: string[]; at: number[] }
  | { type: 'health'; id: number; consumers: ConsumerHealth[] }
  | { type: 'failed'; message: string };

/** The bench's consumer, wherever it runs. */
export interface BenchConsumer {
  /** Where it runs, for the bench's description. */
  readonly where: string;
  health(): Promise<ConsumerHealth[]>;
  stop(): Promise<void>;
}

const CHILD_FLAG = '--eventform-outbox-bench-consumer';

/** Starts the consumer in a child process; `handled` is called with each order id and the child's monotonic time. */
export async function startConsumerProcess(options: {
  url: string;
  topology: TopologyIR;
  prefetch: number;
  handled: (orderId: string, atMs: number) => void;
}): Promise<BenchConsumer> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), [CHILD_FLAG], {
    execArgv: ['--import', 'tsx'],
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const healthWaiters = new Map<number, (consumers: ConsumerHealth[]) => void>();
  let nextId = 0;
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  const started = new Promise<void>((resolve, reject) => {
    child.on('message', (message: FromChild) => {
      if (message.type === 'started') resolve();
      else if (message.type === 'failed') reject(new Error(`bench consumer process: ${message.message}`));
      else if (message.type === 'handled') message.ids.forEach((id, i) => options.handled(id, message.at[i]!));
      else if (message.type === 'health') {
        healthWaiters.get(message.id)?.(message.consumers);
        healthWaiters.delete(message.id);
      }
    });
    void exit.then(() => reject(new Error('bench consumer process exited before it started')));
  });
  const send = (message: ToChild) => child.send(message);
  send({ type: 'start', url: options.url, topology: options.topology, prefetch: options.prefetch });
  try {
    await started;
  } catch (error) {
    child.kill();
    throw error;
  }
  return {
    where: 'a child process',
    health: () =>
      new Promise((resolve, reject) => {
        if (exited) return reject(new Error('bench consumer process is gone'));
        const id = ++nextId;
        healthWaiters.set(id, resolve);
        send({ type: 'health', id });
      }),
    async stop() {
      if (exited) return;
      // SIGTERM: the child stops its runtime and exits.
      child.kill('SIGTERM');
      await exit;
    },
  };
}

/** The child: one runtime consuming OrderPlaced, reporting handled orders in batches. */
async function child(): Promise<void> {
  const reply = (message: FromChild) => process.send!(message);
  const logger = createJsonLogger({ level: 'warn', fields: { bench: 'outbox-consumer' } });
  let ids: string[] = [];
  let at: number[] = [];
  const flush = () => {
    reply({ type: 'handled', ids, at });
    ids = [];
    at = [];
  };
  let runtime: ReturnType<typeof createRuntime> | undefined;
  process.on('message', (message: ToChild) => {
    if (message.type === 'health') {
      reply({ type: 'health', id: message.id, consumers: runtime?.health().consumers ?? [] });
      return;
    }
    runtime = createRuntime({
      topology: message.topology,
      transport: new RabbitMQTransport({ url: message.url, prefetch: message.prefetch, logger }),
      logger,
    });
    runtime.handle(BENCH_CONSUMER, async (event) => {
      if (ids.length === 0) setImmediate(flush);
      at.push(monotonicMs());
      ids.push((event.data as { orderId: string }).orderId);
    });
    runtime.start().then(
      () => reply({ type: 'started' }),
      (error: unknown) => reply({ type: 'failed', message: String(error) }),
    );
  });
  process.on('SIGTERM', () => {
    void (runtime?.stop() ?? Promise.resolve()).finally(() => process.exit(0));
  });
  // The parent is gone: nothing to report to.
  process.on('disconnect', () => process.exit(0));
}

if (process.argv.includes(CHILD_FLAG)) await child();
