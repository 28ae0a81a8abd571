/**
 * Compact topologies for the RabbitMQ tests, turned into IR by the generator's loader (the one IR
 * builder), with a random suffix on the topology name so parallel tests never share resources.
 * Payloads are objects (with the key, if any, a required string); events without `producers` are produced by a service `producer`.
 */
import { uniqueTopologyName } from '@eventform/runtime/testing';
import type { ContentMode, TopologyIR } from '../../runtime/core/src/ir.js';
import type { QueueType } from '@eventform/rabbitmq';
import { topologyFromDocument } from '../../generator/src/spec/index.js';
import { keyed } from '../kafka/fixtures.js';

export interface ConsumerSpec {
  service: string;
  handler: string;
  events: string[];
  attempts?: number;
  delayMs?: number;
  maxDelayMs?: number;
  backoff?: 'fixed' | 'exponential';
  concurrency?: number;
  deadLetter?: boolean;
  queueType?: QueueType;
}

export interface TopologySpec {
  /** Prefix; a random suffix is appended so parallel tests never share resources. */
  name: string;
  events: { name: string; key?: string; producers?: string[]; contentMode?: ContentMode }[];
  consumers: ConsumerSpec[];
  queueType?: QueueType;
}

export const uniqueName = (prefix: string): string => uniqueTopologyName(prefix);

const ms = (value: number | undefined): string | undefined => (value === undefined ? undefined : `${value}ms`);

export function buildTopology(spec: TopologySpec, options: { unique?: boolean } = {}): TopologyIR {
  const services: Record<string, { produces: string[]; consumes: Record<string, unknown> }> = {};
  const service = (name: string) => (services[name] ??= { produces: [], consumes: {} });
  for (const e of spec.events) for (const p of e.producers ?? ['producer']) service(p).produces.push(e.name);
  for (const c of spec.consumers) {
    const retry = { attempts: c.attempts, backoff: c.backoff, delay: ms(c.delayMs), maxDelay: ms(c.maxDelayMs) };
    service(c.service).consumes[c.handler] = {
      event: c.events,
      retry: JSON.parse(JSON.stringify(retry)) as object, // the fields given, no undefined
      ...(c.concurrency === undefined ? {} : { concurrency: c.concurrency }),
      ...(c.deadLetter === undefined ? {} : { deadLetter: c.deadLetter }),
      ...(c.queueType === undefined ? {} : { rabbitmq: { queueType: c.queueType } }),
    };
  }
  return topologyFromDocument({
    topology: options.unique === false ? spec.name : uniqueName(spec.name),
    ...(spec.queueType ? { rabbitmq: { queueType: spec.queueType } } : {}),
    events: Object.fromEntries(
      spec.events.map((e) => [
        e.name,
        {
          ...keyed(e.key),
          ...(e.contentMode ? { contentMode: e.contentMode } : {}),
        },
      ]),
    ),
    services,
  });
}
