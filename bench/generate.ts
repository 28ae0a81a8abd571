/**
 * Benchmark: cold `eventform generate` on a large synthetic topology.
 *
 *   npx tsx bench/generate.ts [--events 200] [--services 60] [--runs 5]
 *
 * Synthesises a topology of N events and M services (shared schemas reused across events,
 * multi-event consumers, enums, arrays, date-times, nested objects), then runs the real CLI
 * (`node generator/bin/eventform.js generate`, the built code in generator/dist) in a FRESH process
 * per run — loader, generator, ajv standalone compilation, json-schema-to-typescript and the writer
 * included — into an empty directory, and reports wall time, CPU time (user + sys, all threads;
 * less sensitive to a busy machine), files and bytes, and the load average around the runs. A
 * second table breaks one run down by phase, measured on the same built code in a fresh plain-Node
 * process, next to the median and its goal: at most 500 ms median, cold. A third table is
 * `generate --watch` on the shop topology (topology.yaml at the root, copied to a scratch folder):
 * one warm regeneration per edit, measured by the watch itself (load + generate + write), and the
 * time from the edit's write to the end of that regeneration (debounce and fs.watch included);
 * goal: at most 200 ms per regeneration. `run()` is what bench/index.ts calls for its summary. Run
 * `npm run build` first (`npm run bench` does).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

/** A topology with `events` events over `services` services; deterministic. */
export function synthesizeTopology(events: number, services: number): string {
  const lines: string[] = [
    'topology: bench',
    'version: 1',
    'defaults:',
    '  retry: { attempts: 4, backoff: exponential, delay: 100ms, maxDelay: 10s }',
    '  idempotency: { window: 2d }',
    'schemas:',
    '  Money:',
    '    type: object',
    '    required: [amount, currency]',
    '    additionalProperties: false',
    '    properties:',
    '      amount: { type: number, minimum: 0 }',
    '      currency: { type: string, enum: [EUR, USD, GBP, CHF, JPY] }',
    '  Address:',
    '    type: object',
    '    required: [lines, country]',
    '    properties:',
    '      lines: { type: array, minItems: 1, items: { type: string } }',
    '      postcode: { type: string }',
    '      country: { type: string, pattern: "^[A-Z]{2}$" }',
    '  Actor:',
    '    oneOf:',
    '      - { type: object, required: [kind, userId], properties: { kind: { const: user }, userId: { type: string } } }',
    '      - { type: object, required: [kind, system], properties: { kind: { const: system }, system: { type: string } } }',
  ];
  const sharedCount = 12;
  for (let s = 0; s < sharedCount; s++) {
    lines.push(
      `  Part${s}:`,
      '    type: object',
      '    required: [id, at]',
      '    properties:',
      '      id: { type: string }',
      '      at: { type: string, format: date-time }',
      `      price: { $ref: '#/schemas/Money' }`,
      `      tags: { type: array, items: { type: string, maxLength: 40 } }`,
    );
  }
  const eventName = (i: number) => `Thing${String(i).padStart(3, '0')}Changed`;
  lines.push('events:');
  for (let i = 0; i < events; i++) {
    lines.push(
      `  ${eventName(i)}:`,
      `    description: Synthetic event number ${i}.`,
      '    key: entityId',
      '    payload:',
      '      type: object',
      '      required: [entityId, occurredAt, actor, status]',
      '      properties:',
      '        entityId: { type: string }',
      '        occurredAt: { type: string, format: date-time }',
      `        actor: { $ref: '#/schemas/Actor' }`,
      `        status: { type: string, enum: [created, active, suspended, closed] }`,
      `        part: { $ref: '#/schemas/Part${i % sharedCount}' }`,
      `        address: { $ref: '#/schemas/Address' }`,
      '        lines:',
      '          type: array',
      '          items:',
      '            type: object',
      '            required: [sku, quantity]',
      '            properties: { sku: { type: string }, quantity: { type: integer, minimum: 1 }, total: { $ref: "#/schemas/Money" } }',
      `        counter${i}: { type: integer }`,
    );
  }
  lines.push('services:');
  for (let s = 0; s < services; s++) {
    const produces: string[] = [];
    for (let i = s; i < events; i += services) produces.push(eventName(i));
    lines.push(`  service-${String(s).padStart(2, '0')}:`);
    if (produces.length > 0) lines.push(`    produces: [${produces.join(', ')}]`);
    lines.push('    consumes:');
    for (let h = 0; h < 3; h++) {
      const count = 1 + ((s + h) % 4); // 1..4 events per consumer
      const consumed = new Set<string>();
      for (let k = 0; k < count; k++) consumed.add(eventName((s * 7 + h * 13 + k * 31) % events));
      lines.push(`      handle${h}: { event: [${[...consumed].join(', ')}]${h === 2 ? ', concurrency: 4' : ''} }`);
    }
  }
  return lines.join('\n') + '\n';
}

