/**
 * The cluster failover run, shared by the RabbitMQ and the Kafka test (test/cluster/*.test.ts).
 *
 * Two producers (two runtimes with their own connections, in this process) publish 10,000 events
 * `{ account, seq }` over 100 accounts, each account's events one after the other (a publish that
 * fails is sent again with the same event id), paced so that production spans the faults. Three
 * instances of the consuming service (test/cluster/service.ts) run as child processes. Meanwhile:
 * (a) the node leading the queue / partition is SIGKILLed, then started again; (b) every node is
 * restarted, one after another; (c) the instance that handled the latest event is SIGKILLed.
 *
 * Verified from PostgreSQL at the end: every event took effect exactly once (zero lost, zero
 * doubled: the effects table has no unique key), every account saw its events in order (no
 * violation recorded, last seq = count - 1). For each fault it prints the longest pause in
 * confirmed publishes and in effects, i.e. how long the system took to recover.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { expect } from 'vitest';
import { createRuntime, type Logger, type Runtime, type TopologyIR, type Transport } from '@eventform/runtime';
import { loadTopology } from '../../generator/src/spec/index.js';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const DATABASE_URL =
  process.env.EVENTFORM_POSTGRES_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export const TOTAL = Number(process.env.CLUSTER_EVENTS ?? 10_000);
const ACCOUNTS = 100;
/** Confirmed publishes per second, both producers together. */
const RATE = Number(process.env.CLUSTER_RATE ?? 45);
/** How long the count of effects may stand still once producing is over before the run fails. */
const STALL_TIMEOUT_MS = 240_000;

/** Run `bash scripts/cluster/<script> <args>`; resolves with stdout, rejects with the stderr tail. */
export function clusterScript(script: string, args: string[], timeoutMs = 300_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      [path.join(ROOT, 'scripts/cluster', script), ...args],
      { cwd: ROOT, timeout: timeoutMs, maxBuffer: 8 << 20 },
      (error, stdout, stderr) => {
        if (!error) return resolve(String(stdout));
        const tail = String(stderr).trim().split('\n').slice(-30).join('\n');
        reject(new Error(`${script} ${args.join(' ')} failed (${error.killed ? 'timed out' : error.code}):\n${tail}`));
      },
    );
  });
}

/** What the run needs from a cluster. Nodes are numbered 1..3. */
export interface ClusterOps {
  broker: 'rabbitmq' | 'kafka';
  /** The node list for a client, starting at node `first` (spreads connections over the nodes). */
  nodes(first: number): string[];
  transport(nodes: string[], name: string, logger: Logger): Transport;
  kill(node: number): Promise<void>;
  start(node: number): Promise<void>;
  restart(node: number): Promise<void>;
  /** The node leading the first partition queue / topic partition. */
  leader(ir: TopologyIR): Promise<number>;
  /** Asserts replication: quorum queue members, topic replicas and min.insync.replicas. */
  checkReplication(ir: TopologyIR): Promise<string>;
}

/** The test topology, built by the generator's loader; unique names per run. */
export function clusterTopology(broker: string): TopologyIR {
  const name = `cl-${broker}-${randomBytes(3).toString('hex')}`;
  const text = `topology: ${name}
events:
  EntryRecorded:
    key: account
    payload:
      type: object
      required: [account, seq]
      properties: { account: { type: string }, seq: { type: integer } }
services:
  producer: { produces: [EntryRecorded] }
  ledger:
    store: postgres
    consumes:
      apply: { event: EntryRecorded, concurrency: 4, retry: { attempts: 5, delay: 200ms }, rabbitmq: { partitions: 4 } }
`;
  const { ir, diagnostics } = loadTopology('cluster.yaml', { text });
  const errors = diagnostics.filter((d) => d.severity === 'error');
  if (!ir || errors.length > 0) throw new Error(`test topology invalid: ${JSON.stringify(errors)}`);
  return ir;
}

