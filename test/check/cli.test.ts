/**
 * The real CLI (`node generator/bin/eventform.js check ...`) in temporary git repositories: --against a
 * git ref (old topology and its external schema file read with `git show`), --against a file,
 * usage errors, --strict, the three output formats, and drift of committed generated code.
 */
import { execFile, execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckResult } from '../../generator/src/check/run-check.js';
import { CLI, shop, toYaml } from './helpers.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], cwd: string): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.FORCE_COLOR;
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd, env, timeout: 90_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=check-test', '-c', 'user.email=check@test', ...args], {
    cwd,
    encoding: 'utf8',
  });
}

/** 1-based line of the first line of `text` matching `re`. */
function lineOf(text: string, re: RegExp): number {
  const i = text.split('\n').findIndex((l) => re.test(l));
  if (i < 0) throw new Error(`no line matches ${re}`);
  return i + 1;
}

const MONEY_OLD = {
  type: 'object',
  required: ['amount', 'currency'],
  properties: { amount: { type: 'number', minimum: 0 }, currency: { type: 'string', enum: ['EUR', 'USD', 'CNY'] } },
};

/** The shop with Money in an external file, so the old side must read two files from git. */
function oldShop() {
  const d = shop();
  delete d.schemas.Money;
  d.events.OrderCreated.payload.properties.total = { $ref: './schemas/money.json' };
  return d;
}

/** Breaking: CNY dropped from Money, InventoryShortage removed (consumed), a consumer removed. */
function newShop() {
  const d = oldShop();
  d.events.OrderCreated.examples[0].total.currency = 'EUR';
  delete d.events.InventoryShortage;
  d.services['inventory-service'].produces = ['InventoryReserved'];
  d.services['order-service'].consumes.cancelOrder.event = ['PaymentFailed'];
  delete d.services['inventory-service'].consumes.releaseStock;
  return d;
}

const tmp: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'eventform-check-'));
  tmp.push(dir);
  return dir;
}

afterAll(() => {
  for (const d of tmp) rmSync(d, { recursive: true, force: true });
});

