/**
 * The JetStream resources a topology needs, derived from its IR: a pure function (no I/O, no
 * clock), so the provisioner, the transport and the generator's plan agree on the same names.
 *
 * Layout (the one place NATS names are made):
 * - one stream per event, `<topology>_<Event>`, holding the subject `<topology>.<Event>`;
 * - per consumer and event, a durable pull consumer `<service>_<handler>` on the event's stream
 *   (durable names are scoped to their stream), explicit acks, no server-side delivery limit (the
 *   runtime counts deliveries and dead-letters past its limit, so nothing is ever dropped silently);
 * - per consumer with retries, a retry stream `<topology>_<service>_<handler>_retry` (subject
 *   `<topology>.<service>.<handler>.retry`) that only this consumer reads, so a retry never reaches
 *   another consumer of the event, with its own durable consumer;
 * - per consumer with dead-lettering on, a dead-letter stream `..._dlq` (subject `....dlq`) that
 *   keeps every message until someone deals with it.
 *
 * Event subjects have one token after the topology's, side subjects three: they never overlap.
 */
import type { ConsumerIR, EventIR, TopologyIR } from '@eventform/runtime';
import { NATS_DEFAULTS } from './defaults.js';
import { NATS_SECTION_DEFAULTS, eventMaxAgeMs } from './topology-section.js';

/** Why a stream exists. */
export type NatsStreamRole = 'event' | 'retry' | 'dead-letter';

/** One stream as it should exist on the server. */
export interface NatsStreamDescriptor {
  name: string;
  role: NatsStreamRole;
  /** The event name (role `event`) or the consumer id (roles `retry`, `dead-letter`). */
  owner: string;
  subjects: string[];
  /** How long a message is kept; 0 = for ever. */
  maxAgeMs: number;
  /** De-duplication window by `Nats-Msg-Id`. */
  duplicateWindowMs: number;
  replicas: number;
}

/** One durable pull consumer as it should exist on the server. */
export interface NatsConsumerDescriptor {
  stream: string;
  durable: string;
  /** The eventform consumer id (`service.handler`). */
  owner: string;
  role: 'event' | 'retry';
  ackWaitMs: number;
  maxAckPending: number;
}

export interface NatsResources {
  /** Sorted by name. */
  streams: NatsStreamDescriptor[];
  /** Sorted by stream, then durable name. */
  consumers: NatsConsumerDescriptor[];
}

export interface NatsResourcesOptions {
  /** Replicas of every stream (a clustered server). @default the topology's `nats.replicas`, else 1 */
  replicas?: number | undefined;
  /** @default NATS_DEFAULTS.ackWaitMs */
  ackWaitMs?: number | undefined;
  /** @default NATS_DEFAULTS.maxAckPending */
  maxAckPending?: number | undefined;
}

/** The names one consumer uses. */
export interface NatsConsumerNames {
  durable: string;
  retryStream: string | null;
  retrySubject: string | null;
  deadLetterStream: string | null;
  deadLetterSubject: string | null;
}

// Stream and consumer names may not hold whitespace, `.`, `*`, `>` or path separators; subject
// tokens no whitespace, `.`, `*` or `>`. The topology's names are kebab-case, PascalCase and
// camelCase, so this only ever refuses a hand-written IR.
const NAME_TOKEN = /^[A-Za-z0-9_-]+$/;

function token(value: string, what: string): string {
  if (!NAME_TOKEN.test(value)) throw new Error(`${what} "${value}" cannot be part of a NATS stream or subject name`);
  return value;
}

/** The stream of an event. */
export function eventStream(ir: Pick<TopologyIR, 'name'>, event: Pick<EventIR, 'name'>): string {
  return `${token(ir.name, 'topology name')}_${token(event.name, 'event name')}`;
}

/** The subject an event is published on. */
export function eventSubject(ir: Pick<TopologyIR, 'name'>, event: Pick<EventIR, 'name'>): string {
  return `${token(ir.name, 'topology name')}.${token(event.name, 'event name')}`;
}

/** The durable consumer name, retry and dead-letter streams and subjects of a consumer. */
export function consumerNames(ir: Pick<TopologyIR, 'name'>, consumer: ConsumerIR): NatsConsumerNames {
  const topo = token(ir.name, 'topology name');
  const service = token(consumer.service, 'service name');
  const handler = token(consumer.handler, 'handler name');
  const retries = consumer.retry.attempts > 1;
  return {
    durable: `${service}_${handler}`,
    retryStream: retries ? `${topo}_${service}_${handler}_retry` : null,
    retrySubject: retries ? `${topo}.${service}.${handler}.retry` : null,
    deadLetterStream: consumer.deadLetter ? `${topo}_${service}_${handler}_dlq` : null,
    deadLetterSubject: consumer.deadLetter ? `${topo}.${service}.${handler}.dlq` : null,
  };
}

/** Every stream and durable consumer the topology needs on JetStream. */
export function natsResources(ir: TopologyIR, options: NatsResourcesOptions = {}): NatsResources {
  const replicas = options.replicas ?? ir.nats?.replicas ?? NATS_SECTION_DEFAULTS.replicas;
  const ackWaitMs = options.ackWaitMs ?? NATS_DEFAULTS.ackWaitMs;
  const maxAckPending = options.maxAckPending ?? NATS_DEFAULTS.maxAckPending;
  const streams: NatsStreamDescriptor[] = [];
  const consumers: NatsConsumerDescriptor[] = [];
  const common = { duplicateWindowMs: NATS_DEFAULTS.duplicateWindowMs, replicas };
  for (const event of ir.events) {
    streams.push({
      ...common,
      name: eventStream(ir, event),
      role: 'event',
      owner: event.name,
      subjects: [eventSubject(ir, event)],
      maxAgeMs: eventMaxAgeMs(ir, event),
    });
  }
  for (const consumer of ir.consumers) {
    const names = consumerNames(ir, consumer);
    const durable = { durable: names.durable, owner: consumer.id, ackWaitMs, maxAckPending };
    for (const name of consumer.events) {
      consumers.push({ ...durable, stream: eventStream(ir, { name }), role: 'event' });
    }
    if (names.retryStream && names.retrySubject) {
      streams.push({
        ...common,
        name: names.retryStream,
        role: 'retry',
        owner: consumer.id,
        subjects: [names.retrySubject],
        maxAgeMs: 0,
      });
      consumers.push({ ...durable, stream: names.retryStream, role: 'retry' });
    }
    if (names.deadLetterStream && names.deadLetterSubject) {
      streams.push({
        ...common,
        name: names.deadLetterStream,
        role: 'dead-letter',
        owner: consumer.id,
        subjects: [names.deadLetterSubject],
        maxAgeMs: 0,
      });
    }
  }
  const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  streams.sort((a, b) => byName(a.name, b.name));
  consumers.sort((a, b) => byName(a.stream, b.stream) || byName(a.durable, b.durable));
  for (let i = 1; i < streams.length; i++) {
    if (streams[i]!.name === streams[i - 1]!.name) {
      throw new Error(`NATS stream "${streams[i]!.name}" is needed twice; give one of its owners another name`);
    }
  }
  return { streams, consumers };
}

export { provisioningDocument } from './provisioning-document.js';
export { topologySection } from './topology-section.js';
export type { NatsEventIR, NatsTopologyIR } from './topology-section.js';