interface Phases {
  importMs: number;
  loadMs: number;
  generateMs: number;
  writeMs: number;
  files: number;
  bytes: number;
}

/**
 * One cold run by phase: an ES module run by plain Node (`node --input-type=module --eval`) in a
 * fresh process on the built code, as the CLI runs it. Arguments: the topology, the output
 * directory and the URL of generator/dist; prints {@link Phases} as JSON.
 */
const PHASES_CHILD = `
const [topology, out, dist] = process.argv.slice(1);
const t0 = performance.now();
const { loadTopology } = await import(dist + '/spec/index.js');
const { generate } = await import(dist + '/generate.js');
const { writeOutput } = await import(dist + '/writer.js');
const t1 = performance.now();
const { ir } = loadTopology(topology);
if (!ir) throw new Error('synthetic topology is invalid');
const t2 = performance.now();
const { files } = await generate(ir);
const t3 = performance.now();
writeOutput(out, files);
const t4 = performance.now();
let bytes = 0;
for (const contents of files.values()) bytes += Buffer.byteLength(contents);
process.stdout.write(JSON.stringify({
  importMs: t1 - t0, loadMs: t2 - t1, generateMs: t3 - t2, writeMs: t4 - t3, files: files.size, bytes,
}));
`;

/**
 * `generate --watch` on the built code in a fresh process: the topology in argv[1] is edited
 * `edits` times (a description changed), each edit written once the previous regeneration ended;
 * prints the watch's own time of each regeneration and the time from the write to its end.
 */
const WATCH_CHILD = `
const [topology, out, dist, edits] = process.argv.slice(1);
const fs = await import('node:fs');
const { watchGenerate } = await import(dist + '/cli/watch.js');
const original = fs.readFileSync(topology, 'utf8');
const controller = new AbortController();
const regenerations = [];
const latencies = [];
let wrote = 0;
let next;
const silent = { stdout: () => {}, stderr: () => {} };
const done = watchGenerate(topology, { out, signal: controller.signal, onRun: (r) => {
  if (r.exitCode !== 0) throw new Error('regeneration failed');
  if (r.n > 1) { regenerations.push(r.ms); latencies.push(performance.now() - wrote); }
  next?.();
} }, silent);
const ran = () => new Promise((resolve) => (next = resolve));
await ran();
for (let i = 1; i <= Number(edits); i++) {
  const waiting = ran();
  wrote = performance.now();
  fs.writeFileSync(topology, original.replace(/description: .*/, 'description: edit ' + i));
  await waiting;
}
controller.abort();
await done;
process.stdout.write(JSON.stringify({ regenerations, latencies }));
`;

interface WatchTimes {
  regenerations: number[];
  latencies: number[];
}

/** Runs {@link WATCH_CHILD} in a fresh process on a copy of the shop topology. */
function measureWatch(work: string, edits: number): WatchTimes {
  const dir = path.join(work, 'watch');
  fs.mkdirSync(dir);
  fs.copyFileSync(path.join(REPO, 'topology.yaml'), path.join(dir, 'topology.yaml'));
  const dist = pathToFileURL(path.join(REPO, 'generator/dist')).href;
  const json = execFileSync(
    process.execPath,
    [
      '--input-type=module',
      '--eval',
      WATCH_CHILD,
      path.join(dir, 'topology.yaml'),
      path.join(dir, 'generated'),
      dist,
      String(edits),
    ],
    { cwd: dir, encoding: 'utf8' },
  );
  return JSON.parse(json) as WatchTimes;
}

/** Goal: a warm `generate --watch` regeneration of the shop topology takes at most this (median). */
const WATCH_GOAL_MS = 200;

/** Runs {@link PHASES_CHILD} in a fresh process. */
function measurePhases(topology: string, out: string): Phases {
  const dist = pathToFileURL(path.join(REPO, 'generator/dist')).href;
  const json = execFileSync(process.execPath, ['--input-type=module', '--eval', PHASES_CHILD, topology, out, dist], {
    cwd: path.dirname(topology),
    encoding: 'utf8',
  });
  return JSON.parse(json) as Phases;
}

function dirStats(dir: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const f of fs.readdirSync(dir, { recursive: true }).map(String)) {
    const stat = fs.statSync(path.join(dir, f));
    if (stat.isFile()) {
      files++;
      bytes += stat.size;
    }
  }
  return { files, bytes };
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const ms = (n: number) => `${n.toFixed(0)} ms`;

/**
 * CPU time (user + sys, all threads) of the children this process has waited for, in ms; from
 * /proc on Linux (USER_HZ ticks, 10 ms resolution), undefined elsewhere.
 */
function childrenCpuMs(): number | undefined {
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[13]) + Number(fields[14])) * 1000) / 100; // cutime + cstime
  } catch {
    return undefined;
  }
}

interface Timed {
  wall: number;
  cpu: number | undefined;
  status: number | null;
  stderr: string;
}

