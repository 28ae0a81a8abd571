/** Connecting to NATS with the binding's settings. */
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { NATS_DEFAULTS } from './defaults.js';

/** `host:port` (or `nats://…`) servers, as an array or a comma-separated string. */
export function parseServers(servers: string[] | string): string[] {
  const list = (Array.isArray(servers) ? servers : servers.split(',')).map((s) => s.trim()).filter((s) => s !== '');
  if (list.length === 0) throw new Error('NATS: no server given');
  return list;
}

export interface ConnectSettings {
  servers: string[];
  name: string;
  /** Keep reconnecting for good (a transport) or give up after a few tries (provisioning, a CLI). */
  reconnect: boolean;
  timeoutMs: number;
  /** The client's async stack traces (`noAsyncTraces: false`). @default NATS_DEFAULTS.asyncTraces */
  asyncTraces?: boolean | undefined;
}

/** A connection that rides out a server restart: reconnects without limit, buffering what it sends meanwhile. */
export function connectNats(settings: ConnectSettings): Promise<NatsConnection> {
  return connect({
    servers: settings.servers,
    name: settings.name,
    timeout: settings.timeoutMs,
    maxReconnectAttempts: settings.reconnect ? -1 : 3,
    reconnectTimeWait: 250,
    // A server restart loses the client's subscriptions' interest only briefly; the fetch loops
    // and publishes re-issue what failed.
    waitOnFirstConnect: false,
    noAsyncTraces: !(settings.asyncTraces ?? NATS_DEFAULTS.asyncTraces),
  });
}

/** A one-line description of a client or JetStream error. */
export function describeNatsError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return code !== undefined && !err.message.includes(String(code)) ? `${err.message} (${String(code)})` : err.message;
  }
  return String(err);
}
