/**
 * Broker availability for tests that talk to a real RabbitMQ or PostgreSQL.
 *
 * A broker test never silently skips: with `CI=true` a missing broker fails the test run loudly;
 * locally the suite is skipped with a visible message on stderr. Use at module level:
 *
 * @example
 * const rabbit = await requireRabbitmq();
 * describe.skipIf(!rabbit.available)('rabbitmq transport', () => { ... });
 */
import net from 'node:net';
import { isCi } from '@eventform/runtime/testing';

export interface BrokerAvailability {
  available: boolean;
  /** Connection string the tests should use. */
  url: string;
  /** Why it is unavailable; empty when available. */
  reason: string;
}

/** Whether this run is CI's: then a broker test must fail, never skip. The one definition, the runtime's. */
export { isCi };

/** RabbitMQ at `EVENTFORM_RABBITMQ_URL` or amqp://guest:guest@127.0.0.1:5672. */
export async function requireRabbitmq(): Promise<BrokerAvailability> {
  const url = process.env.EVENTFORM_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
  return requireTcp('RabbitMQ', url, 5672);
}

/** PostgreSQL at `EVENTFORM_POSTGRES_URL`/`DATABASE_URL` or postgres://postgres@127.0.0.1:5432/test. */
export async function requirePostgres(): Promise<BrokerAvailability> {
  const url =
    process.env.EVENTFORM_POSTGRES_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  return requireTcp('PostgreSQL', url, 5432);
}

/** NATS (with JetStream) at `NATS_URL` (its first server) or nats://127.0.0.1:4222. */
export async function requireNats(): Promise<BrokerAvailability> {
  const first = (process.env.NATS_URL ?? 'nats://127.0.0.1:4222').split(',')[0]!.trim();
  const url = first.includes('://') ? first : `nats://${first}`;
  return requireTcp('NATS', url, 4222);
}

async function requireTcp(what: string, url: string, defaultPort: number): Promise<BrokerAvailability> {
  const { hostname, port } = new URL(url);
  const host = hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
  const reason = await tryConnect(host, Number(port) || defaultPort);
  if (reason === '') return { available: true, url, reason: '' };
  const message = `${what} is not reachable at ${host}:${Number(port) || defaultPort} (${reason})`;
  if (isCi()) throw new Error(`${message}; CI=true, so broker tests must not be skipped`);
  process.stderr.write(`\n[eventform tests] SKIPPING ${what} tests: ${message}\n\n`);
  return { available: false, url, reason: message };
}

function tryConnect(host: string, port: number, timeoutMs = 2_000): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (reason: string): void => {
      socket.destroy();
      resolve(reason);
    };
    socket.setTimeout(timeoutMs, () => done('timeout'));
    socket.once('connect', () => done(''));
    socket.once('error', (err) => done(err.message));
  });
}
