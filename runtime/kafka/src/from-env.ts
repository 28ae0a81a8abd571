import type { Transport, TransportEnvOptions } from '@eventform/runtime';
import { defaultKafkaBrokers } from './defaults.js';
import { KafkaTransport } from './transport.js';

/**
 * The transport `createTransportFromEnv()` builds for `BROKER=kafka`: the brokers in
 * `KAFKA_BROKERS` (comma-separated `host:port`; default `127.0.0.1:19092`).
 */
export function transportFromEnv(options: TransportEnvOptions): Transport {
  return new KafkaTransport({
    brokers: defaultKafkaBrokers(options.env),
    clientId: options.clientName,
    logger: options.logger,
  });
}
