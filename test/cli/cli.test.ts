/**
 * The real CLI as a child process: `node generator/bin/eventform.js ...` (the built CLI in generator/dist), plus
 * the malformed-topology corpus under test/fixtures/invalid.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'generator/bin/eventform.js');
const INVALID = 'test/fixtures/invalid';
const STACK_TRACE = /\n\s+at /;
/** file:line:col at the start of a line, as every diagnostic is printed. */
const LOCATION = /^\S+:\d+:\d+ (error|warning) EF\d{4} /m;

/**
 * No wall-clock limit here (a loaded 2-core CI machine breaks them): a run that hangs is killed by
 * spawnSync's timeout and fails on its exit code; speed is `npm run bench`'s business. The
 * summary line printed at the end gives the measured times.
 */
const timings: [string, number][] = [];

/** Kills a run that hangs (an exponential blow-up takes minutes, not seconds); it then fails on its exit code. */
const HANG_GUARD_MS = 60_000;

function cli(args: string[], env: Record<string, string> = {}) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '', ...env },
    timeout: HANG_GUARD_MS,
  });
  const ms = performance.now() - t0;
  timings.push([args.join(' '), ms]);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, out: r.stdout + r.stderr, ms };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

afterAll(() => {
  const sorted = [...timings].sort((a, b) => b[1] - a[1]);
  console.log(
    `CLI wall time over ${timings.length} runs: median ${median(timings.map((t) => t[1])).toFixed(0)}ms, ` +
      `max ${sorted[0]?.[1].toFixed(0)}ms (${sorted[0]?.[0]}); load ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores`,
  );
});

