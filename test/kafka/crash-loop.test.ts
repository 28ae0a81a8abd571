/**
 * A message that kills its consumer process every time it is handled (SIGKILL mid-handler: no
 * outcome, no commit) must not stop its partition for good: the consumer group's commit metadata
 * counts the deliveries that ended without an outcome, and after `maxDeliveries` the runtime
 * dead-letters the message (`redelivery-limit`) and the partition moves on. Everything else is
 * handled, nothing else is dead-lettered.
 *
 * The consumer runs in a child process (`crash-loop-worker.ts`) that the test restarts after each
 * crash, like a process supervisor would.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createRuntime } from '../../runtime/core/runtime.js';
import { buildTopology, uniqueTopologyName } from '../../runtime/testing/topology-builder.js';
import { KafkaTransport } from '../../runtime/transports/kafka/index.js';
import { requireKafka } from '../support/kafka.js';
import type { CrashLoopWorkerConfig, CrashLoopWorkerMessage } from './crash-loop-worker.js';
import { cleanupTopology, FAST_GROUP, header, readTopic, testLogger, waitFor } from './helpers.js';

const WORKER = fileURLToPath(new URL('./crash-loop-worker.ts', import.meta.url));
const CONSUMER = 'worker.run';
const JOBS = 40;
const POISON = 13;
const MAX_DELIVERIES = 2;
/** Crashes allowed: the poison runs at most maxDeliveries + 1 times (see consumer-loop.ts). */
const MAX_CRASHES = MAX_DELIVERIES + 1;

const kafka = await requireKafka();

describe.skipIf(!kafka.available)('Kafka: a message that crashes its consumer process every time', () => {
  const topology = buildTopology({
    name: uniqueTopologyName('crashloop'),
    kafka: { partitions: 1, replicationFactor: 1, minInsyncReplicas: 1 },
    events: {
      Job: {
        key: 'id',
        payload: {
          type: 'object',
          required: ['id', 'n'],
          properties: { id: { type: 'string' }, n: { type: 'integer' } },
        },
      },
    },
    services: {
      boss: { produces: ['Job'] },
      worker: { consumes: { run: { event: 'Job', concurrency: 4 } } },
    },
  });
  let child: ChildProcess | undefined;
  let finished = false;

  afterAll(async () => {
    finished = true;
    child?.kill('SIGKILL');
    await cleanupTopology(kafka.brokers, topology);
  });

  it(`is dead-lettered after maxDeliveries (${MAX_DELIVERIES}) and the partition moves on`, async () => {
    const producer = createRuntime({
      topology,
      transport: new KafkaTransport({ brokers: kafka.brokers, logger: testLogger() }),
      logger: testLogger(),
    });
    await producer.start();
    for (let n = 0; n < JOBS; n++) await producer.publish('boss', 'Job', { id: `job-${n}`, n });
    await producer.stop();

    const handled = new Set<number>();
    let crashes = 0;
    let poisonStarts = 0;
    let stderr = '';
    let failure = '';
    const config: CrashLoopWorkerConfig = {
      brokers: kafka.brokers,
      topology,
      consumerId: CONSUMER,
      poison: POISON,
      maxDeliveries: MAX_DELIVERIES,
      transport: FAST_GROUP,
    };
    const start = (): void => {
      const worker = fork(WORKER, [], {
        execArgv: ['--import', 'tsx'],
        env: { ...process.env, EF_CRASH_LOOP_WORKER: JSON.stringify(config) },
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      });
      child = worker;
      worker.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4_000)));
      worker.on('message', (message: CrashLoopWorkerMessage) => {
        if (message.type === 'handled') handled.add(message.n);
        else if (message.type === 'poison-started') poisonStarts++;
        else if (message.type === 'failed') failure = message.error;
      });
      worker.on('exit', (_code, signal) => {
        if (finished || signal !== 'SIGKILL' || child !== worker) return;
        crashes++;
        // The supervisor restarts it, up to a bound that a loop without the guard would exceed.
        if (crashes <= MAX_CRASHES + 2) start();
      });
    };
    start();

    const deadLetterTopic = topology.consumers[0]!.kafka.deadLetterTopic!;
    try {
      // Each restart waits for the group to evict the killed member (session timeout 6 s).
      const [dead] = await readTopic(kafka.brokers, deadLetterTopic, 1, 150_000);
      expect(failure).toBe('');
      await waitFor(`all ${JOBS - 1} other jobs handled (handled ${handled.size})`, () => handled.size === JOBS - 1);
      expect(JSON.parse(dead!.value!.toString('utf8'))).toEqual({ id: `job-${POISON}`, n: POISON });
      expect(header(dead!, 'ef-dl-reason')).toBe('redelivery-limit');
      expect(header(dead!, 'ef-dl-consumer')).toBe(CONSUMER);
      // Exactly one dead letter: no innocent job was blamed for the crashes.
      await expect(readTopic(kafka.brokers, deadLetterTopic, 2, 3_000)).rejects.toThrow();
      expect([...handled].sort((a, b) => a - b)).toEqual(
        Array.from({ length: JOBS }, (_, n) => n).filter((n) => n !== POISON),
      );
      expect(crashes).toBeGreaterThanOrEqual(MAX_DELIVERIES);
      expect(crashes).toBeLessThanOrEqual(MAX_CRASHES);
      expect(poisonStarts).toBe(crashes);
    } catch (error) {
      throw new Error(`${(error as Error).message}\nworker stderr:\n${stderr}`, { cause: error });
    }
  }, 180_000);
});
