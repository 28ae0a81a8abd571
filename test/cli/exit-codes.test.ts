/**
 * The exit-code contract of generator/src/cli/exit-codes.ts, one row per command × kind of
 * failure, run as a user runs it: the built CLI as a child process. The services it "connects" to
 * sit on 127.0.0.1:1, where nothing listens: every connection is refused at once, so no row needs
 * a broker or a database, and none depends on a timeout expiring (Kafka's client retries a fixed
 * number of times before it gives up).
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT, type ExitCode } from '../../generator/src/cli/exit-codes.js';
import { reportUnavailable } from '../../generator/src/cli/shared.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'generator/bin/eventform.js');
const FIXTURE = path.join(ROOT, 'test/scaffold/fixtures/helpdesk.yaml');
const STACK_TRACE = /\n\s+at /;
const NOBODY = '127.0.0.1:1';
const RABBIT = `amqp://guest:guest@${NOBODY}`;
const DATABASE = `postgres://relay:s3cret@${NOBODY}/shop`;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'eventform-exit-'));
  copyFileSync(FIXTURE, path.join(dir, 'topology.yaml'));
  const text = readFileSync(FIXTURE, 'utf8');
  writeFileSync(path.join(dir, 'invalid.yaml'), text.replace('event: TicketEscalated', 'event: TicketEscalatd'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Variables that would point a command elsewhere than its arguments say. */
const CLEARED = ['BROKER', 'DATABASE_URL', 'EVENTFORM_RABBITMQ_URL', 'KAFKA_BROKERS', 'NATS_URL', 'PGHOST', 'PGPORT'];

