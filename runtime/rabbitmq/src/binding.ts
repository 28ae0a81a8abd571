/** The RabbitMQ binding as the CLI and `createTransportFromEnv` find it (`BrokerBinding`, runtime/core). */
import type { BrokerBinding, BrokerResource } from '@eventform/runtime';
import { openRabbitmqDeadLetters } from './dead-letters.js';
import { defaultRabbitmqUrl, redactUrl } from './defaults.js';
import { transportFromEnv } from './from-env.js';
import { provisionRabbitmq } from './provision.js';
import { rabbitmqResources } from './resources.js';

export const brokerBinding: BrokerBinding = {
  name: 'rabbitmq',
  packageName: '@eventform/rabbitmq',
  title: 'RabbitMQ',
  target: {
    description: 'AMQP URL (several nodes of one cluster: comma-separated)',
    envVar: 'EVENTFORM_RABBITMQ_URL',
    default: defaultRabbitmqUrl({}),
  },
  describeTarget: (target, env) => redactUrl(target ?? defaultRabbitmqUrl(env)),
  transportFromEnv,
  provision: (ir, options) =>
    provisionRabbitmq(ir, {
      url: options.target ?? defaultRabbitmqUrl(options.env),
      dryRun: options.dryRun ?? false,
      ...(options.logger ? { logger: options.logger } : {}),
    }),
  resources: (ir) => {
    const r = rabbitmqResources(ir);
    const rows: BrokerResource[] = [
      ...r.exchanges.map((e) => ({ kind: 'exchange', name: e.name, role: e.type, owner: ir.name })),
      ...r.queues.map((q) => ({ kind: 'queue', name: q.name, role: q.role, owner: q.consumer })),
    ];
    return rows.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  },
  openDeadLetters: (_ir, options) =>
    openRabbitmqDeadLetters({ url: options.target ?? defaultRabbitmqUrl(options.env), logger: options.logger }),
};
