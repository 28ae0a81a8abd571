/**
 * The `eventform dlq` scenario every broker test runs (test/dlq/dlq-rabbitmq.test.ts,
 * dlq-kafka.test.ts, dlq-nats.test.ts): a runtime on the real broker dead-letters real messages, then the built CLI
 * (`node generator/bin/eventform.js dlq ...`, a child process without a terminal) lists, shows,
 * replays and purges them.
 *
 *   shop ──Placed──▶ billing.charge   (fails while an order is in `failing`: retries-exhausted)
 *          │   └───▶ audit.record     (always succeeds)
 *          └─Other─▶ audit.other      (NonRetryableError for n < 0)
 *
 * plus one raw Placed that is not JSON (dead-lettered by billing.charge and audit.record as
 * invalid-json). Replays go to billing.charge only: audit.record's effects must not change.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import {
  CE,
  NonRetryableError,
  createMemoryStore,
  createRuntime,
  type Runtime,
  type TopologyIR,
  type Transport,
} from '@eventform/runtime';
import { captureLogger, waitFor } from '@eventform/runtime/testing';
import { loadTopology } from '../../generator/src/spec/index.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'generator/bin/eventform.js');

export interface DlqTopology {
  file: string;
  ir: TopologyIR;
  remove(): void;
}

export function dlqTopology(): DlqTopology {
  const name = `dlq-${randomBytes(4).toString('hex')}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eventform-dlq-'));
  const file = path.join(dir, 'topology.yaml');
  const payload =
    '{ type: object, required: [orderId, n], properties: { orderId: { type: string }, n: { type: integer } } }';
  fs.writeFileSync(
    file,
    `topology: ${name}
version: 1
defaults:
  retry: { attempts: 2, backoff: fixed, delay: 100ms }
  idempotency: { window: 1d }
kafka: { partitions: 2, replicationFactor: 1, minInsyncReplicas: 1 }
events:
  Placed: { key: orderId, payload: ${payload} }
  Other: { key: orderId, payload: ${payload} }
services:
  shop: { produces: [Placed, Other] }
  billing:
    consumes:
      charge: { event: Placed }
  audit:
    consumes:
      record: { event: Placed }
      other: { event: Other }
`,
  );
  const { ir, diagnostics } = loadTopology(file);
  if (!ir) throw new Error(`test topology is invalid: ${JSON.stringify(diagnostics)}`);
  return { file, ir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The built CLI as a user runs it, with no terminal on stdin. */
export function cli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: ROOT, env: { ...process.env, NO_COLOR: '1', ...env }, timeout: 120_000, maxBuffer: 16 << 20 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    child.stdin?.end();
  });
}

export interface ScenarioBroker {
  name: 'rabbitmq' | 'kafka' | 'nats';
  /** `--url ...` or `--brokers ...` */
  flags: string[];
  transport(): Transport;
  /** Publish a raw Placed whose body is not JSON, with valid CloudEvents headers. */
  publishPoison(ir: TopologyIR, body: Buffer, headers: Record<string, string>): Promise<void>;
}

interface Effects {
  billing: Map<string, number>;
  audit: Map<string, number>;
  /** Correlation id each billing effect saw. */
  correlation: Map<string, string>;
}

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

interface ListJson {
  counts: { consumer: string; reason: string; count: number; replayed: number }[];
  queues: { consumer: string; location: string; missing: boolean; messages: number }[];
  ids: { consumer: string; id: string; reason: string | null }[];
}

/** `consumer reason` → count (and replayed), from `dlq list --json`. */
function counts(list: ListJson): Record<string, string> {
  return Object.fromEntries(list.counts.map((r) => [`${r.consumer} ${r.reason}`, `${r.count}/${r.replayed}`]));
}