describe('eventform check --against (real CLI, temporary git repository)', () => {
  let repo: string;
  let newText: string;
  const runs: Record<string, Run> = {};

  beforeAll(async () => {
    repo = tempDir();
    git(repo, 'init', '-q');
    mkdirSync(path.join(repo, 'schemas'));
    writeFileSync(path.join(repo, 'schemas/money.json'), JSON.stringify(MONEY_OLD, null, 2));
    writeFileSync(path.join(repo, 'topology.yaml'), toYaml(oldShop()));
    git(repo, 'add', '-A');
    git(repo, 'commit', '-qm', 'old topology');
    // An untracked copy for the file form; its external schema is read from next to it.
    mkdirSync(path.join(repo, 'old/schemas'), { recursive: true });
    writeFileSync(path.join(repo, 'old/schemas/money.json'), JSON.stringify(MONEY_OLD, null, 2));
    writeFileSync(path.join(repo, 'old/topology.yaml'), toYaml(oldShop()));

    const money = structuredClone(MONEY_OLD);
    money.properties.currency.enum = ['EUR', 'USD'];
    writeFileSync(path.join(repo, 'schemas/money.json'), JSON.stringify(money, null, 2));
    newText = toYaml(newShop());
    writeFileSync(path.join(repo, 'topology.yaml'), newText);
    git(repo, 'commit', '-qam', 'breaking change');

    // Independent runs, in parallel to keep the file fast.
    const [text, json, github, file, same, badRef, missing] = await Promise.all([
      cli(['check', '--against', 'HEAD~1'], repo),
      cli(['check', '--against', 'HEAD~1', '--format', 'json'], repo),
      cli(['check', '--against', 'HEAD~1', '--format', 'github'], repo),
      cli(['check', '--against', 'old/topology.yaml', '--format', 'json'], repo),
      cli(['check', '--against', 'HEAD', '--format', 'json'], repo),
      cli(['check', '--against', 'no-such-branch'], repo),
      cli(['check', 'nope.yaml'], repo),
    ]);
    Object.assign(runs, { text, json, github, file, same, badRef, missing });
  }, 180_000);

  it('text: grouped by step, findings with rule, event and pointer, a summary; exit 1', () => {
    const r = runs.text!;
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/--against HEAD~1 \([0-9a-f]{7}\)/);
    expect(r.stdout).toMatch(
      /^✗ compatibility +1 event with incompatible changes|^✗ compatibility .*1 event with incompatible changes/m,
    );
    expect(r.stdout).toMatch(
      /error EFC120 enum-value-removed {2}OrderCreated \/properties\/total\/properties\/currency\/enum \(breaks backward; mode backward\)/,
    );
    expect(r.stdout).toContain('value "CNY" no longer allowed: new consumers would reject');
    expect(r.stdout).toMatch(/^✗ topology-changes/m);
    expect(r.stdout).toMatch(/error EFC201 event-removed {2}InventoryShortage/);
    expect(r.stdout).toMatch(/warning EFC207 consumer-removed {2}inventory-service\.releaseStock/);
    expect(r.stdout).toMatch(/^- drift +skipped: no generated output/m);
    expect(r.stdout).toMatch(/^✗ check failed: 2 errors, \d+ warnings, 0 unknown \(2 of 6 steps failed\)$/m);
  });

  it('json: stable structure with every step and typed findings', () => {
    const r = runs.json!;
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as CheckResult;
    expect(out.ok).toBe(false);
    expect(out.steps.map((s) => [s.name, s.status])).toEqual([
      ['validate', 'warn'],
      ['drift', 'skip'],
      ['examples', 'pass'],
      ['graph', 'pass'],
      ['compatibility', 'fail'],
      ['topology-changes', 'fail'],
    ]);
    const compat = out.steps.find((s) => s.name === 'compatibility')!;
    expect(compat.findings).toEqual([
      expect.objectContaining({
        rule: 'EFC120',
        name: 'enum-value-removed',
        severity: 'error',
        event: 'OrderCreated',
        pointer: '/properties/total/properties/currency/enum',
        direction: 'backward',
        mode: 'backward',
        file: 'topology.yaml',
        // Money lives in an external file: the annotation lands on the `total:` that refers to it.
        line: lineOf(newText, /^\s+total:/),
      }),
    ]);
    const topo = out.steps.find((s) => s.name === 'topology-changes')!;
    expect(topo.findings.map((f) => [f.rule, f.severity, f.event ?? f.consumer])).toEqual([
      ['EFC201', 'error', 'InventoryShortage'],
      ['EFC207', 'warning', 'inventory-service.releaseStock'],
    ]);
    // The removed event's old location means nothing now: it points at the `events:` key.
    expect(topo.findings[0]).toMatchObject({ file: 'topology.yaml', line: lineOf(newText, /^events:/), col: 1 });
  });

  it('github: ::error/::warning annotations at the new topology locations', () => {
    const r = runs.github!;
    expect(r.code).toBe(1);
    const lines = r.stdout.split('\n');
    const totalLine = lineOf(newText, /^\s+total:/);
    expect(lines).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^::error file=topology\\.yaml,line=${totalLine},col=\\d+,title=EFC120::enum-value-removed: OrderCreated /properties/total/properties/currency/enum: value "CNY" no longer allowed`,
        ),
      ),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(
        new RegExp(`^::error file=topology\\.yaml,line=${lineOf(newText, /^events:/)},col=1,title=EFC201::`),
      ),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(/^::warning file=topology\.yaml,line=\d+,col=\d+,title=EFC207::/),
    );
    expect(lines).toContainEqual(expect.stringMatching(/^::notice title=eventform check%3A drift::skipped: /));
    expect(lines.at(-2)).toMatch(/^check failed: 2 errors/);
  });

  it('accepts a file path and finds the same breaks', () => {
    const r = runs.file!;
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as CheckResult;
    expect(out.against).toBe('old/topology.yaml');
    const rules = out.steps.flatMap((s) => s.findings.filter((f) => f.rule.startsWith('EFC')).map((f) => f.rule));
    expect(rules).toEqual(['EFC120', 'EFC201', 'EFC207']);
  });

  it('passes against itself', () => {
    const r = runs.same!;
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as CheckResult;
    expect(out.ok).toBe(true);
    expect(out.steps.find((s) => s.name === 'compatibility')!.status).toBe('pass');
    expect(out.steps.find((s) => s.name === 'topology-changes')!.status).toBe('pass');
  });

  it('exits 2 when --against is neither a file nor a git revision', () => {
    expect(runs.badRef!.code).toBe(2);
    expect(runs.badRef!.stderr).toContain("--against 'no-such-branch' is neither an existing file nor a git revision");
    expect(runs.badRef!.stderr).not.toMatch(/\bat .*\.ts:\d+/); // no stack trace
  });

  it('exits 2 when the topology does not exist', () => {
    expect(runs.missing!.code).toBe(2);
    expect(runs.missing!.stderr).toContain("topology 'nope.yaml' does not exist");
  });

  it('--strict fails on warnings that otherwise pass', async () => {
    // Old = new + one more consumer: removing it is a warning only.
    const old = newShop();
    old.services['inventory-service'].consumes.auditStock = { event: 'OrderCreated' };
    writeFileSync(path.join(repo, 'with-extra-consumer.yaml'), toYaml(old));
    const [loose, strict] = await Promise.all([
      cli(['check', '--against', 'with-extra-consumer.yaml'], repo),
      cli(['check', '--against', 'with-extra-consumer.yaml', '--strict'], repo),
    ]);
    expect(loose.code).toBe(0);
    expect(loose.stdout).toMatch(/^! topology-changes/m);
    expect(loose.stdout).toMatch(/warning EFC207 consumer-removed {2}inventory-service\.auditStock/);
    expect(strict.code).toBe(1);
    expect(strict.stdout).toMatch(/^✗ topology-changes/m);
  }, 120_000);

  it('skips the comparison for a topology new at that ref', async () => {
    cpSync(path.join(repo, 'topology.yaml'), path.join(repo, 'fresh.yaml'));
    const r = await cli(['check', 'fresh.yaml', '--against', 'HEAD', '--format', 'json'], repo);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as CheckResult;
    expect(out.steps.find((s) => s.name === 'compatibility')).toMatchObject({
      status: 'skip',
      summary: expect.stringContaining('EFC002 fresh.yaml does not exist at HEAD'),
    });
  }, 60_000);
});

describe('eventform check: drift of committed generated code (real CLI)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = tempDir();
    writeFileSync(path.join(dir, 'topology.yaml'), toYaml(shop()));
    const gen = await cli(['generate'], dir);
    expect(gen.code, gen.stderr).toBe(0);
  }, 120_000);

  it('passes when generated/ is in sync', async () => {
    const r = await cli(['check', '--format', 'json'], dir);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const drift = (JSON.parse(r.stdout) as CheckResult).steps.find((s) => s.name === 'drift')!;
    expect(drift).toMatchObject({ status: 'pass', findings: [] });
    expect(drift.summary).toMatch(/^generated\/ is in sync with topology\.yaml \(\d+ files\)$/);
  }, 60_000);

  it('fails (exit 1) when generated/ is stale: one finding that names each file', async () => {
    const changed = shop();
    changed.events.OrderCreated.payload.properties.note = { type: 'string' };
    writeFileSync(path.join(dir, 'topology.yaml'), toYaml(changed));
    writeFileSync(path.join(dir, 'generated', 'leftover.ts'), 'export {};\n');
    const [text, json] = await Promise.all([cli(['check'], dir), cli(['check', '--format', 'json'], dir)]);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/^✗ drift +generated\/ is out of date/m);
    expect(text.stdout).toMatch(
      /error EFC401 generated-stale {2}generated {2}\d+ of \d+ generated files differ; run `eventform generate`/,
    );
    expect(text.stdout).toMatch(/^ {6}generated\/types\.ts:\d+ {2}stale$/m);
    expect(text.stdout).toMatch(/^ {6}generated\/leftover\.ts {2}not generated any more/m);
    const drift = (JSON.parse(json.stdout) as CheckResult).steps.find((s) => s.name === 'drift')!;
    expect(drift.status).toBe('fail');
    expect(drift.findings).toHaveLength(1);
    expect(drift.findings[0]).toMatchObject({ rule: 'EFC401', file: 'generated' });
    expect(drift.findings[0]!.files).toContainEqual(
      expect.objectContaining({ file: 'generated/types.ts', state: 'stale' }),
    );
    expect(drift.findings[0]!.files).toContainEqual({ file: 'generated/leftover.ts', state: 'extra' });
    rmSync(path.join(dir, 'generated', 'leftover.ts'));
  }, 90_000);

  it('checks --out even without a marker-named source, and fails when it does not exist', async () => {
    const r = await cli(['check', '--out', 'elsewhere', '--format', 'json'], dir);
    expect(r.code).toBe(1);
    const drift = (JSON.parse(r.stdout) as CheckResult).steps.find((s) => s.name === 'drift')!;
    expect(drift).toMatchObject({ status: 'fail', findings: [expect.objectContaining({ rule: 'EFC402' })] });
  }, 60_000);

  it('skips with a note when generated/ belongs to another topology', async () => {
    writeFileSync(path.join(dir, 'other.yaml'), readFileSync(path.join(dir, 'topology.yaml')));
    const r = await cli(['check', 'other.yaml', '--format', 'json'], dir);
    expect(r.code).toBe(0);
    const drift = (JSON.parse(r.stdout) as CheckResult).steps.find((s) => s.name === 'drift')!;
    expect(drift).toMatchObject({
      status: 'skip',
      summary: expect.stringContaining('generated/ was generated from topology.yaml, not other.yaml'),
    });
  }, 60_000);
});
