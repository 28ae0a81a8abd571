import type { Transport, TransportEnvOptions } from '@eventform/runtime';
import { defaultNatsServers } from './defaults.js';
import { NatsTransport } from './transport.js';

/**
 * The transport `createTransportFromEnv()` builds for `BROKER=nats`: the servers in `NATS_URL`
 * (comma-separated `host:port` or `nats://…`; default `127.0.0.1:4222`).
 */
export function transportFromEnv(options: TransportEnvOptions): Transport {
  return new NatsTransport({
    servers: defaultNatsServers(options.env),
    name: options.clientName,
    logger: options.logger,
  });
}
