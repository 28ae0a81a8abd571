/**
 * Picks a transport by name, for entry points that let the environment choose the broker:
 * `BROKER=memory|rabbitmq|kafka` (default memory), `EVENTFORM_RABBITMQ_URL`, `KAFKA_BROKERS`.
 * The broker clients are imported only when chosen, so a memory-only service never loads them.
 */
import type { Logger } from '../core/api.js';
import type { Transport } from '../core/transport.js';
import { MemoryTransport } from './memory/index.js';

export type BrokerName = 'memory' | 'rabbitmq' | 'kafka';

export const BROKER_NAMES: readonly BrokerName[] = ['memory', 'rabbitmq', 'kafka'];

export class UnknownBrokerError extends Error {
  override name = 'UnknownBrokerError';
}

/** `BROKER` from the environment, validated. @default 'memory' */
export function brokerFromEnv(env: NodeJS.ProcessEnv = process.env): BrokerName {
  const name = (env.BROKER ?? 'memory').toLowerCase();
  if ((BROKER_NAMES as readonly string[]).includes(name)) return name as BrokerName;
  throw new UnknownBrokerError(`BROKER must be one of ${BROKER_NAMES.join(', ')} (got "${env.BROKER}")`);
}

export interface TransportFromEnvOptions {
  /** @default brokerFromEnv() */
  broker?: BrokerName;
  logger?: Logger;
  /** Names this process's connections and clients on the broker. @default 'eventform' */
  clientName?: string;
  env?: NodeJS.ProcessEnv;
}

export async function createTransportFromEnv(options: TransportFromEnvOptions = {}): Promise<Transport> {
  const env = options.env ?? process.env;
  const broker = options.broker ?? brokerFromEnv(env);
  const name = options.clientName ?? 'eventform';
  switch (broker) {
    case 'memory':
      return new MemoryTransport();
    case 'rabbitmq': {
      const { RabbitMQTransport } = await import('./rabbitmq/index.js');
      return new RabbitMQTransport({ url: env.EVENTFORM_RABBITMQ_URL, connectionName: name, logger: options.logger });
    }
    case 'kafka': {
      const { KafkaTransport } = await import('./kafka/index.js');
      return new KafkaTransport({
        brokers: env.KAFKA_BROKERS ?? '127.0.0.1:19092',
        clientId: name,
        logger: options.logger,
      });
    }
  }
}
