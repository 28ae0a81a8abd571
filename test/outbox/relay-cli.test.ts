/**
 * `eventform relay` as a user runs it (the built CLI, a child process): `schema` prints the
 * migration, `migrate` applies it, and the relay itself publishes committed rows to RabbitMQ until
 * SIGTERM, then exits 0.
 */
import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { trace } from '@opentelemetry/api';
import { afterAll, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '@eventform/runtime';
import { createPostgresStore, outboxSchemaSql, withOutbox } from '@eventform/postgres';
import { RabbitMQTransport } from '@eventform/rabbitmq';
import { captureLogger, waitFor } from '@eventform/runtime/testing';
import { requireRabbitmq } from '../support/brokers.js';
import { deleteTopology } from '../rabbitmq/broker-admin.js';
import { findPostgres, uniqueTable } from '../runtime/pg-helper.js';
import { SpanKind, testSdk } from '../telemetry/otel-sdk.js';
import { runRelay } from '../../generator/src/cli/relay.js';
import { outboxTopology } from './fixtures.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CLI = path.join(ROOT, 'generator/bin/eventform.js');
const run = promisify(execFile);
const pgTarget = await findPostgres();
const rabbit = await requireRabbitmq();
const c = pgTarget.config;
const databaseUrl = `postgres://${c.user}@${c.host}:${c.port}/${c.database}`;

describe('eventform relay schema', () => {
  it('prints the migration, for the default table or the one given, and refuses an unsafe name', async () => {
    expect((await run(process.execPath, [CLI, 'relay', 'schema'])).stdout).toBe(outboxSchemaSql());
    expect((await run(process.execPath, [CLI, 'relay', 'schema', '--table', 'app.outbox'])).stdout).toBe(
      outboxSchemaSql('app.outbox'),
    );
    const bad = await run(process.execPath, [CLI, 'relay', 'schema', '--table', 'x; DROP TABLE y']).catch((e) => e);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--table: Invalid table name/);
  });
});