describe('eventform CLI', () => {
  it('--help lists the commands and exits 0', () => {
    const r = cli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Usage: eventform/);
    expect(r.stdout).toMatch(/validate \[options\] \[file\]/);
  });

  it('--version prints the package version', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'generator/package.json'), 'utf8')) as { version: string };
    const r = cli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  it('validate accepts the root topology.yaml (default path), printing warnings', () => {
    const r = cli(['validate']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("topology.yaml is valid: topology 'shop', 6 events, 4 services, 5 consumers\n");
    expect(r.stderr).toMatch(/^topology\.yaml:\d+:\d+ warning EF9004 /m);
    expect(r.stderr).toMatch(/0 errors, \d+ warnings?\n$/);
  });

  it('`npx eventform validate` works from the repository root', () => {
    const r = spawnSync('npx', ['--no', '--', 'eventform', 'validate'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
      timeout: 60_000,
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('topology.yaml is valid');
  });

  it('validate --format json prints the diagnostics as JSON', () => {
    const ok = cli(['validate', '--format', 'json']);
    expect(ok.code).toBe(0);
    const okJson = JSON.parse(ok.stdout) as {
      valid: boolean;
      errors: number;
      warnings: number;
      diagnostics: unknown[];
    };
    expect(okJson).toMatchObject({ file: 'topology.yaml', valid: true, errors: 0 });
    expect(okJson.warnings).toBe(okJson.diagnostics.length);
    expect(ok.stderr).toBe('');

    const bad = cli(['validate', '--format=json', `${INVALID}/bad-key.yaml`]);
    expect(bad.code).toBe(1);
    const badJson = JSON.parse(bad.stdout) as {
      valid: boolean;
      diagnostics: { code: string; line: number; col: number }[];
    };
    expect(badJson.valid).toBe(false);
    expect(badJson.diagnostics[0]).toMatchObject({
      code: 'EF5003',
      line: 4,
      col: 10,
      severity: 'error',
      file: `${INVALID}/bad-key.yaml`,
    });
  });

  it('a missing file is exit 2 with a location and a hint', () => {
    const r = cli(['validate', 'no/such/topology.yaml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^no\/such\/topology\.yaml:1:1 error EF1001 file 'no\/such\/topology\.yaml' does not exist$/m,
    );
    expect(r.out).not.toMatch(STACK_TRACE);
  });

  it('a directory is exit 2', () => {
    const r = cli(['validate', 'test']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^test:1:1 error EF1001 'test' is a directory$/m);
  });

  it.each([
    [['frob'], /unknown command 'frob'/],
    [['validate', '--frob'], /unknown option '--frob'/],
    [['validate', '--format', 'xml'], /Allowed choices are text, json/],
    [['validate', 'a.yaml', 'b.yaml'], /too many arguments/],
  ])('usage error %j is exit 2 without a stack trace', (args, message) => {
    const r = cli(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.out).not.toMatch(STACK_TRACE);
  });

  it('colours output only when asked (FORCE_COLOR) and never with NO_COLOR', () => {
    const file = `${INVALID}/bad-key.yaml`;
    expect(cli(['validate', file], { FORCE_COLOR: '1', NO_COLOR: '' }).stderr).toContain('\u001b[31m');
    expect(cli(['validate', file], { FORCE_COLOR: '1', NO_COLOR: '1' }).stderr).not.toContain('\u001b[');
  });
});

/** Every committed malformed topology, and the code its first error must carry. */
const CORPUS: Record<string, string> = {
  'alias-bomb.yaml': 'EF1008',
  'bad-duration.yaml': 'EF6001',
  'bad-example.yaml': 'EF5002',
  'bad-key.yaml': 'EF5003',
  'bad-names.yaml': 'EF3001',
  'bad-retry.yaml': 'EF2005',
  'binary.yaml': 'EF1003',
  'case-collision.yaml': 'EF3006',
  'cyclic-refs.yaml': 'EF5007',
  'deep-nesting-70.yaml': 'EF1009',
  'deep-nesting-block.yaml': 'EF1009',
  'deep-nesting-flow.yaml': 'EF1009',
  'duplicate-handler.yaml': 'EF4004',
  'duplicate-keys.yaml': 'EF1006',
  'empty.yaml': 'EF1004',
  'external-ref-broken.yaml': 'EF1005',
  'external-ref-missing.yaml': 'EF4006',
  'external-ref-pointer.yaml': 'EF4008',
  'http-ref.yaml': 'EF4005',
  'huge-number.yaml': 'EF1012',
  'idempotency-key.yaml': 'EF6003',
  'invalid-json-schema.yaml': 'EF5001',
  'invalid-utf8.yaml': 'EF1003',
  'kafka-replication.yaml': 'EF6004',
  'merge-key.yaml': 'EF1012',
  'missing-required.yaml': 'EF2003',
  'multi-document.yaml': 'EF1010',
  'nul-in-text.yaml': 'EF1003',
  'only-comments.yaml': 'EF1004',
  'recursive-alias.yaml': 'EF1008',
  'regex-bomb.yaml': 'EF5002',
  'root-list.yaml': 'EF1011',
  'syntax-error.yaml': 'EF1005',
  'tabs.yaml': 'EF1007',
  'unknown-event-ref.yaml': 'EF4001',
  'unknown-field.yaml': 'EF2001',
  'unknown-schema-ref.yaml': 'EF4003',
  'wrong-types.yaml': 'EF2002',
};

describe('malformed topology corpus through the CLI', () => {
  it('lists every committed fixture', () => {
    const files = readdirSync(path.join(ROOT, INVALID)).filter((f) => f.endsWith('.yaml'));
    expect(files.sort()).toEqual(Object.keys(CORPUS).sort());
    expect(files.length).toBeGreaterThanOrEqual(25);
  });

  it.each(Object.entries(CORPUS))('%s → %s', (file, code) => {
    const r = cli(['validate', `${INVALID}/${file}`]);
    expect(r.code).toBe(1);
    const first = r.stderr.match(LOCATION);
    expect(first, r.out).not.toBeNull();
    expect(r.stderr).toMatch(new RegExp(`^\\S+:\\d+:\\d+ error ${code} `, 'm'));
    expect(r.stderr).toMatch(/\d+ errors?, \d+ warnings?\n$/);
    expect(r.out).not.toMatch(STACK_TRACE);
  });

  describe('generated at test time', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'eventform-cli-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('a 6 MiB file is refused unparsed', () => {
      const file = path.join(dir, 'huge.yaml');
      writeFileSync(file, 'topology: t\n' + '# padding\n'.repeat((6 * 1024 * 1024) / 10));
      const r = cli(['validate', file]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`${file}:1:1 error EF1002 file is 6.0 MiB; the limit is 512 KiB`);
      expect(r.out).not.toMatch(STACK_TRACE);
    });

    it('an unreadable file is exit 2', () => {
      if (process.getuid?.() === 0) return; // root reads anything
      const file = path.join(dir, 'secret.yaml');
      writeFileSync(file, 'topology: t\n', { mode: 0o000 });
      const r = cli(['validate', file]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/EF1001 cannot read/);
    });
  });
});