function quietLogger(counts: Map<string, number>): Logger {
  const log = (level: string) => (message: string) => {
    if (level === 'warn' || level === 'error') counts.set(message, (counts.get(message) ?? 0) + 1);
  };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

interface Instance {
  id: number;
  child: ChildProcess;
  exited: Promise<number | null>;
}

export interface ClusterRunResult {
  ir: TopologyIR;
  report: string[];
}

export async function clusterRun(ops: ClusterOps): Promise<ClusterRunResult> {
  const began = Date.now();
  const report: string[] = [];
  const note = (line: string) => {
    const text = `[${ops.broker} ${((Date.now() - began) / 1000).toFixed(1)}s] ${line}`;
    report.push(text);
    process.stderr.write(`${text}\n`);
  };
  const ir = clusterTopology(ops.broker);
  const prefix = ir.name.replace(/-/g, '_');
  const dir = path.join(ROOT, 'test/.tmp', ir.name);
  mkdirSync(dir, { recursive: true });
  const irFile = path.join(dir, 'topology.json');
  writeFileSync(irFile, JSON.stringify(ir));

  const db = new pg.Pool({ connectionString: DATABASE_URL, max: 3 });
  db.on('error', () => {});
  const instances: Instance[] = [];
  const producers: Runtime[] = [];
  const counts = new Map<string, number>();
  try {
    await db.query(
      `CREATE TABLE ${prefix}_effects (event_id text NOT NULL, account text NOT NULL, seq integer NOT NULL,
         instance text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())`,
    );
    await db.query(`CREATE TABLE ${prefix}_accounts (account text PRIMARY KEY, last integer NOT NULL)`);
    await db.query(
      `CREATE TABLE ${prefix}_violations (account text NOT NULL, seq integer NOT NULL, previous integer NOT NULL, instance text NOT NULL)`,
    );
    const accounts = Array.from({ length: ACCOUNTS }, (_, i) => `a${i}`);
    await db.query(`INSERT INTO ${prefix}_accounts (account, last) SELECT unnest($1::text[]), -1`, [accounts]);

    // ---- the consuming service: instance 1 first, so it is the active consumer (SAC) -------------
    const spawnInstance = async (id: number): Promise<Instance> => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'test/cluster/service.ts'], {
        cwd: ROOT,
        env: {
          ...process.env,
          CLUSTER_BROKER: ops.broker,
          CLUSTER_NODES: ops.nodes(id).join(','),
          CLUSTER_TOPOLOGY: irFile,
          CLUSTER_PREFIX: prefix,
          CLUSTER_INSTANCE: String(id),
          DATABASE_URL,
          KAFKAJS_NO_PARTITIONER_WARNING: '1',
        },
        // stdin: the instance exits when it closes, i.e. when this process dies.
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      const logFile = createWriteStream(path.join(dir, `instance-${id}.log`), { flags: 'a' });
      const logLines: string[] = [];
      child.stderr!.on('data', (chunk: Buffer) => {
        logFile.write(chunk);
        for (const line of String(chunk).split('\n')) if (line) logLines.push(line);
        if (logLines.length > 200) logLines.splice(0, 100);
      });
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const ready = new Promise<void>((resolve, reject) => {
        child.stdout!.on('data', (chunk: Buffer) => {
          if (String(chunk).includes('ready')) resolve();
        });
        void exited.then((code) =>
          reject(new Error(`instance ${id} exited (${code}) before ready:\n${logLines.slice(-20).join('\n')}`)),
        );
        setTimeout(() => reject(new Error(`instance ${id} not ready within 180 s`)), 180_000).unref();
      });
      const instance = { id, child, exited };
      instances.push(instance);
      await ready;
      return instance;
    };
    await spawnInstance(1);
    await Promise.all([spawnInstance(2), spawnInstance(3)]);
    note('3 service instances consuming');

    // ---- the producers -----------------------------------------------------------------------------
    for (const p of [1, 2]) {
      const transport = ops.transport(ops.nodes(p + 1), `cluster-producer-${p}`, quietLogger(counts));
      const rt = createRuntime({ topology: ir, transport, logger: quietLogger(counts), shutdownTimeoutMs: 5_000 });
      await rt.start({ services: ['producer'] });
      producers.push(rt);
    }
    const confirmedAt: number[] = [];
    let publishFailures = 0;
    let nextSlot = Date.now();
    const perAccount = TOTAL / ACCOUNTS;
    const produce = Promise.all(
      accounts.map(async (account, i) => {
        const rt = producers[i % 2]!;
        for (let seq = 0; seq < perAccount; seq++) {
          const slot = (nextSlot = Math.max(nextSlot + 1000 / RATE, Date.now()));
          if (slot > Date.now()) await sleep(slot - Date.now());
          const id = randomUUID();
          // Retried with the same id until confirmed: a publish that failed was reported, and a copy
          // that did get stored is a duplicate the consumer's idempotency store skips.
          for (;;) {
            try {
              await rt.publish('producer', 'EntryRecorded', { account, seq }, { id });
              break;
            } catch {
              publishFailures++;
              await sleep(250);
            }
          }
          confirmedAt.push(Date.now());
        }
      }),
    );
    let produced = false;
    void produce.then(() => {
      produced = true;
      note(`${TOTAL} events published and confirmed (${publishFailures} publishes failed, reported and sent again)`);
    });
    const atProgress = async (fraction: number) => {
      while (confirmedAt.length < fraction * TOTAL && !produced) await sleep(200);
    };
    const effects = async () =>
      Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${prefix}_effects`)).rows[0]!.n);

    // ---- the faults ----------------------------------------------------------------------------------
    const windows: { name: string; from: number; to: number }[] = [];
    const fault = async (name: string, run: () => Promise<void>) => {
      const from = Date.now();
      await run();
      // Recovered: publishes are confirmed and events take effect again after the fault.
      const pubs = confirmedAt.length;
      const eff = await effects();
      const deadline = Date.now() + STALL_TIMEOUT_MS;
      while (!produced && confirmedAt.length < pubs + 20) {
        if (Date.now() > deadline) throw new Error(`${name}: no publish confirmed for ${STALL_TIMEOUT_MS} ms`);
        await sleep(100);
      }
      while ((await effects()) < Math.min(eff + 20, TOTAL)) {
        if (Date.now() > deadline) throw new Error(`${name}: no event took effect for ${STALL_TIMEOUT_MS} ms`);
        await sleep(200);
      }
      windows.push({ name, from, to: Date.now() });
      note(`${name}: done, making progress again after ${((Date.now() - from) / 1000).toFixed(1)} s`);
    };

    await atProgress(0.05);
    note(`replication: ${await ops.checkReplication(ir)}`);
    const leader = await ops.leader(ir);
    await fault(`(a) SIGKILL node ${leader}, the leader`, () => ops.kill(leader));
    await fault(`(a) node ${leader} started again`, () => ops.start(leader));
    for (const n of [1, 2, 3]) await fault(`(b) restart node ${n}`, () => ops.restart(n));
    // (c) The instance that handled the latest event: the active consumer (RabbitMQ) or one holding partitions (Kafka).
    const [busiest] = await (
      await db.query<{ instance: string }>(`SELECT instance FROM ${prefix}_effects ORDER BY at DESC LIMIT 1`)
    ).rows;
    const victim = instances.find((i) => String(i.id) === busiest?.instance) ?? instances[0]!;
    await fault(`(c) SIGKILL service instance ${victim.id} (it handled the latest event)`, async () => {
      victim.child.kill('SIGKILL');
      await victim.exited;
    });
    note(`faults done at ${confirmedAt.length} of ${TOTAL} published`);

    // ---- drain -------------------------------------------------------------------------------------
    await produce;
    let last = -1;
    let movedAt = Date.now();
    for (;;) {
      const distinct = Number(
        (await db.query<{ n: string }>(`SELECT count(DISTINCT event_id) AS n FROM ${prefix}_effects`)).rows[0]!.n,
      );
      if (distinct >= TOTAL) break;
      if (distinct > last) [last, movedAt] = [distinct, Date.now()];
      if (Date.now() - movedAt > STALL_TIMEOUT_MS) {
        throw new Error(`only ${distinct} of ${TOTAL} events took effect, none more in ${STALL_TIMEOUT_MS} ms`);
      }
      await sleep(500);
    }
    note('every event took effect');
    await sleep(3_000); // a late duplicate would land now

    // ---- verify -------------------------------------------------------------------------------------
    const q = async <T extends pg.QueryResultRow>(sql: string) => (await db.query<T>(sql)).rows;
    const [totals] = await q<{ rows: number; events: number; keys: number }>(
      `SELECT count(*)::int AS rows, count(DISTINCT event_id)::int AS events,
              count(DISTINCT (account, seq))::int AS keys FROM ${prefix}_effects`,
    );
    const violations = await q<{ account: string; seq: number; previous: number }>(
      `SELECT account, seq, previous FROM ${prefix}_violations ORDER BY account, seq LIMIT 10`,
    );
    const lastSeq = await q<{ last: number; n: number }>(
      `SELECT last, count(*)::int AS n FROM ${prefix}_accounts GROUP BY last`,
    );
    const byInstance = await q<{ instance: string; n: number }>(
      `SELECT instance, count(*)::int AS n FROM ${prefix}_effects GROUP BY instance ORDER BY instance`,
    );
    note(
      `effects: ${totals!.rows} rows, ${totals!.events} events, ${totals!.keys} (account, seq); by instance ${byInstance
        .map((r) => `${r.instance}: ${r.n}`)
        .join(', ')}`,
    );
    expect(totals!.keys, 'distinct (account, seq) with an effect: none lost').toBe(TOTAL);
    expect(totals!.rows, 'effect rows: none doubled').toBe(TOTAL);
    expect(totals!.events, 'events with an effect').toBe(TOTAL);
    expect(violations, 'per-account order violations').toEqual([]);
    expect(lastSeq, 'every account ended at its last seq').toEqual([{ last: perAccount - 1, n: ACCOUNTS }]);

    // ---- time to recover: the longest pause in confirmed publishes and in effects per fault ------------
    const effectTimes = (
      await q<{ t: string }>(`SELECT extract(epoch FROM at) * 1000 AS t FROM ${prefix}_effects ORDER BY at`)
    ).map((r) => Number(r.t));
    const maxGap = (times: number[], from: number, to: number): number => {
      let prev = from;
      let gap = 0;
      for (const t of times) {
        if (t < from) continue;
        if (t > to) break;
        gap = Math.max(gap, t - prev);
        prev = t;
      }
      return gap;
    };
    const sortedConfirms = [...confirmedAt].sort((a, b) => a - b);
    for (const w of windows) {
      note(
        `time to recover, ${w.name}: longest pause ${(maxGap(sortedConfirms, w.from, w.to) / 1000).toFixed(1)} s in confirmed publishes, ` +
          `${(maxGap(effectTimes, w.from, w.to) / 1000).toFixed(1)} s in effects (window ${((w.to - w.from) / 1000).toFixed(1)} s)`,
      );
    }
    note(
      `elapsed ${((Date.now() - began) / 1000).toFixed(0)} s; client warnings: ${[...counts].map(([m, n]) => `${m} ×${n}`).join('; ') || 'none'}`,
    );
    return { ir, report };
  } finally {
    await Promise.all(producers.map((rt) => rt.stop().catch(() => {})));
    for (const i of instances) if (i.child.exitCode === null && i.child.signalCode === null) i.child.kill('SIGTERM');
    await Promise.all(instances.map((i) => Promise.race([i.exited, sleep(15_000)])));
    for (const i of instances) if (i.child.exitCode === null && i.child.signalCode === null) i.child.kill('SIGKILL');
    for (const t of ['effects', 'accounts', 'violations', 'processed']) {
      await db.query(`DROP TABLE IF EXISTS ${prefix}_${t}`).catch(() => {});
    }
    await db.end();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
