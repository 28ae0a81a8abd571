import type { Transport, TransportEnvOptions } from '@eventform/runtime';
import { defaultRabbitmqUrl } from './defaults.js';
import { RabbitMQTransport } from './transport.js';

/**
 * The transport `createTransportFromEnv()` builds for `BROKER=rabbitmq`: the broker at
 * `EVENTFORM_RABBITMQ_URL` (default `amqp://guest:guest@127.0.0.1:5672`).
 */
export function transportFromEnv(options: TransportEnvOptions): Transport {
  return new RabbitMQTransport({
    url: defaultRabbitmqUrl(options.env),
    connectionName: options.clientName,
    logger: options.logger,
  });
}
