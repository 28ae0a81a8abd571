/**
 * One consumer instance in a child process, for `consumer-crash.test.ts`, which kills it with
 * SIGKILL: a real process crash, with no graceful close, no final commit and no LeaveGroup.
 *
 * After `blockAfter` effects every further handler blocks right after its INSERT, holding its
 * transaction open, like a process hung on a downstream call. The batches it is working on then
 * never finish, so none of their offsets is committed (an offset is committed only once every
 * offset before it in its partition is finished): every effect it committed in PostgreSQL in those
 * batches must come back to the other instances as a redelivery, which the idempotency store must
 * absorb. The blocked transactions die with the process, so their effects must happen elsewhere.
 *
 * Talks to the test over the IPC channel of `child_process.fork` (see {@link CrashWorkerMessage}).
 * Run with `node --import tsx test/kafka/crash-worker.ts` and `EF_CRASH_WORKER` set.
 */
import pg from 'pg';
import type { PoolClient } from 'pg';
import type { Logger } from '../../runtime/core/src/api.js';
import type { TopologyIR } from '../../runtime/core/src/ir.js';
import { createRuntime } from '../../runtime/core/src/runtime.js';
import { createPostgresStore } from '@eventform/postgres';
import { KafkaTransport, type KafkaTransportOptions } from '@eventform/kafka';

export interface CrashWorkerConfig {
  instance: string;
  brokers: string;
  postgresUrl: string;
  topology: TopologyIR;
  consumerId: string;
  effectsTable: string;
  processedTable: string;
  /** Effects to commit before every further handler blocks. */
  blockAfter: number;
  transport: Partial<KafkaTransportOptions>;
}

export type CrashWorkerMessage =
  | { type: 'ready' }
  /** A handler wrote its effect and now blocks with the transaction open. */
  | { type: 'blocked'; eventId: string; effectsBefore: number }
  | { type: 'failed'; error: string };

const send = (message: CrashWorkerMessage): void => void process.send?.(message);

// Never outlive the test process (e.g. vitest killed half-way).
process.on('disconnect', () => process.exit(1));

const logger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (message, fields) => void process.stderr.write(`warn ${message} ${JSON.stringify(fields ?? {})}\n`),
  error: (message, fields) => void process.stderr.write(`error ${message} ${JSON.stringify(fields ?? {})}\n`),
};

async function main(): Promise<void> {
  const config = JSON.parse(process.env.EF_CRASH_WORKER ?? '') as CrashWorkerConfig;
  const pool = new pg.Pool({ connectionString: config.postgresUrl, max: 16 });
  pool.on('error', () => undefined);
  const runtime = createRuntime({
    topology: config.topology,
    transport: new KafkaTransport({ brokers: config.brokers, logger, ...config.transport }),
    logger,
    idempotencyStore: createPostgresStore({ pool, table: config.processedTable, logger }),
  });
  let effects = 0;
  runtime.handle(config.consumerId, async (event, ctx) => {
    const { n } = event.data as { n: number };
    await (ctx.tx as PoolClient).query(
      `INSERT INTO ${config.effectsTable} (event_id, n, instance) VALUES ($1, $2, $3)`,
      [event.id, n, config.instance],
    );
    if (effects >= config.blockAfter) {
      send({ type: 'blocked', eventId: event.id, effectsBefore: effects });
      await new Promise<never>(() => undefined); // until SIGKILL
    }
    effects++;
  });
  await runtime.start();
  send({ type: 'ready' });
}

main().catch((error: unknown) => {
  send({ type: 'failed', error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exitCode = 1;
});
