/**
 * The `nats:` sections of topology.yaml (`TopologySection`, runtime/core): the replicas of every
 * stream and how long event streams keep a message, at the root; an event's own retention. Only
 * what provisioning and the transport honour: both build their streams from {@link natsResources},
 * which reads this part of the IR.
 *
 * The part is written into the IR only when the topology has a `nats:` section somewhere, so the IR
 * of a topology without one is what it was before the section existed; `natsResources` then uses
 * the same defaults.
 */
import { formatDuration } from '@eventform/runtime';
import type { EventIR, SectionChange, SectionInput, TopologyIR, TopologySection } from '@eventform/runtime';
import { NATS_DEFAULTS } from './defaults.js';

/** The root `nats:` section in the IR: every value defaulted. */
export interface NatsTopologyIR {
  /** Replicas of every stream (at most the servers of a JetStream cluster, and 5). */
  replicas: number;
  /** How long an event stream keeps a message, in ms; 0 = for ever. */
  maxAgeMs: number;
}

/** An event's `nats:` section in the IR. */
export interface NatsEventIR {
  /** How long the event's stream keeps a message, in ms; 0 = for ever. */
  maxAgeMs: number;
}

declare module '@eventform/runtime' {
  interface TopologyBrokerParts {
    nats?: NatsTopologyIR;
  }
  interface EventBrokerParts {
    nats?: NatsEventIR;
  }
}

export const NATS_SECTION_LIMITS = {
  /** JetStream's largest replica count. */
  maxReplicas: 5,
  /** Retention: ten years is plenty. */
  maxAgeMs: 3650 * 86_400_000,
} as const;

export const NATS_SECTION_DEFAULTS = { replicas: 1, maxAge: NATS_DEFAULTS.eventMaxAgeMs } as const;

const MAX_AGE = { type: 'duration', minMs: 0, maxMs: NATS_SECTION_LIMITS.maxAgeMs } as const;

/** How long an event's stream keeps a message, in ms (0 = for ever): the event's, the topology's, else the default. */
export function eventMaxAgeMs(ir: TopologyIR, event: EventIR): number {
  return event.nats?.maxAgeMs ?? ir.nats?.maxAgeMs ?? NATS_SECTION_DEFAULTS.maxAge;
}

const age = (ms: number): string => (ms === 0 ? 'ever' : formatDuration(ms));

const written = (input: SectionInput): boolean =>
  Object.keys(input.values).length > 0 || input.events.some((e) => Object.keys(e.values).length > 0);

export const topologySection: TopologySection = {
  key: 'nats',
  title: 'NATS',
  fields: {
    root: { replicas: { type: 'int', min: 1, max: NATS_SECTION_LIMITS.maxReplicas }, maxAge: MAX_AGE },
    event: { maxAge: MAX_AGE },
  },
  defaults: { root: NATS_SECTION_DEFAULTS },

  build(input) {
    if (!written(input)) return { root: undefined, events: new Map(), consumers: new Map() };
    const root: NatsTopologyIR = {
      replicas: (input.values['replicas'] as number | undefined) ?? NATS_SECTION_DEFAULTS.replicas,
      maxAgeMs: (input.values['maxAge'] as number | undefined) ?? NATS_SECTION_DEFAULTS.maxAge,
    };
    const events = input.events.map((e): [string, NatsEventIR] => [
      e.name,
      { maxAgeMs: (e.values['maxAge'] as number | undefined) ?? root.maxAgeMs },
    ]);
    return { root, events: new Map(events), consumers: new Map() };
  },

  // Stream names derive from names the format already keeps distinct (natsResources checks again).
  check: () => [],
  names: () => [],
  compat(before, after) {
    const changes: SectionChange[] = [];
    const old = new Map(before.events.map((e) => [e.name, e]));
    for (const e of after.events) {
      const was = old.get(e.name);
      if (!was) continue;
      const [from, to] = [eventMaxAgeMs(before, was), eventMaxAgeMs(after, e)];
      if (to !== 0 && (from === 0 || to < from)) {
        changes.push({
          kind: 'retention-shortened',
          event: e.name,
          message: `NATS stream of event '${e.name}' keeps messages for ${age(to)} instead of ${age(from)}: provisioning shortens its max age in place, and JetStream then deletes every stored message older than that`,
        });
      }
    }
    return changes;
  },

  leftovers: {
    event: () => undefined,
    consumer: () => undefined,
    deadLetters: () => [],
    retries: () => [],
  },
};
