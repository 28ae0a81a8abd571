/**
 * One instance of the consuming service of the cluster test, as a process of its own (so the test
 * can SIGKILL it): `ledger.apply` on RabbitMQ (the cluster's nodes) or Kafka (the cluster's
 * brokers), with the PostgreSQL idempotency store, run with `node --import tsx` from the repository
 * root (packages resolve to their sources through tsconfig.json's paths).
 *
 * Each event `{ account, seq }` takes effect in the handler's transaction, together with the
 * store's record of it:
 * - a row in `<prefix>_effects`, which has no unique key: a second effect of one event would be a
 *   second row;
 * - the account's last `seq` in `<prefix>_accounts` moves on; an event whose `seq` is not the last
 *   one + 1 is written to `<prefix>_violations` (per-key order broken).
 *
 * Environment: CLUSTER_BROKER (rabbitmq | kafka), CLUSTER_NODES (AMQP URLs or host:port, comma-
 * separated, this instance's first node first), CLUSTER_TOPOLOGY (a file holding the IR as JSON),
 * CLUSTER_PREFIX (table prefix), CLUSTER_INSTANCE, DATABASE_URL. Prints `ready` once consuming;
 * logs warnings and errors as JSON lines on stderr.
 */
import { readFileSync } from 'node:fs';
import { createRuntime, type Logger, type TopologyIR, type Transport } from '@eventform/runtime';
import { createPostgresStore } from '@eventform/postgres';
import { RabbitMQTransport } from '@eventform/rabbitmq';
import { KafkaTransport } from '@eventform/kafka';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const broker = env('CLUSTER_BROKER');
const nodes = env('CLUSTER_NODES').split(',');
const prefix = env('CLUSTER_PREFIX');
const instance = env('CLUSTER_INSTANCE');
const topology = JSON.parse(readFileSync(env('CLUSTER_TOPOLOGY'), 'utf8')) as TopologyIR;

const log =
  (level: string) =>
  (message: string, fields?: Record<string, unknown>): void => {
    if (level === 'warn' || level === 'error' || process.env.EVENTFORM_TEST_LOG === '1') {
      process.stderr.write(`${JSON.stringify({ instance, level, message, ...fields })}\n`);
    }
  };
const logger: Logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };

const transport: Transport =
  broker === 'rabbitmq'
    ? new RabbitMQTransport({
        urls: nodes,
        connectionName: `cluster-test-${instance}`,
        logger,
        publishTimeoutMs: 30_000,
      })
    : new KafkaTransport({ brokers: nodes, clientId: `cluster-test-${instance}`, logger });

const store = createPostgresStore({
  connectionString: env('DATABASE_URL'),
  table: `${prefix}_processed`,
  poolConfig: { max: 12 },
  purgeIntervalMs: 0,
  logger,
});
const runtime = createRuntime({ topology, transport, idempotencyStore: store, logger, shutdownTimeoutMs: 5_000 });

runtime.handle('ledger.apply', async (event, ctx) => {
  const { account, seq } = event.data as { account: string; seq: number };
  await ctx.tx.query(`INSERT INTO ${prefix}_effects (event_id, account, seq, instance) VALUES ($1, $2, $3, $4)`, [
    event.id,
    account,
    seq,
    instance,
  ]);
  const last = await ctx.tx.query<{ last: number }>(
    `SELECT last FROM ${prefix}_accounts WHERE account = $1 FOR UPDATE`,
    [account],
  );
  const previous = last.rows[0]?.last ?? -1;
  if (seq !== previous + 1) {
    await ctx.tx.query(`INSERT INTO ${prefix}_violations (account, seq, previous, instance) VALUES ($1, $2, $3, $4)`, [
      account,
      seq,
      previous,
      instance,
    ]);
  }
  await ctx.tx.query(`UPDATE ${prefix}_accounts SET last = $2 WHERE account = $1`, [account, seq]);
});

await runtime.start();
process.stdout.write('ready\n');

const shutdown = (): void => {
  void runtime
    .stop()
    .catch(() => {})
    .finally(() => process.exit(0));
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
// The test holds our stdin: when it dies, so do we (no orphaned consumers).
process.stdin.on('end', shutdown);
process.stdin.resume();
