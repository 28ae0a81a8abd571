/** Shared bits of the NATS tests: an admin connection, raw publishes and reads, cleanup. */
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { JetStreamApiError, jetstreamManager } from '@nats-io/jetstream';
import type { JetStreamManager } from '@nats-io/jetstream';
import type { Headers, Logger, TopologyIR } from '@eventform/runtime';
import { NatsTransport, fromNatsHeaders, natsResources, toNatsHeaders } from '@eventform/nats';
import type { NatsTransportOptions } from '@eventform/nats';

/** Collects warn/error lines; debug/info are dropped. Set EVENTFORM_TEST_LOG=1 to print all. */
export function testLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const verbose = process.env.EVENTFORM_TEST_LOG === '1';
  const write = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    const line = `${level} ${message}${fields ? ' ' + JSON.stringify(fields) : ''}`;
    if (level === 'warn' || level === 'error') lines.push(line);
    if (verbose) process.stderr.write(line + '\n');
  };
  return { lines, debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

/** Timings for tests: a crashed consumer's messages come back after 5 s, a release after 200 ms. */
export const FAST: Partial<NatsTransportOptions> = { ackWaitMs: 5_000, releaseDelayMs: 200 };

export function testTransport(servers: string, options: Partial<NatsTransportOptions> = {}): NatsTransport {
  return new NatsTransport({ servers, logger: testLogger(), ...FAST, ...options });
}

/** One admin connection per server for the whole file. */
const admins = new Map<string, Promise<{ nc: NatsConnection; jsm: JetStreamManager }>>();
export function admin(servers: string): Promise<{ nc: NatsConnection; jsm: JetStreamManager }> {
  let a = admins.get(servers);
  if (!a) {
    a = (async () => {
      const nc = await connect({ servers: servers.split(','), name: 'eventform-test-admin', maxReconnectAttempts: -1 });
      return { nc, jsm: await jetstreamManager(nc) };
    })();
    admins.set(servers, a);
  }
  return a;
}

export async function closeAdmins(): Promise<void> {
  for (const [servers, a] of admins) {
    admins.delete(servers);
    await (await a).nc.close().catch(() => undefined);
  }
}

/** Raw bytes and logical headers straight onto a subject (the binding's header mapping), bypassing the transport. */
export async function publishRaw(
  servers: string,
  subject: string,
  body: Buffer,
  headers: Headers,
  key?: string,
): Promise<void> {
  const { nc } = await admin(servers);
  const js = (await import('@nats-io/jetstream')).jetstream(nc);
  await js.publish(subject, body, { headers: toNatsHeaders(headers, key) });
}

export interface RawStored {
  body: Buffer;
  headers: Headers;
  seq: number;
}

/** Messages of a stream from sequence `from` on (stream order), with logical header names. */
export async function readStream(servers: string, stream: string, from = 1): Promise<RawStored[]> {
  const { jsm } = await admin(servers);
  const info = await jsm.streams.info(stream);
  const out: RawStored[] = [];
  for (let seq = Math.max(from, info.state.first_seq); seq <= info.state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
    if (!m) continue;
    out.push({ body: Buffer.from(m.data), headers: fromNatsHeaders(m.header), seq });
  }
  return out;
}

/** Delete every stream of the topology (their consumers go with them). */
export async function deleteTopology(servers: string, topology: TopologyIR): Promise<void> {
  const { jsm } = await admin(servers);
  for (const stream of natsResources(topology).streams) {
    await jsm.streams.delete(stream.name).catch((err: unknown) => {
      if (!(err instanceof JetStreamApiError)) throw err;
    });
  }
}

export async function waitFor(
  what: string,
  predicate: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