async function eventform(args: string[], env: Record<string, string> = {}) {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !CLEARED.includes(k)));
  try {
    const r = await promisify(execFile)(process.execPath, [BIN, ...args], {
      cwd: dir,
      env: { ...base, NO_COLOR: '1', ...env },
      // Kills a run that hangs; it then fails on its exit code, not on a time limit.
      timeout: 120_000,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (error) {
    const e = error as { code: number | string; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

interface Row {
  name: string;
  args: string[];
  env?: Record<string, string>;
  code: ExitCode;
  /** What the last line of stderr says. */
  says: RegExp;
}

const rows: Row[] = [
  // 0: fine
  { name: 'validate, a valid topology', args: ['validate'], code: EXIT.ok, says: /0 errors, \d+ warnings?$/ },
  // 1: findings in the user's input
  { name: 'validate, an invalid topology', args: ['validate', 'invalid.yaml'], code: EXIT.invalid, says: /1 error/ },
  {
    name: 'generate, an invalid topology',
    args: ['generate', 'invalid.yaml', '--out', 'gen-invalid'],
    code: EXIT.invalid,
    says: /nothing generated, the topology has errors/,
  },
  {
    name: 'generate --check, no generated code',
    args: ['generate', '--check', '--out', 'never-generated'],
    code: EXIT.invalid,
    says: /^run `eventform generate/,
  },
  {
    name: 'scaffold, an invalid topology',
    args: ['scaffold', 'helpdesk', 'invalid.yaml'],
    code: EXIT.invalid,
    says: /nothing scaffolded, the topology has errors/,
  },
  {
    name: 'scaffold, no generated code',
    args: ['scaffold', 'helpdesk', '--out', 'never-generated'],
    code: EXIT.invalid,
    says: /no generated code in never-generated/,
  },
  {
    name: 'import asyncapi, not an AsyncAPI 3 document',
    args: ['import', 'asyncapi', 'topology.yaml', '--out', 'imported.yaml'],
    code: EXIT.invalid,
    says: /is not an AsyncAPI 3 document/,
  },
  {
    name: 'provision, an invalid topology',
    args: ['provision', 'invalid.yaml', '--broker', 'rabbitmq', '--target', RABBIT],
    code: EXIT.invalid,
    says: /cannot provision an invalid topology/,
  },
  // 2: the command cannot run as asked
  { name: 'an unknown command', args: ['frobnicate'], code: EXIT.usage, says: /eventform --help/ },
  { name: 'validate, a missing file', args: ['validate', 'missing.yaml'], code: EXIT.usage, says: /1 error/ },
  {
    name: 'import asyncapi, a missing file',
    args: ['import', 'asyncapi', 'missing.yaml'],
    code: EXIT.usage,
    says: /cannot read missing\.yaml/,
  },
  {
    name: 'generate, --watch with --check',
    args: ['generate', '--watch', '--check'],
    code: EXIT.usage,
    says: /--watch and --check exclude each other/,
  },
  {
    name: 'scaffold, a service not in the topology',
    args: ['scaffold', 'billing'],
    code: EXIT.usage,
    says: /services in topology\.yaml: /,
  },
  {
    name: 'scaffold, a missing file',
    args: ['scaffold', 'helpdesk', 'missing.yaml'],
    code: EXIT.usage,
    says: /nothing scaffolded, the topology file cannot be read/,
  },
  {
    name: 'generate, a missing file',
    args: ['generate', 'missing.yaml', '--out', 'gen-missing'],
    code: EXIT.usage,
    says: /nothing generated, the topology file cannot be read/,
  },
  {
    name: 'provision, an unknown broker',
    args: ['provision', '--broker', 'carrier-pigeon'],
    code: EXIT.usage,
    says: /eventform --help/,
  },
  {
    name: 'dlq list, a consumer the topology does not have',
    args: ['dlq', 'list', '--consumer', 'nobody.nothing', '--url', RABBIT],
    code: EXIT.usage,
    says: /has no consumer "nobody\.nothing"/,
  },
  {
    name: 'relay, BROKER names no broker',
    args: ['relay', '--database-url', DATABASE],
    env: { BROKER: 'carrier-pigeon' },
    code: EXIT.usage,
    says: /BROKER must be one of/,
  },
  {
    name: 'relay schema, an unsafe table name',
    args: ['relay', 'schema', '--table', 'x; DROP TABLE y'],
    code: EXIT.usage,
    says: /--table: /,
  },
  // 4: a broker or database that cannot be reached
  {
    name: 'provision, RabbitMQ unreachable',
    args: ['provision', '--broker', 'rabbitmq', '--target', RABBIT],
    code: EXIT.unavailable,
    says: /^eventform provision: cannot connect to RabbitMQ at amqp:\/\/guest:\*\*\*@127\.0\.0\.1:1: /,
  },
  {
    name: 'provision, Kafka unreachable',
    args: ['provision', '--broker', 'kafka', '--target', NOBODY],
    code: EXIT.unavailable,
    says: /^eventform provision: cannot connect to Kafka at 127\.0\.0\.1:1: /,
  },
  {
    name: 'provision, NATS unreachable',
    args: ['provision', '--broker', 'nats', '--target', `nats://${NOBODY}`],
    code: EXIT.unavailable,
    says: /^eventform provision: cannot connect to NATS at nats:\/\/127\.0\.0\.1:1: /,
  },
  {
    name: 'dlq list, RabbitMQ unreachable',
    args: ['dlq', 'list', '--url', RABBIT],
    code: EXIT.unavailable,
    says: /^eventform dlq list: cannot connect to RabbitMQ at /,
  },
  {
    name: 'dlq list, Kafka unreachable',
    args: ['dlq', 'list', '--broker', 'kafka', '--brokers', NOBODY],
    code: EXIT.unavailable,
    says: /^eventform dlq list: cannot connect to Kafka at 127\.0\.0\.1:1: /,
  },
  {
    name: 'dlq show, RabbitMQ unreachable',
    args: ['dlq', 'show', 'some-id', '--url', RABBIT],
    code: EXIT.unavailable,
    says: /^eventform dlq show: cannot connect to RabbitMQ at /,
  },
  {
    name: 'dlq replay, RabbitMQ unreachable',
    args: ['dlq', 'replay', '--url', RABBIT],
    code: EXIT.unavailable,
    says: /^eventform dlq replay: cannot connect to RabbitMQ at /,
  },
  {
    name: 'dlq purge, RabbitMQ unreachable',
    args: ['dlq', 'purge', '--yes', '--url', RABBIT],
    code: EXIT.unavailable,
    says: /^eventform dlq purge: cannot connect to RabbitMQ at /,
  },
  {
    name: 'relay, PostgreSQL unreachable',
    args: ['relay', '--broker', 'rabbitmq', '--database-url', DATABASE],
    env: { EVENTFORM_RABBITMQ_URL: RABBIT },
    code: EXIT.unavailable,
    says: /^eventform relay: PostgreSQL at 127\.0\.0\.1:1\/shop: .*ECONNREFUSED/,
  },
  {
    name: 'relay migrate, PostgreSQL unreachable (DATABASE_URL)',
    args: ['relay', 'migrate'],
    env: { DATABASE_URL: DATABASE },
    code: EXIT.unavailable,
    says: /^eventform relay migrate: PostgreSQL at 127\.0\.0\.1:1\/shop: .*ECONNREFUSED/,
  },
];

describe('eventform exit codes (docs/generator.md, "Exit codes")', () => {
  it.each(rows)(
    '$name → $code',
    async ({ args, env, code, says }) => {
      const r = await eventform(args, env);
      expect(r.code, r.stderr).toBe(code);
      expect(r.stderr.trimEnd().split('\n').at(-1)).toMatch(says);
      expect(r.stderr).not.toMatch(STACK_TRACE);
      expect(r.stdout + r.stderr).not.toContain('s3cret');
    },
    150_000,
  );

  it('every code of EXIT has a row, and --debug adds the stack to an unreachable service', async () => {
    expect(new Set(rows.map((r) => r.code))).toEqual(new Set(Object.values(EXIT).filter((c) => c !== EXIT.internal)));
    const r = await eventform(['--debug', 'relay', 'migrate', '--database-url', DATABASE]);
    expect(r.code).toBe(EXIT.unavailable);
    expect(r.stderr).toMatch(/^eventform relay migrate: PostgreSQL at 127\.0\.0\.1:1\/shop: /);
    expect(r.stderr).toMatch(STACK_TRACE);
  });
});

describe('reportUnavailable', () => {
  const capture = () => {
    const err: string[] = [];
    return { io: { stdout: () => undefined, stderr: (t: string) => void err.push(t) }, err };
  };

  it("reports the broker's answer as one escaped line and exit 4", () => {
    const { io, err } = capture();
    const code = reportUnavailable(io, 'eventform dlq list', new Error('refused\n  header \u001b[31mred\u001b[0m'));
    expect(code).toBe(EXIT.unavailable);
    expect(err.join('')).toBe('eventform dlq list: refused header \\x1b[31mred\\x1b[0m\n');
  });

  it("leaves a bug to the top level (exit 3), but not Node's own error for bad input", () => {
    const { io } = capture();
    expect(() =>
      reportUnavailable(io, 'x', new TypeError("Cannot read properties of undefined (reading 'seq')")),
    ).toThrow(TypeError);
    let invalidUrl: unknown;
    try {
      new URL('not a url');
    } catch (e) {
      invalidUrl = e;
    }
    expect(reportUnavailable(io, 'x', invalidUrl)).toBe(EXIT.unavailable);
  });
});