/** Runs the CLI in a fresh process; wall and CPU time of that process. */
function runCli(args: string[], cwd: string): Timed {
  const cpu0 = childrenCpuMs();
  const start = performance.now();
  const r = spawnSync(process.execPath, [path.join(REPO, 'generator/bin/eventform.js'), ...args], {
    cwd,
    encoding: 'utf8',
  });
  const wall = performance.now() - start;
  const cpu1 = childrenCpuMs();
  return {
    wall,
    cpu: cpu0 === undefined || cpu1 === undefined ? undefined : cpu1 - cpu0,
    status: r.status,
    stderr: r.stderr,
  };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

/** Goal: the median wall time of the cold runs is at most this. */
const GOAL_MS = 500;

/**
 * Runs the benchmark and prints its tables; resolves to the median wall time of the cold runs
 * (what bench/index.ts puts in its summary).
 */
export async function run({ events = 200, services = 60, runs = 5 } = {}): Promise<{
  medianMs: number;
  goalMs: number;
  /** Median warm `generate --watch` regeneration of the shop topology. */
  watchMedianMs: number;
  watchGoalMs: number;
}> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'eventform-bench-'));
  try {
    const topology = path.join(work, 'topology.yaml');
    fs.writeFileSync(topology, synthesizeTopology(events, services));
    console.log(
      `eventform generate: ${events} events, ${services} services (fresh process per run, CLI via generator/bin/eventform.js)`,
    );
    console.log(`${os.cpus().length} cores; load average ${load()} at the start\n`);

    const rows: string[][] = [];
    const walls: number[] = [];
    const cpus: number[] = [];
    let stats = { files: 0, bytes: 0 };
    const cpuText = (t: Timed) => (t.cpu === undefined ? '-' : ms(t.cpu));
    for (let run = 1; run <= runs; run++) {
      const out = path.join(work, `out-${run}`);
      const t = runCli(['generate', topology, '--out', out], work);
      if (t.status !== 0) throw new Error(`generate failed (${t.status}):\n${t.stderr}`);
      stats = dirStats(out);
      walls.push(t.wall);
      if (t.cpu !== undefined) cpus.push(t.cpu);
      rows.push([
        `cold #${run}`,
        ms(t.wall),
        cpuText(t),
        String(stats.files),
        `${(stats.bytes / 1024).toFixed(0)} KiB`,
      ]);
    }
    // Up to date: the same command again over the last output (nothing written).
    const same = runCli(['generate', topology, '--out', path.join(work, `out-${runs}`)], work);
    rows.push(['cold, output up to date', ms(same.wall), cpuText(same), String(stats.files), '0 written']);

    console.log(table(['run', 'wall', 'cpu', 'files', 'bytes'], rows));
    const medianMs = median(walls);
    const verdict = medianMs <= GOAL_MS ? 'met' : 'NOT met';
    console.log(
      `\nmedian ${ms(medianMs)} wall${cpus.length ? `, ${ms(median(cpus))} CPU (user+sys, all threads)` : ''}; ` +
        `best ${ms(Math.min(...walls))}; goal: at most ${GOAL_MS} ms median (${verdict})`,
    );
    console.log(`load average ${load()} at the end`);

    const p = measurePhases(topology, path.join(work, 'out-phases'));
    console.log('\none cold run by phase (built code, fresh plain-Node process), next to the median and its goal:\n');
    console.log(
      table(
        ['phase', 'time'],
        [
          ['import', ms(p.importMs)],
          ['load + validate', ms(p.loadMs)],
          ['generate', ms(p.generateMs)],
          ['write', ms(p.writeMs)],
          ['total in process', ms(p.importMs + p.loadMs + p.generateMs + p.writeMs)],
          ['median cold run (CLI, wall)', ms(medianMs)],
          ['goal (median)', `≤ ${ms(GOAL_MS)}`],
        ],
      ),
    );
    console.log(`\n${p.files} files, ${(p.bytes / 1024).toFixed(0)} KiB`);

    const edits = 15;
    const watch = measureWatch(work, edits);
    const watchMedianMs = median(watch.regenerations);
    console.log(`\ngenerate --watch, shop topology (topology.yaml), ${edits} edits, one regeneration each:\n`);
    console.log(
      table(
        ['watch regeneration', 'median', 'max'],
        [
          ['load + generate + write', ms(watchMedianMs), ms(Math.max(...watch.regenerations))],
          ['edit written → output written', ms(median(watch.latencies)), ms(Math.max(...watch.latencies))],
          ['goal (median regeneration)', `≤ ${ms(WATCH_GOAL_MS)}`, ''],
        ],
      ),
    );
    console.log(`watch regeneration goal: ${watchMedianMs <= WATCH_GOAL_MS ? 'met' : 'NOT met'}`);
    return { medianMs, goalMs: GOAL_MS, watchMedianMs, watchGoalMs: WATCH_GOAL_MS };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  await run({ events: arg('events', 200), services: arg('services', 60), runs: arg('runs', 5) });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) await main();
