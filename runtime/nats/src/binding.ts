/** The NATS JetStream binding as the CLI and `createTransportFromEnv` find it (`BrokerBinding`, runtime/core). */
import type { BrokerBinding, BrokerResource } from '@eventform/runtime';
import { openNatsDeadLetters } from './dead-letters.js';
import { NATS_DEFAULTS, defaultNatsServers } from './defaults.js';
import { transportFromEnv } from './from-env.js';
import { provisionNats } from './provision.js';
import { natsResources } from './resources.js';

export const brokerBinding: BrokerBinding = {
  name: 'nats',
  packageName: '@eventform/nats',
  title: 'NATS JetStream',
  target: {
    description: 'servers, host:port[,host:port] or nats://…',
    envVar: 'NATS_URL',
    default: NATS_DEFAULTS.servers,
  },
  describeTarget: (target, env) => target ?? defaultNatsServers(env),
  transportFromEnv,
  provision: (ir, options) =>
    provisionNats(ir, {
      servers: options.target ?? defaultNatsServers(options.env),
      dryRun: options.dryRun ?? false,
      logger: options.logger,
    }),
  resources: (ir) => {
    const r = natsResources(ir);
    const rows: BrokerResource[] = [
      ...r.streams.map((s) => ({ kind: 'stream', name: s.name, role: s.role, owner: s.owner })),
      ...r.consumers.map((c) => ({
        kind: 'consumer',
        name: `${c.stream}/${c.durable}`,
        role: c.role,
        owner: c.owner,
      })),
    ];
    return rows;
  },
  openDeadLetters: (ir, options) =>
    openNatsDeadLetters({
      servers: options.target ?? defaultNatsServers(options.env),
      topology: ir,
      logger: options.logger,
    }),
};
