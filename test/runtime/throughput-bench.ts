import { loadavg } from 'node:os';
import { measureThroughput } from './throughput.js';

const scenarios = [
  { messages: 100_000, consumers: 1, concurrency: 1, awaitEach: true, keys: 100 },
  { messages: 100_000, consumers: 1, concurrency: 8, awaitEach: false, keys: 100 },
  { messages: 50_000, consumers: 3, concurrency: 8, awaitEach: false, keys: 1_000 },
];
for (const s of scenarios) {
  const r = await measureThroughput(s);
  console.log(
    `${r.scenario}: ${r.deliveries} deliveries in ${r.ms} ms wall → ${r.deliveriesPerSecond.toLocaleString('en')}/s; ` +
      `${r.cpuMs} ms CPU → ${r.deliveriesPerCpuSecond.toLocaleString('en')}/CPU-s`,
  );
}
console.log(
  `load average: ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