describe.skipIf(pgTarget.unavailable !== null || !rabbit.available)(
  'eventform relay on PostgreSQL and RabbitMQ',
  () => {
    const table = uniqueTable('ef_cli_outbox');
    const processed = uniqueTable('ef_cli_processed');
    const admin = new pg.Pool({ ...c, max: 2 });
    const topo = outboxTopology(`relay-cli-${table.slice(-8)}`, { concurrency: 1 }); // in order on RabbitMQ
    const runtimes: Runtime[] = [];

    afterAll(async () => {
      for (const r of runtimes) await r.stop().catch(() => {});
      await admin.query(`DROP TABLE IF EXISTS ${table}, ${processed}`);
      await admin.end();
      await deleteTopology(rabbit.url, topo.ir).catch(() => {});
      topo.remove();
    });

    it('migrate creates the table; the relay publishes committed rows until SIGTERM and exits 0', async () => {
      const migrated = await run(process.execPath, [CLI, 'relay', 'migrate', '--table', table], {
        env: { ...process.env, DATABASE_URL: databaseUrl },
      });
      expect(migrated.stdout).toContain(`outbox table ${table} is in place`);
      expect((await admin.query('SELECT 1 FROM pg_tables WHERE tablename = $1', [table])).rowCount).toBe(1);

      // A service whose relay runs elsewhere: it writes to the outbox, the CLI publishes.
      const store = createPostgresStore({
        connectionString: databaseUrl,
        table: processed,
        outbox: { table },
        purgeIntervalMs: 0,
        logger: captureLogger(),
      });
      const received: number[] = [];
      const runtime = createRuntime({
        topology: topo.ir,
        transport: new RabbitMQTransport({ url: rabbit.url, logger: captureLogger() }),
        idempotencyStore: store,
        outbox: { relay: false },
        logger: captureLogger(),
      });
      runtimes.push(runtime);
      runtime.handle('audit.placed', async (event) => {
        received.push((event.data as { n: number }).n);
      });
      await runtime.start();
      expect(runtime.health().outbox).toBeUndefined(); // no relay in this process
      for (let n = 0; n < 20; n++) {
        await withOutbox(store, () => runtime.publish('orders', 'Placed', { key: 'k', n }));
      }

      const child = spawn(process.execPath, [CLI, 'relay', topo.file, '--table', table, '--status-interval', '0'], {
        env: {
          ...process.env,
          DATABASE_URL: databaseUrl,
          BROKER: 'rabbitmq',
          EVENTFORM_RABBITMQ_URL: rabbit.url,
          EVENTFORM_LOG: 'info',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      await waitFor(() => received.length === 20, { timeoutMs: 30_000, what: `20 events (relay said: ${stderr})` });
      expect(received).toEqual(Array.from({ length: 20 }, (_, n) => n));
      // Committed after the relay started: woken by NOTIFY from this process (no relay here).
      await withOutbox(store, () => runtime.publish('orders', 'Placed', { key: 'k', n: 20 }));
      await waitFor(() => received.length === 21, { what: 'the event committed while the relay ran' });

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(stderr).toContain('outbox relay started');
      expect(stderr).toContain('"msg":"outbox relay stopped"');
      expect(stderr).toContain('"published":21');
    }, 60_000);

    it("has send spans linked to each row's creation context, through the global OpenTelemetry providers", async () => {
      const sdk = testSdk();
      const traced = uniqueTable('ef_cli_traced');
      const tracedProcessed = uniqueTable('ef_cli_traced_processed');
      // A topology of its own: the first test's runtime still consumes from the other one's queues.
      const own = outboxTopology(`relay-cli-traced-${traced.slice(-8)}`, { concurrency: 1 });
      await admin.query(outboxSchemaSql(traced));
      const store = createPostgresStore({
        connectionString: databaseUrl,
        table: tracedProcessed,
        outbox: { table: traced },
        purgeIntervalMs: 0,
        logger: captureLogger(),
      });
      const received: number[] = [];
      const runtime = createRuntime({
        topology: own.ir,
        transport: new RabbitMQTransport({ url: rabbit.url, logger: captureLogger() }),
        idempotencyStore: store,
        outbox: { relay: false },
        logger: captureLogger(),
        telemetry: sdk.options,
      });
      runtimes.push(runtime);
      runtime.handle('audit.placed', async (event) => void received.push((event.data as { n: number }).n));
      await runtime.start();
      for (let n = 0; n < 3; n++) await withOutbox(store, () => runtime.publish('orders', 'Placed', { key: 't', n }));
      const creates = sdk.named('create ');
      expect(creates).toHaveLength(3);

      // The relay as `eventform relay` runs it, in this process: an SDK registered globally, as a
      // user's NODE_OPTIONS=--import would.
      trace.setGlobalTracerProvider(sdk.options.tracerProvider!);
      const env = { DATABASE_URL: databaseUrl, BROKER: 'rabbitmq', EVENTFORM_RABBITMQ_URL: rabbit.url };
      const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
      Object.assign(process.env, env);
      const stop = new AbortController();
      const io = { stdout: () => undefined, stderr: () => undefined };
      try {
        const relay = runRelay(own.file, { table: traced, statusInterval: '0', createTable: false }, io, stop.signal);
        await waitFor(() => received.length === 3, { timeoutMs: 30_000, what: '3 events through the relay' });
        stop.abort();
        expect(await relay).toBe(0);
      } finally {
        for (const [k, v] of Object.entries(saved)) {
          if (v === undefined) delete process.env[k];
          else process.env[k] = v;
        }
        trace.disable();
        await runtime.stop();
        await admin.query(`DROP TABLE IF EXISTS ${traced}, ${tracedProcessed}`);
        await deleteTopology(rabbit.url, own.ir).catch(() => {});
        own.remove();
      }
      const sends = sdk.named('send ');
      expect(sends).toHaveLength(3);
      expect(sends.map((s) => s.kind)).toEqual([SpanKind.CLIENT, SpanKind.CLIENT, SpanKind.CLIENT]);
      // Each send links to the create span of its row, so the trace shows where the row came from.
      const linked = sends
        .map((s) => s.links.map((l) => l.context.spanId))
        .flat()
        .sort();
      expect(linked).toEqual(creates.map((s) => s.spanContext().spanId).sort());
      await sdk.shutdown();
    }, 60_000);

    it('refuses the memory broker', async () => {
      const result = await run(process.execPath, [CLI, 'relay', topo.file], {
        env: { ...process.env, DATABASE_URL: databaseUrl, BROKER: 'memory' },
      }).catch((e) => e);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/publishes to a real broker/);
    });

    it('exits 4 (unavailable) when the database is reachable but the broker is not, naming the broker', async () => {
      const result = await run(process.execPath, [CLI, 'relay', topo.file, '--broker', 'rabbitmq', '--table', table], {
        env: { ...process.env, DATABASE_URL: databaseUrl, EVENTFORM_RABBITMQ_URL: 'amqp://guest:guest@127.0.0.1:1' },
      }).then(
        () => ({ code: 0, stderr: '' }),
        (e: { code: number; stderr: string }) => e,
      );
      expect(result.code).toBe(4);
      expect(result.stderr).toMatch(/^eventform relay: RabbitMQ at amqp:\/\/guest:\*\*\*@127\.0\.0\.1:1 /m);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }, 60_000);
  },
);
