/**
 * A private PostgreSQL 15 server for tests that restart it: initdb into a temporary folder, its own
 * port and socket folder, started and stopped with pg_ctl from the installed binaries. The shared
 * server on 127.0.0.1:5432 is never touched.
 *
 * As on the shared services, a test never silently skips: with `CI=true` missing binaries fail the
 * run; locally `available` is false and the reason is printed.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { isCi } from '../support/brokers.js';

const exec = promisify(execFile);
const BIN = process.env['EVENTFORM_PG_BIN'] ?? '/usr/lib/postgresql/15/bin';

export interface PrivatePostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  url: string;
  port: number;
  start(): Promise<void>;
  /** Stop (`immediate`: like a crash, recovery on start; `fast`: clean) and start again. */
  restart(mode: 'immediate' | 'fast'): Promise<void>;
  stop(): Promise<void>;
}

export interface PrivatePostgresAvailability {
  available: boolean;
  reason: string;
}

export function privatePostgresAvailable(): PrivatePostgresAvailability {
  const missing = ['initdb', 'pg_ctl'].filter((b) => !fs.existsSync(path.join(BIN, b)));
  if (missing.length === 0) return { available: true, reason: '' };
  const reason = `PostgreSQL binaries not found in ${BIN} (${missing.join(', ')}); set EVENTFORM_PG_BIN`;
  if (isCi()) throw new Error(`${reason}; CI=true, so the PostgreSQL restart test must not be skipped`);
  process.stderr.write(`\n[eventform tests] SKIPPING PostgreSQL restart tests: ${reason}\n\n`);
  return { available: false, reason };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** initdb a new cluster (wal_level=logical, so logical replication can be tried on it too). */
export async function createPrivatePostgres(): Promise<PrivatePostgres> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eventform-pg-'));
  const data = path.join(dir, 'data');
  const port = await freePort();
  // PostgreSQL refuses to run as root: run its tools as the postgres user then.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) await exec('chown', ['-R', 'postgres:postgres', dir]);
  const run = (bin: string, args: string[]) =>
    asRoot
      ? exec('runuser', ['-u', 'postgres', '--', path.join(BIN, bin), ...args], { cwd: dir })
      : exec(path.join(BIN, bin), args, { cwd: dir });
  await run('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync']);
  const settings = [
    `-p ${port}`,
    `-k ${dir}`,
    '-c listen_addresses=127.0.0.1',
    '-c wal_level=logical',
    '-c max_wal_senders=4',
    '-c max_replication_slots=4',
    '-c max_connections=200',
  ].join(' ');
  const ctl = (args: string[]) => run('pg_ctl', ['-D', data, '-l', path.join(dir, 'server.log'), '-w', ...args]);
  let running = false;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    async start() {
      await ctl(['-o', settings, 'start']);
      running = true;
    },
    async restart(mode) {
      await ctl(['-m', mode, 'stop']);
      await ctl(['-o', settings, 'start']);
    },
    async stop() {
      if (running) await ctl(['-m', 'fast', 'stop']).catch(() => {});
      running = false;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
