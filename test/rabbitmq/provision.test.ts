/** provisionRabbitmq and `eventform provision` against the real broker. */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { loadTopology } from '../../generator/src/spec/index.js';
import type { TopologyIR } from '../../runtime/core/src/ir.js';
import { provisionRabbitmq, type PlanItem } from '@eventform/rabbitmq';
import { requireRabbitmq } from '../support/brokers.js';
import { adminConnection, deleteTopology } from './broker-admin.js';
import { buildTopology, uniqueName } from './fixtures.js';

const exec = promisify(execFile);
const rabbit = await requireRabbitmq();

async function queueExists(name: string): Promise<boolean> {
  const conn = await adminConnection(rabbit.url);
  try {
    const ch = await conn.createChannel();
    ch.on('error', () => {});
    await ch.checkQueue(name);
    await ch.close();
    return true;
  } catch {
    return false;
  } finally {
    await conn.close().catch(() => {});
  }
}

async function createClassicQueue(name: string): Promise<void> {
  const conn = await adminConnection(rabbit.url);
  try {
    const ch = await conn.createChannel();
    await ch.assertQueue(name, { durable: true, arguments: { 'x-queue-type': 'classic' } });
    await ch.close();
  } finally {
    await conn.close().catch(() => {});
  }
}

const actions = (plan: PlanItem[]): string[] => [...new Set(plan.map((p) => p.action))].sort();

describe.skipIf(!rabbit.available)('provisionRabbitmq (real broker)', () => {
  const toDelete: TopologyIR[] = [];
  afterEach(async () => {
    for (const ir of toDelete.splice(0)) await deleteTopology(rabbit.url, ir);
  });

  function topology(): TopologyIR {
    const ir = buildTopology({
      name: 'prov',
      events: [{ name: 'OrderCreated' }, { name: 'PaymentFailed' }],
      consumers: [
        { service: 'stock', handler: 'reserve', events: ['OrderCreated'], attempts: 3, delayMs: 100 },
        { service: 'order', handler: 'cancel', events: ['OrderCreated', 'PaymentFailed'], attempts: 1 },
      ],
    });
    toDelete.push(ir);
    return ir;
  }

  it('dry run plans every resource as create and changes nothing', async () => {
    const ir = topology();
    const plan = await provisionRabbitmq(ir, { url: rabbit.url, dryRun: true });
    expect(actions(plan)).toEqual(['create']);
    expect(plan.filter((p) => p.kind === 'queue')).toHaveLength(6); // 2 main + 2 retry tiers + 2 DLQs
    expect(plan.filter((p) => p.kind === 'binding')).toHaveLength(3);
    expect(await queueExists(ir.consumers[0]!.rabbitmq.queue)).toBe(false);
  });

  it('creates, then reports everything unchanged on the second run', async () => {
    const ir = topology();
    const first = await provisionRabbitmq(ir, { url: rabbit.url });
    expect(actions(first)).toEqual(['create']);
    for (const c of ir.consumers) expect(await queueExists(c.rabbitmq.queue)).toBe(true);
    const second = await provisionRabbitmq(ir, { url: rabbit.url });
    expect(actions(second)).toEqual(['unchanged']);
    expect(second.map((p) => p.name)).toEqual(first.map((p) => p.name));
  });

  it('reports a queue with other arguments as a conflict, with the broker message, and changes nothing', async () => {
    const ir = topology();
    const reserve = ir.consumers.find((c) => c.id === 'stock.reserve')!;
    await createClassicQueue(reserve.rabbitmq.queue);

    const plan = await provisionRabbitmq(ir, { url: rabbit.url });
    const conflict = plan.find((p) => p.action === 'conflict');
    expect(conflict).toMatchObject({ kind: 'queue', name: reserve.rabbitmq.queue });
    expect(conflict!.detail).toMatch(/PRECONDITION_FAILED.*x-queue-type/);
    expect(plan.filter((p) => p.action === 'conflict')).toHaveLength(1);
    // Check-all-then-apply: the missing resources were NOT created.
    expect(await queueExists(reserve.rabbitmq.deadLetterQueue!)).toBe(false);
    expect(await queueExists(ir.consumers.find((c) => c.id === 'order.cancel')!.rabbitmq.queue)).toBe(false);
  });

  it('rejects with BrokerUnavailableError when the broker cannot be reached', async () => {
    const ir = topology();
    await expect(provisionRabbitmq(ir, { url: 'amqp://guest:guest@127.0.0.1:1' })).rejects.toMatchObject({
      name: 'BrokerUnavailableError',
    });
  });
});

describe.skipIf(!rabbit.available)('eventform provision (generator/bin/eventform.js)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ef-provision-'));
  const name = uniqueName('cli-prov');
  const file = path.join(dir, 'topology.yaml');
  writeFileSync(
    file,
    [
      `topology: ${name}`,
      'version: 1',
      'events:',
      '  Ping:',
      '    payload: { type: object }',
      'services:',
      '  pinger:',
      '    produces: [Ping]',
      '  ponger:',
      '    consumes:',
      '      onPing: { event: Ping }',
      '',
    ].join('\n'),
  );
  const loaded = loadTopology(file);
  afterAll(async () => {
    if (loaded.ir) await deleteTopology(rabbit.url, loaded.ir);
    rmSync(dir, { recursive: true, force: true });
  });

  const bin = path.join(import.meta.dirname, '../../generator/bin/eventform.js');
  async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await exec('node', [bin, 'provision', file, ...args], {
        timeout: 60_000,
      });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  }

  it('creates (exit 0), is idempotent (exit 0), reports a conflict (exit 1) and an unreachable broker (exit 4)', async () => {
    expect(loaded.ir).not.toBeNull();
    const ir = loaded.ir!;

    const withUrl = (...args: string[]): string[] => ['--url', rabbit.url, ...args];
    const dry = await cli(...withUrl('--dry-run'));
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/create\s+queue\s+\S+ponger\.onPing\s/);
    expect(dry.stdout).toContain('dry run');

    const created = await cli(...withUrl('--format', 'json'));
    expect(created.code).toBe(0);
    const report = JSON.parse(created.stdout) as { applied: boolean; summary: Record<string, number> };
    expect(report.applied).toBe(true);
    expect(report.summary.create).toBeGreaterThan(0);

    const again = await cli(...withUrl());
    expect(again.code).toBe(0);
    expect(again.stdout).not.toMatch(/^\s+create\s/m);
    expect(again.stdout).toContain('up to date');

    // Someone re-creates the DLQ as a classic queue: conflict, exit 1, still classic afterwards.
    const dlq = ir.consumers[0]!.rabbitmq.deadLetterQueue!;
    const conn = await adminConnection(rabbit.url);
    const ch = await conn.createChannel();
    await ch.deleteQueue(dlq);
    await ch.assertQueue(dlq, { durable: true, arguments: { 'x-queue-type': 'classic' } });
    await conn.close();
    const conflict = await cli(...withUrl());
    expect(conflict.code).toBe(1);
    expect(conflict.stdout).toMatch(/conflict\s+queue\s+\S+\.dlq\s+PRECONDITION_FAILED/);
    expect(conflict.stdout).toContain('nothing was changed');
    expect(await queueExists(dlq)).toBe(true);

    const down = await cli('--url', 'amqp://guest:guest@127.0.0.1:1');
    expect(down.code).toBe(4); // EXIT.unavailable
    expect(down.stderr).toMatch(/cannot connect to RabbitMQ/);
    expect(down.stderr).not.toMatch(/\n\s+at /); // no stack trace for a user-facing error
  }, 120_000);
});
