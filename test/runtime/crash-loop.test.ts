/**
 * A message whose handler takes its process down every time must not loop forever: past
 * `maxDeliveries` deliveries without an outcome, the runtime dead-letters it (`redelivery-limit`)
 * without running the handler again, and the consumer goes on with the next message.
 */
import { describe, expect, it } from 'vitest';
import { MemoryBroker, MemoryTransport, createRuntime, readDeadLetter, silentLogger } from '@eventform/runtime';
import type { TopologyIR } from '@eventform/runtime';
import { uniqueTopologyName, waitFor } from '@eventform/runtime/testing';
import { topologyFromDocument } from '../../generator/src/spec/index.js';

function topology(): TopologyIR {
  return topologyFromDocument({
    topology: uniqueTopologyName('loop'),
    events: { JobQueued: { payload: { type: 'object', required: ['n'], properties: { n: { type: 'integer' } } } } },
    services: { api: { produces: ['JobQueued'] }, worker: { consumes: { run: { event: 'JobQueued' } } } },
  });
}

describe('crash loops', () => {
  it('dead-letters a message after maxDeliveries crashed deliveries and keeps consuming', async () => {
    const t = topology();
    const broker = new MemoryBroker();
    const maxDeliveries = 3;
    let handlerRuns = 0;
    const handled: number[] = [];

    // Each "process" runs the handler, which for n=1 never finishes: the process dies mid-handler.
    const startProcess = async () => {
      const transport = new MemoryTransport({ broker });
      let entered!: () => void;
      const poisonEntered = new Promise<void>((r) => (entered = r));
      const runtime = createRuntime({ topology: t, transport, logger: silentLogger, maxDeliveries });
      runtime.handle('worker.run', async (event) => {
        const n = (event.data as { n: number }).n;
        handlerRuns++;
        if (n === 1) {
          entered();
          await new Promise(() => {}); // the crash: no outcome ever
        }
        handled.push(n);
      });
      await runtime.start();
      return { runtime, transport, poisonEntered };
    };

    const first = await startProcess();
    await first.runtime.publish('api', 'JobQueued', { n: 1 });
    await first.runtime.publish('api', 'JobQueued', { n: 2 });
    await first.poisonEntered;
    first.transport.crash('worker.run');

    // Deliveries 2 and 3 crash too; the 4th is past the limit and never reaches the handler.
    let last = first.transport;
    for (let delivery = 2; delivery <= maxDeliveries; delivery++) {
      const p = await startProcess();
      await p.poisonEntered;
      p.transport.crash('worker.run');
      last = p.transport;
    }
    const survivor = await startProcess();
    await waitFor(() => handled.includes(2), { timeoutMs: 5_000 });

    expect(handlerRuns).toBe(maxDeliveries + 1); // 3 crashed runs of n=1, one run of n=2
    const dead = survivor.transport.deadLetters('worker.run').map(readDeadLetter);
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ reason: 'redelivery-limit', consumer: 'worker.run' });
    expect(dead[0]!.error).toMatch(/Delivered 4 times without an outcome/);
    expect(last).not.toBe(survivor.transport);
    await survivor.runtime.stop();
  });

  it('leaves messages alone below the limit', async () => {
    const t = topology();
    const broker = new MemoryBroker();
    const transport = new MemoryTransport({ broker });
    const runtime = createRuntime({ topology: t, transport, logger: silentLogger, maxDeliveries: 2 });
    const seen: number[] = [];
    let crashOnce = true;
    let entered!: () => void;
    const firstRun = new Promise<void>((r) => (entered = r));
    runtime.handle('worker.run', async (event) => {
      if (crashOnce) {
        crashOnce = false;
        entered();
        await new Promise(() => {});
      }
      seen.push((event.data as { n: number }).n);
    });
    await runtime.start();
    await runtime.publish('api', 'JobQueued', { n: 7 });
    await firstRun;
    transport.crash('worker.run');
    const next = new MemoryTransport({ broker });
    const again = createRuntime({ topology: t, transport: next, logger: silentLogger, maxDeliveries: 2 });
    again.handle('worker.run', async (event) => void seen.push((event.data as { n: number }).n));
    await again.start();
    await waitFor(() => seen.length === 1, { timeoutMs: 5_000 });
    expect(seen).toEqual([7]);
    expect(next.deadLetters('worker.run')).toHaveLength(0);
    await again.stop();
  });
});
