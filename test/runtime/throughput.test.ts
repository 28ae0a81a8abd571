import { describe, expect, it } from 'vitest';
import { measureThroughput } from './throughput.js';

// The target is ≥ 20k deliveries/s through the runtime on the memory transport. CPU time is
// measured, not wall time, so a machine busy with other work does not fail the test; the floor
// sits below the target to leave room for slower CI hardware, yet fails on a real regression.
describe('memory transport throughput', () => {
  it('handles ≥ 10k deliveries per CPU-second (validation, idempotency and envelopes on)', async () => {
    const result = await measureThroughput({
      messages: 20_000,
      consumers: 1,
      concurrency: 8,
      awaitEach: false,
      keys: 100,
    });
    console.log(
      `[throughput] ${result.scenario}: ${result.deliveriesPerSecond}/s wall, ${result.deliveriesPerCpuSecond}/CPU-s`,
    );
    expect(result.deliveries).toBe(20_000);
    expect(result.deliveriesPerCpuSecond).toBeGreaterThan(10_000);
  }, 120_000);
});
