/** The Kafka binding as the CLI and `createTransportFromEnv` find it (`BrokerBinding`, runtime/core). */
import type { BrokerBinding } from '@eventform/runtime';
import { openKafkaDeadLetters } from './dead-letters.js';
import { KAFKA_DEFAULTS, defaultKafkaBrokers } from './defaults.js';
import { transportFromEnv } from './from-env.js';
import { provisionKafka } from './provision.js';
import { kafkaResources } from './resources.js';

export const brokerBinding: BrokerBinding = {
  name: 'kafka',
  packageName: '@eventform/kafka',
  title: 'Kafka',
  target: { description: 'brokers, host:port[,host:port]', envVar: 'KAFKA_BROKERS', default: KAFKA_DEFAULTS.brokers },
  describeTarget: (target, env) => target ?? defaultKafkaBrokers(env),
  transportFromEnv,
  provision: (ir, options) =>
    provisionKafka(ir, {
      brokers: options.target ?? defaultKafkaBrokers(options.env),
      dryRun: options.dryRun ?? false,
      ...(options.logger ? { logger: options.logger } : {}),
    }),
  resources: (ir) =>
    kafkaResources(ir).topics.map((t) => ({ kind: 'topic', name: t.name, role: t.role, owner: t.owner })),
  openDeadLetters: (_ir, options) =>
    openKafkaDeadLetters({ brokers: options.target ?? defaultKafkaBrokers(options.env), logger: options.logger }),
};
