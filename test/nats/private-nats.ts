/**
 * A private NATS server with JetStream for tests that kill it: the installed `nats-server` binary on
 * its own port with its own store folder (`-sd`), started and killed (SIGKILL) by the test. The
 * shared server on 127.0.0.1:4222 is never touched.
 *
 * As on the shared services, a test never silently skips: with `CI=true` a missing binary fails the
 * run; locally `available` is false and the reason is printed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { isCi } from '../support/brokers.js';

const BIN = process.env['EVENTFORM_NATS_SERVER'] ?? '/usr/sbin/nats-server';

export interface PrivateNats {
  available: boolean;
  reason: string;
  /** nats://127.0.0.1:<port> */
  url: string;
  start(): Promise<void>;
  /** SIGKILL: no clean shutdown, JetStream recovers from its store on the next start. */
  kill(): Promise<void>;
  /** Stop for good and remove the store. */
  dispose(): Promise<void>;
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

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => (socket.destroy(), resolve(false)));
  });
}

/** A private server (not started yet). */
export async function privateNats(): Promise<PrivateNats> {
  if (!fs.existsSync(BIN)) {
    const reason = `nats-server not found at ${BIN}; set EVENTFORM_NATS_SERVER`;
    if (isCi()) throw new Error(`${reason}; CI=true, so the NATS fault test must not be skipped`);
    process.stderr.write(`\n[eventform tests] SKIPPING NATS fault tests: ${reason}\n\n`);
    const fail = () => Promise.reject(new Error(reason));
    return { available: false, reason, url: '', start: fail, kill: fail, dispose: () => Promise.resolve() };
  }
  const port = await freePort();
  const storeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ef-nats-'));
  let child: ChildProcess | null = null;
  const exited = (c: ChildProcess) =>
    new Promise<void>((resolve) => (c.exitCode !== null ? resolve() : c.once('exit', () => resolve())));
  const server: PrivateNats = {
    available: true,
    reason: '',
    url: `nats://127.0.0.1:${port}`,
    async start() {
      if (child) throw new Error('private nats-server already running');
      const c = spawn(BIN, ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir, '-n', `ef-test-${port}`], {
        stdio: 'ignore',
      });
      child = c;
      const deadline = Date.now() + 15_000;
      while (!(await listening(port))) {
        if (c.exitCode !== null) throw new Error(`nats-server exited with ${c.exitCode} on start`);
        if (Date.now() > deadline) throw new Error('nats-server did not listen within 15 s');
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async kill() {
      const c = child;
      child = null;
      if (!c) return;
      c.kill('SIGKILL');
      await exited(c);
    },
    async dispose() {
      await server.kill();
      fs.rmSync(storeDir, { recursive: true, force: true });
    },
  };
  return server;
}
