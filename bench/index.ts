/**
 * `npm run bench`: every bench in sequence, then one summary table.
 *
 *   npx tsx bench/index.ts                 # rabbitmq, kafka, nats, outbox, generate
 *   npx tsx bench/index.ts rabbitmq kafka  # a selection, in the order given
 *
 * A bench that fails is reported in the summary and makes the exit code 1; the others still run.
 * Absolute numbers depend on the machine and its load; the ratios, taken side by side in the same
 * process against the raw clients, are what to compare between runs.
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { run as runKafka } from './kafka.js';
import { run as runNats } from './nats.js';
import { outboxSummaryRows, run as runOutbox } from './outbox.js';
import { run as runRabbitmq } from './rabbitmq.js';
import { formatSummary, summaryRows, type SummaryRow } from './support.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** Goal of the generation bench: median wall time of a cold `eventform generate` of the synthetic topology. */
const GENERATE_GOAL_MS = 500;

/**
 * What `bench/generate.ts` may export for the summary: `run()` resolving to the median wall time of
 * a cold generate (and its goal). Without that export the file is run as a script and the median is
 * read from its `median N ms` line.
 */
interface GenerateOutcome {
  medianMs: number;
  goalMs?: number;
}

interface Bench {
  name: string;
  run(): Promise<SummaryRow[]>;
}

const BENCHES: Bench[] = [
  { name: 'rabbitmq', run: async () => summaryRows('rabbitmq', await runRabbitmq()) },
  { name: 'kafka', run: async () => summaryRows('kafka', await runKafka()) },
  { name: 'nats', run: async () => summaryRows('nats', await runNats()) },
  { name: 'outbox', run: async () => outboxSummaryRows(await runOutbox()) },
  { name: 'generate', run: async () => [await runGenerate()] },
];

async function runGenerate(): Promise<SummaryRow> {
  const file = path.join(HERE, 'generate.ts');
  const mod = (await import(pathToFileURL(file).href)) as { run?: () => Promise<GenerateOutcome> };
  let outcome: GenerateOutcome;
  if (typeof mod.run === 'function') {
    outcome = await mod.run();
  } else {
    console.log('\neventform generate (bench/generate.ts)');
    const child = spawnSync(process.execPath, ['--import', 'tsx', file], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    process.stdout.write(child.stdout);
    if (child.status !== 0) throw new Error(`bench/generate.ts exited with ${child.status}`);
    const match = /median ([\d.]+) ms/.exec(child.stdout);
    if (!match) throw new Error('bench/generate.ts printed no "median N ms" line');
    outcome = { medianMs: Number(match[1]) };
  }
  const goalMs = outcome.goalMs ?? GENERATE_GOAL_MS;
  return {
    name: 'generate (cold, median)',
    baseline: '—',
    eventform: `${Math.round(outcome.medianMs)} ms`,
    ratio: '—',
    goal: `≤ ${goalMs} ms`,
    met: outcome.medianMs <= goalMs,
  };
}

async function main(): Promise<number> {
  const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const unknown = wanted.filter((w) => !BENCHES.some((b) => b.name === w));
  if (unknown.length > 0) {
    console.error(`unknown bench: ${unknown.join(', ')} (choose from ${BENCHES.map((b) => b.name).join(', ')})`);
    return 2;
  }
  const selected = wanted.length === 0 ? BENCHES : wanted.map((w) => BENCHES.find((b) => b.name === w)!);
  const cpus = os.cpus();
  console.log(
    `eventform benchmarks — node ${process.version}, ${cpus.length} x ${cpus[0]?.model.trim() ?? 'cpu'}, ` +
      `load average ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
  );

  const rows: SummaryRow[] = [];
  let failed = false;
  for (const bench of selected) {
    try {
      rows.push(...(await bench.run()));
    } catch (error) {
      failed = true;
      const message = error instanceof Error ? error.message : String(error);
      console.error(`\n${bench.name} bench failed: ${message}`);
      rows.push({ name: bench.name, baseline: '—', eventform: 'failed', ratio: '—', goal: '—', met: null });
    }
  }
  console.log(
    `\nSummary (load average now ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')})\n`,
  );
  console.log(formatSummary(rows));
  return failed ? 1 : 0;
}

process.exitCode = await main();