export async function runScenario(broker: ScenarioBroker, topo: DlqTopology, runtimes: Runtime[]): Promise<void> {
  const { ir, file } = topo;
  const base = [file, '--broker', broker.name, ...broker.flags];
  const dlq = (verb: string, ...args: string[]) => cli(['dlq', verb, ...base, ...args]);
  const show = (id: string, ...args: string[]) => cli(['dlq', 'show', id, ...base, ...args]);
  const list = async (...args: string[]): Promise<ListJson> => {
    const r = await dlq('list', '--json', ...args);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as ListJson;
  };

  const effects: Effects = { billing: new Map(), audit: new Map(), correlation: new Map() };
  const failing = new Set(['o1', 'o2', 'o3']);
  const runtime = createRuntime({
    topology: ir,
    transport: broker.transport(),
    idempotencyStore: createMemoryStore({ purgeIntervalMs: 0 }),
    logger: captureLogger(),
  });
  runtimes.push(runtime);
  runtime.handle('billing.charge', async (event) => {
    const { orderId } = event.data as { orderId: string };
    if (failing.has(orderId)) throw new Error(`card declined for ${orderId}\u001b[31m`);
    bump(effects.billing, orderId);
    effects.correlation.set(orderId, event.correlationId);
  });
  runtime.handle('audit.record', async (event) => {
    bump(effects.audit, (event.data as { orderId: string }).orderId);
  });
  runtime.handle('audit.other', async (event) => {
    if ((event.data as { n: number }).n < 0) throw new NonRetryableError('negative n');
  });
  await runtime.start();
  const stats = (id: string) => runtime.health().consumers.find((c) => c.id === id)!;

  // ---- dead letters, made by the runtime --------------------------------------------------------
  const sent = new Map<string, { id: string; correlationId: string }>();
  for (const orderId of ['o1', 'o2', 'o3']) {
    const envelope = await runtime.publish('shop', 'Placed', { orderId, n: 1 }, { correlationId: `corr-${orderId}` });
    sent.set(orderId, { id: envelope.id, correlationId: envelope.correlationId });
  }
  await runtime.publish('shop', 'Other', { orderId: 'x1', n: -1 });
  const placed = ir.events.find((e) => e.name === 'Placed')!;
  await broker.publishPoison(ir, Buffer.from('{not json'), {
    [CE.id]: 'poison-1',
    [CE.type]: 'Placed',
    [CE.source]: 'shop',
    [CE.specversion]: '1.0',
    'content-type': 'application/json',
    [CE.correlationid]: 'corr-poison',
  });
  expect(placed.consumers).toEqual(['audit.record', 'billing.charge']);
  await waitFor(
    () =>
      stats('billing.charge').deadLettered === 4 &&
      stats('audit.record').deadLettered === 1 &&
      stats('audit.other').deadLettered === 1 &&
      effects.audit.size === 3,
    { timeoutMs: 60_000, what: 'the dead letters' },
  );

  // ---- list: counts per consumer and reason ------------------------------------------------------
  const first = await list();
  expect(counts(first)).toEqual({
    'audit.other non-retryable': '1/0',
    'audit.record invalid-json': '1/0',
    'billing.charge invalid-json': '1/0',
    'billing.charge retries-exhausted': '3/0',
  });
  const text = await dlq('list');
  expect(text.code).toBe(0);
  expect(text.stdout).toMatch(/billing\.charge\s+retries-exhausted\s+3\s+0/);
  expect(text.stdout).toContain('6 dead letters in 3 dead-letter');
  expect((await list('--consumer', 'billing.charge', '--reason', 'invalid-json')).counts).toEqual([
    expect.objectContaining({ consumer: 'billing.charge', reason: 'invalid-json', count: 1 }),
  ]);

  // ---- show: one record in full, escaped -------------------------------------------------------
  const o1 = sent.get('o1')!;
  const shown = await show(o1.id, '--consumer', 'billing.charge');
  expect(shown.code, shown.stderr).toBe(0);
  for (const part of ['retries-exhausted', 'corr-o1', 'attempts:       2', '"orderId": "o1"', 'Placed'])
    expect(shown.stdout).toContain(part);
  expect(shown.stdout).toContain('card declined for o1\\x1b[31m');
  expect(shown.stdout).not.toContain('\u001b');
  const shownJson = JSON.parse((await show('poison-1', '--json')).stdout) as {
    records: { consumer: string; reason: string; body: { data: string } }[];
  };
  expect(shownJson.records.map((r) => [r.consumer, r.reason, r.body.data]).sort()).toEqual([
    ['audit.record', 'invalid-json', '{not json'],
    ['billing.charge', 'invalid-json', '{not json'],
  ]);
  expect((await show('no-such-id')).code).toBe(1);

  // ---- replay --dry-run changes nothing ----------------------------------------------------------
  const dry = await dlq('replay', '--consumer', 'billing.charge', '--dry-run', '--json');
  expect(dry.code, dry.stderr).toBe(0);
  const dryJson = JSON.parse(dry.stdout) as { consumers: { consumer: string; matched: number; replayed: number }[] };
  expect(dryJson.consumers).toEqual([expect.objectContaining({ consumer: 'billing.charge', matched: 4, replayed: 0 })]);
  expect(counts(await list())).toEqual(counts(first));
  expect(stats('billing.charge').handled).toBe(0);

  // ---- replay with filters, to the originating consumer only --------------------------------------
  failing.delete('o1');
  failing.delete('o2');
  const auditHandled = stats('audit.record').handled;
  // Each of o1..o3 was retried once before it was dead-lettered.
  expect(stats('billing.charge').retried).toBe(3);
  const replay = await dlq(
    'replay',
    '--consumer',
    'billing.charge',
    '--reason',
    'retries-exhausted',
    '--type',
    'Placed',
    '--since',
    '1h',
    '--rate',
    '20',
    '--keep',
    '--json',
  );
  expect(replay.code, replay.stderr).toBe(0);
  expect(JSON.parse(replay.stdout).consumers[0]).toMatchObject({ consumer: 'billing.charge', matched: 3, replayed: 3 });
  // o1 and o2 handled once; o3 fails again and comes back dead-lettered, marked as replayed.
  await waitFor(() => effects.billing.size === 2 && stats('billing.charge').deadLettered === 5, {
    timeoutMs: 60_000,
    what: 'the replayed messages handled',
  });
  expect(Object.fromEntries(effects.billing)).toEqual({ o1: 1, o2: 1 });
  // Attempts start again: o3 got its retry once more before it was dead-lettered again.
  expect(stats('billing.charge').retried).toBe(4);
  expect(effects.correlation.get('o1')).toBe('corr-o1');
  expect(effects.correlation.get('o2')).toBe('corr-o2');
  // audit.record consumes Placed too and got none of it: not even as a duplicate its idempotency skipped.
  expect(stats('audit.record').handled).toBe(auditHandled);
  expect(stats('audit.record').duplicates).toBe(0);
  expect(Object.fromEntries(effects.audit)).toEqual({ o1: 1, o2: 1, o3: 1 });
  const afterReplay = await list('--consumer', 'billing.charge');
  // Kept (--keep on RabbitMQ and NATS; always on Kafka): the 3 originals, plus o3 dead-lettered again.
  expect(counts(afterReplay)).toEqual({
    'billing.charge invalid-json': '1/0',
    'billing.charge retries-exhausted': '4/1',
  });
  const again = JSON.parse((await show(sent.get('o3')!.id, '--json')).stdout) as {
    records: { replayed: string | null; correlationId: string; attempts: number }[];
  };
  const replayedCopy = again.records.find((r) => r.replayed !== null);
  expect(replayedCopy).toMatchObject({ correlationId: 'corr-o3', attempts: 2 });
  expect(Number.isNaN(Date.parse(replayedCopy!.replayed!))).toBe(false);

  // ---- a second replay of the same records changes no effect ---------------------------------------
  const duplicates = stats('billing.charge').duplicates;
  const second = await dlq('replay', '--consumer', 'billing.charge', '--id', o1.id, '--id', sent.get('o2')!.id);
  expect(second.code, second.stderr).toBe(0);
  expect(second.stdout).toContain('replayed 2 dead letters');
  await waitFor(() => stats('billing.charge').duplicates === duplicates + 2, {
    timeoutMs: 60_000,
    what: 'the second replay skipped as duplicates',
  });
  expect(Object.fromEntries(effects.billing)).toEqual({ o1: 1, o2: 1 });
  expect(stats('audit.record')).toMatchObject({ handled: auditHandled, duplicates: 0 });

  // ---- purge: refuses without a terminal and without --yes; --dry-run changes nothing ----------------
  const before = counts(await list());
  const refused = await dlq('purge');
  expect(refused.code).toBe(2);
  expect(refused.stderr).toMatch(/refusing to delete \d+ dead letter\(s\) without --yes/);
  const dryPurge = await dlq('purge', '--dry-run');
  expect(dryPurge.code).toBe(0);
  expect(dryPurge.stdout).toMatch(/would delete \d+ dead letter\(s\)/);
  expect(counts(await list())).toEqual(before);

  if (broker.name !== 'kafka') {
    // One by one: only what the filter selects.
    const some = await dlq('purge', '--consumer', 'billing.charge', '--reason', 'invalid-json', '--yes');
    expect(some.code, some.stderr).toBe(0);
    expect(some.stdout).toContain('deleted 1 dead letter(s): billing.charge (1)');
    expect(counts(await list())).toEqual({ ...before, 'billing.charge invalid-json': undefined });
  } else {
    const single = await dlq('purge', '--reason', 'invalid-json', '--yes');
    expect(single.code).toBe(2);
    expect(single.stderr).toContain('cannot delete single dead letters');
  }
  const all = await dlq('purge', '--yes');
  expect(all.code, all.stderr).toBe(0);
  const empty = await list();
  expect(empty.counts).toEqual([]);
  expect(empty.queues.every((q) => !q.missing)).toBe(true);
  expect(Object.fromEntries(effects.billing)).toEqual({ o1: 1, o2: 1 });
}
