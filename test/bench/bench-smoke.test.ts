/**
 * Keeps the benches from rotting: both broker comparisons run end to end with tiny counts (every
 * side, both modes, the latency rounds) and must produce positive, finite throughputs, ratios and
 * latencies. The numbers themselves are not checked — that is what `npm run bench` is for.
 */
import { describe, expect, it } from 'vitest';
import { run as runKafka } from '../../bench/kafka.js';
import { run as runRabbitmq } from '../../bench/rabbitmq.js';
import { summaryRows, type ComparisonResult } from '../../bench/support.js';
import { requireRabbitmq } from '../support/brokers.js';
import { requireKafka } from '../support/kafka.js';

const rabbit = await requireRabbitmq();
const kafka = await requireKafka();

const tiny = { messages: 200, rounds: 1, warmup: 20, latency: { rate: 200, messages: 40, rounds: 1 } } as const;

function expectSane(result: ComparisonResult, names: string[]): void {
  expect(result.rows.map((r) => r.name)).toEqual(names);
  for (const row of result.rows) {
    expect(row.rounds).toHaveLength(1);
    expect(Number.isFinite(row.median) && row.median > 0).toBe(true);
    expect(Number.isFinite(row.cpuUsPerMessage) && row.cpuUsPerMessage > 0).toBe(true);
  }
  expect(result.pairs.length).toBeGreaterThanOrEqual(4);
  for (const pair of result.pairs) expect(Number.isFinite(pair.ratio) && pair.ratio > 0).toBe(true);
  expect(result.latency?.rows.map((r) => r.samples)).toEqual([40, 40, 40, 40]);
  for (const pair of result.latency!.pairs) expect(Number.isFinite(pair.ratio) && pair.ratio > 0).toBe(true);
  const summary = summaryRows('x', result);
  expect(summary.filter((r) => r.goal !== '—').length).toBeGreaterThanOrEqual(4);
}

const sides = (client: string) => [
  `raw ${client}, bare`,
  `raw ${client}, binary`,
  `raw ${client}, structured`,
  'eventform, binary',
  'eventform, structured',
];

describe('bench smoke', () => {
  it.skipIf(!rabbit.available)(
    'rabbitmq: every side runs, with finite ratios and latencies',
    async () => {
      const lines: string[] = [];
      const result = await runRabbitmq({ ...tiny, url: rabbit.url, log: (l) => lines.push(l) });
      expectSane(result, sides('amqplib'));
      expect(lines.join('\n')).toMatch(
        /throughput eventform, binary \/ raw amqplib, binary: \d+\.\d\d\s+\(goal ≥ 0\.95/,
      );
      expect(lines.join('\n')).toMatch(
        /p99 latency eventform, binary \/ raw amqplib, binary: \d+\.\d\d\s+\(goal ≤ 1\.2/,
      );
    },
    60_000,
  );

  it.skipIf(!kafka.available)(
    'kafka: every side runs, with finite ratios and latencies',
    async () => {
      const lines: string[] = [];
      const result = await runKafka({ ...tiny, reference: false, brokers: kafka.brokers, log: (l) => lines.push(l) });
      expectSane(result, sides('kafkajs'));
      const text = lines.join('\n');
      expect(text).toMatch(/throughput eventform, structured \/ raw kafkajs, bare: \d+\.\d\d\s+\(goal ≥ 0\.85/);
      expect(text).toMatch(/record decoder installed/);
    },
    60_000,
  );
});
