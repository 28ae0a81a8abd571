/**
 * Fault test: a private `nats-server` (private-nats.ts) is killed with SIGKILL while events are
 * published and consumed, and started again on the same store a second later. Two consumer runtimes
 * share one idempotency store (the "database" of the effects); the publisher retries a failed
 * publish with the same event id. Nothing may be lost (every event has its effect) and nothing
 * handled twice in effect (no event has two).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createMemoryStore, createRuntime } from '@eventform/runtime';
import type { Handler, Runtime } from '@eventform/runtime';
import { uniqueTopologyName } from '@eventform/runtime/testing';
import { topologyFromDocument } from '../../generator/src/spec/index.js';
import { privateNats } from './private-nats.js';
import { testLogger, testTransport } from './helpers.js';

const server = await privateNats();
afterAll(() => server.dispose());

const TOTAL = 600;
const TEST_TIMEOUT_MS = 180_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!server.available)('NATS: the server killed mid-flow', () => {
  it(
    'loses nothing and handles nothing twice in effect',
    async () => {
      await server.start();
      const topology = topologyFromDocument({
        topology: uniqueTopologyName('nfault'),
        version: 1,
        events: {
          Tick: {
            key: 'key',
            payload: {
              type: 'object',
              required: ['key', 'n'],
              properties: { key: { type: 'string' }, n: { type: 'integer' } },
            },
          },
        },
        services: {
          source: { produces: ['Tick'] },
          sink: {
            consumes: {
              record: { event: 'Tick', concurrency: 4, retry: { attempts: 10, delay: '200ms', maxDelay: '2s' } },
            },
          },
        },
      });
      const logger = testLogger();
      const store = createMemoryStore();
      const effects = new Map<string, number>();
      let invocations = 0;
      const handler: Handler = async (e) => {
        invocations++;
        await sleep(2);
        effects.set(e.id, (effects.get(e.id) ?? 0) + 1);
      };
      const runtimes: Runtime[] = [];
      for (let i = 0; i < 2; i++) {
        const runtime = createRuntime({
          topology,
          transport: testTransport(server.url, { logger, requestTimeoutMs: 5_000 }),
          logger,
          idempotencyStore: store,
        });
        runtime.handle('sink.record', handler);
        runtimes.push(runtime);
      }
      const publisher = createRuntime({ topology, transport: testTransport(server.url, { logger }), logger });
      runtimes.push(publisher);
      const chaos: string[] = [];
      const started = Date.now();
      const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
      try {
        await Promise.all(runtimes.map((r) => r.start()));
        const ids = Array.from({ length: TOTAL }, () => randomUUID());
        let published = 0;
        let publishRetries = 0;
        const publishOne = async (n: number): Promise<void> => {
          for (;;) {
            try {
              await publisher.publish('source', 'Tick', { key: `k${n % 37}`, n }, { id: ids[n] });
              published++;
              return;
            } catch (error) {
              publishRetries++;
              if (Date.now() - started > TEST_TIMEOUT_MS - 30_000) throw error;
              await sleep(250);
            }
          }
        };
        const publishing = (async () => {
          for (let n = 0; n < TOTAL; n += 20) {
            await Promise.all(Array.from({ length: Math.min(20, TOTAL - n) }, (_, i) => publishOne(n + i)));
            await sleep(40);
          }
        })();
        const crash = async (label: string, atPublished: number) => {
          while (published < atPublished) await sleep(20);
          chaos.push(`${elapsed()} ${label}: kill -9 (published ${published}, effects ${effects.size})`);
          const before = effects.size;
          await server.kill();
          await sleep(1_000);
          await server.start();
          chaos.push(`${elapsed()} ${label}: server back`);
          return before;
        };
        const first = await crash('crash 1', Math.floor(TOTAL * 0.25));
        const second = await crash('crash 2', Math.floor(TOTAL * 0.65));
        await publishing;
        chaos.push(`${elapsed()} all ${TOTAL} published (${publishRetries} publish retries)`);
        const deadline = started + TEST_TIMEOUT_MS - 15_000;
        while (effects.size < TOTAL && Date.now() < deadline) await sleep(200);
        await sleep(2_000); // anything late (a second effect) has time to show up
        const health = runtimes.slice(0, 2).map((r) => r.health().consumers.find((c) => c.id === 'sink.record')!);
        const twice = [...effects].filter(([, count]) => count > 1).map(([id]) => id);
        const missing = ids.filter((id) => !effects.has(id));
        process.stdout.write(
          `\n[nats fault test]\n  ${[
            ...chaos,
            `effects ${effects.size} distinct, ${[...effects.values()].reduce((a, b) => a + b, 0)} in all; handler invocations ${invocations}`,
            `duplicates skipped ${health.reduce((n, c) => n + c.duplicates, 0)}, retried ${health.reduce((n, c) => n + c.retried, 0)}, dead-lettered ${health.reduce((n, c) => n + c.deadLettered, 0)}`,
            `warnings logged: ${logger.lines.length}`,
          ].join('\n  ')}\n\n`,
        );
        expect(first, 'crash 1 happened mid-flow').toBeLessThan(TOTAL);
        expect(second, 'crash 2 happened mid-flow').toBeLessThan(TOTAL);
        expect(missing, 'events without an effect').toEqual([]);
        expect(twice, 'events with two effects').toEqual([]);
        expect(
          health.reduce((n, c) => n + c.deadLettered, 0),
          'dead-lettered',
        ).toBe(0);
      } finally {
        await Promise.all(runtimes.map((r) => r.stop({ timeoutMs: 2_000 }).catch(() => undefined)));
      }
    },
    TEST_TIMEOUT_MS,
  );
});
