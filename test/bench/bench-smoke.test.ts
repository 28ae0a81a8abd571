/**
 * Keeps the benches from rotting: both broker comparisons run end to end with tiny counts (no
 * reference rows) and must produce positive, finite throughputs and ratios. The numbers themselves
 * are not checked — that is what `npm run bench` is for.
 */
import { describe, expect, it } from 'vitest';
import { run as runKafka } from '../../bench/kafka.js';
import { run as runRabbitmq } from '../../bench/rabbitmq.js';
import type { ComparisonResult } from '../../bench/support.js';
import { requireRabbitmq } from '../support/brokers.js';
import { requireKafka } from '../support/kafka.js';

const rabbit = await requireRabbitmq();
const kafka = await requireKafka();

const tiny = { messages: 200, rounds: 1, warmup: 20, reference: false };

function expectSane(result: ComparisonResult, baseline: RegExp): void {
  expect(result.rows.map((r) => r.name)).toEqual([expect.stringMatching(baseline), 'eventform runtime']);
  for (const row of result.rows) {
    expect(row.rounds).toHaveLength(1);
    expect(Number.isFinite(row.median) && row.median > 0).toBe(true);
    expect(Number.isFinite(row.cpuUsPerMessage) && row.cpuUsPerMessage > 0).toBe(true);
  }
  expect(Number.isFinite(result.ratio) && result.ratio > 0).toBe(true);
}

describe('bench smoke', () => {
  it.skipIf(!rabbit.available)(
    'rabbitmq: raw amqplib vs the runtime completes with a finite ratio',
    async () => {
      const lines: string[] = [];
      const result = await runRabbitmq({ ...tiny, url: rabbit.url, log: (l) => lines.push(l) });
      expectSane(result, /^raw amqplib$/);
      expect(lines.join('\n')).toMatch(/ratio eventform runtime \/ raw amqplib: \d+\.\d\d/);
    },
    30_000,
  );

  it.skipIf(!kafka.available)(
    'kafka: raw kafkajs vs the runtime completes with a finite ratio',
    async () => {
      const lines: string[] = [];
      const result = await runKafka({ ...tiny, brokers: kafka.brokers, log: (l) => lines.push(l) });
      expectSane(result, /^raw kafkajs, batched$/);
      expect(lines.join('\n')).toMatch(/ratio eventform runtime \/ raw kafkajs, batched: \d+\.\d\d/);
    },
    30_000,
  );
});
