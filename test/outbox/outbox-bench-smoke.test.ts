/**
 * Keeps the outbox bench from rotting: both sides run end to end with tiny counts on the real
 * RabbitMQ and PostgreSQL (the bench itself checks every outbox row was published), and the result
 * has finite throughputs, a ratio, latencies and the summary rows, with the consumer in the bench's
 * own process (the default) and in a child process. The numbers are not checked —
 * that is what `npm run bench` is for.
 */
import { describe, expect, it } from 'vitest';
import { DIRECT_SIDE, OUTBOX_SIDE, outboxSummaryRows, run } from '../../bench/outbox.js';
import { requirePostgres, requireRabbitmq } from '../support/brokers.js';

const rabbit = await requireRabbitmq();
const postgres = await requirePostgres();

describe.skipIf(!rabbit.available || !postgres.available)('outbox bench smoke', () => {
  it('both sides run, with a finite ratio, latencies and summary rows', async () => {
    const lines: string[] = [];
    const result = await run({
      url: rabbit.url,
      databaseUrl: postgres.url,
      messages: 100,
      rounds: 1,
      warmup: 20,
      inFlight: 8,
      latency: { rate: 200, messages: 40, rounds: 1 },
      log: (l) => lines.push(l),
    });
    expect(result.rows.map((r) => r.name)).toEqual([DIRECT_SIDE, OUTBOX_SIDE]);
    for (const row of result.rows) expect(Number.isFinite(row.median) && row.median > 0).toBe(true);
    expect(result.pairs).toHaveLength(1);
    expect(Number.isFinite(result.pairs[0]!.ratio) && result.pairs[0]!.ratio > 0).toBe(true);
    expect(result.latency?.rows.map((r) => r.samples)).toEqual([40, 40]);
    expect(result.latencyGoal?.goalMs).toBe(50);
    expect(outboxSummaryRows(result).map((r) => r.goal)).toEqual(['≥ 0.7', 'p99 ≤ 50 ms']);
    // 20 warm-up + 100 measured + 40 latency warm-up + 40 measured went through the outbox.
    expect(lines.join('\n')).toContain('200 outbox rows checked: all published');
    expect(lines.join('\n')).toContain('consumer: a second runtime in this process');
  }, 120_000);

  it('runs with the consumer in a child process too', async () => {
    const lines: string[] = [];
    const result = await run({
      url: rabbit.url,
      databaseUrl: postgres.url,
      messages: 50,
      rounds: 1,
      warmup: 10,
      inFlight: 8,
      latency: { rate: 200, messages: 20, rounds: 1 },
      consumer: 'process',
      log: (l) => lines.push(l),
    });
    expect(result.latency?.rows.map((r) => r.samples)).toEqual([20, 20]);
    expect(lines.join('\n')).toContain('consumer: a second runtime in a child process');
  }, 120_000);
});
