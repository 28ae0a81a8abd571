/**
 * The `kafka:` sections of topology.yaml (`TopologySection`, runtime/core): partitions, replication
 * factor and `min.insync.replicas` at the root; an event's partitions, topic and topic configs; a
 * handler's consumer group. Also the one place Kafka resource names are derived from the topology
 * (docs/topology-format.md, "Broker resources").
 */
import type {
  ResourceNameClaim,
  SectionChange,
  SectionConsumerInput,
  SectionInput,
  SectionProblem,
  TopologyIR,
  TopologySection,
} from '@eventform/runtime';
import type { KafkaConsumerIR, KafkaEventIR, KafkaTopologyIR } from './ir.js';

/** Topic and group names: letters, digits and `.`, `_`, `-`. */
const KAFKA_NAME = /^[A-Za-z0-9._-]+$/;
const NAME = { type: 'name', pattern: KAFKA_NAME, allowed: "'.', '_', '-'" } as const;

export const KAFKA_SECTION_LIMITS = {
  maxPartitions: 10_000,
  maxReplicationFactor: 32,
  /** Topic names. */
  maxName: 249,
} as const;

export const KAFKA_SECTION_DEFAULTS = { partitions: 3, replicationFactor: 3, minInsyncReplicas: 2 } as const;

/** The Kafka retry topic of a handler: `<group>.retry`. */
export const retryTopicName = (group: string): string => `${group}.retry`;

/** The dead-letter topic of a handler: `<group>.dlq`. */
export const deadLetterTopicName = (group: string): string => `${group}.dlq`;

const rootOf = (input: SectionInput): KafkaTopologyIR => ({
  partitions: (input.values['partitions'] as number | undefined) ?? KAFKA_SECTION_DEFAULTS.partitions,
  replicationFactor:
    (input.values['replicationFactor'] as number | undefined) ?? KAFKA_SECTION_DEFAULTS.replicationFactor,
  minInsyncReplicas:
    (input.values['minInsyncReplicas'] as number | undefined) ?? KAFKA_SECTION_DEFAULTS.minInsyncReplicas,
});
const topicOf = (input: SectionInput, e: { name: string; values: Readonly<Record<string, unknown>> }): string =>
  (e.values['topic'] as string | undefined) ?? `${input.topology}.${e.name}`;
const groupOf = (input: SectionInput, c: SectionConsumerInput): string =>
  (c.values['groupId'] as string | undefined) ?? `${input.topology}.${c.service}.${c.handler}`;
const byName = ([a]: [string, string], [b]: [string, string]): number => (a < b ? -1 : a > b ? 1 : 0);

export const topologySection: TopologySection = {
  key: 'kafka',
  title: 'Kafka',
  fields: {
    root: {
      partitions: { type: 'int', min: 1, max: KAFKA_SECTION_LIMITS.maxPartitions },
      replicationFactor: { type: 'int', min: 1, max: KAFKA_SECTION_LIMITS.maxReplicationFactor },
      minInsyncReplicas: { type: 'int', min: 1, max: KAFKA_SECTION_LIMITS.maxReplicationFactor },
    },
    event: {
      partitions: { type: 'int', min: 1, max: KAFKA_SECTION_LIMITS.maxPartitions },
      topic: NAME,
      configs: { type: 'stringMap', entry: 'Kafka config' },
    },
    consumer: { groupId: NAME },
  },
  defaults: { root: KAFKA_SECTION_DEFAULTS },

  build(input) {
    const root = rootOf(input);
    const events = input.events.map((e): [string, KafkaEventIR] => {
      const configs: Record<string, string> = {
        'min.insync.replicas': String(root.minInsyncReplicas),
        ...(e.values['configs'] as Record<string, string> | undefined),
      };
      return [
        e.name,
        {
          topic: topicOf(input, e),
          partitions: (e.values['partitions'] as number | undefined) ?? root.partitions,
          replicationFactor: root.replicationFactor,
          configs: Object.fromEntries(Object.entries(configs).sort(byName)),
        },
      ];
    });
    const consumers = input.consumers.map((c): [string, KafkaConsumerIR] => {
      const group = groupOf(input, c);
      return [
        c.id,
        {
          groupId: group,
          retryTopic: c.retry.attempts > 1 ? retryTopicName(group) : null,
          deadLetterTopic: c.deadLetter ? deadLetterTopicName(group) : null,
        },
      ];
    });
    return { root: { ...root }, events: new Map(events), consumers: new Map(consumers) };
  },

  check(input) {
    const problems: SectionProblem[] = [];
    const { replicationFactor: rf, minInsyncReplicas: isr } = rootOf(input);
    if (isr > rf) {
      problems.push({
        kind: 'inconsistent',
        at: { level: 'root', fields: ['minInsyncReplicas', 'replicationFactor'] },
        message: `kafka.minInsyncReplicas (${isr}) cannot exceed kafka.replicationFactor (${rf})`,
        hint: 'producers with acks=all could never write',
      });
    }
    return problems;
  },

  names(input) {
    const claims: ResourceNameClaim[] = [];
    const maxLength = KAFKA_SECTION_LIMITS.maxName;
    for (const e of input.events) {
      const at = { level: 'event', owner: e.name, fields: ['topic'] } as const;
      claims.push({ pool: 'topic', kind: 'topic', name: topicOf(input, e), maxLength, at });
    }
    for (const c of input.consumers) {
      const group = groupOf(input, c);
      const at = { level: 'consumer', owner: c.id, fields: ['groupId'] } as const;
      claims.push({ pool: 'consumer group', kind: 'consumer group', name: group, maxLength, at });
      if (c.retry.attempts > 1)
        claims.push({ pool: 'topic', kind: 'topic', name: retryTopicName(group), maxLength, at });
      if (c.deadLetter) claims.push({ pool: 'topic', kind: 'topic', name: deadLetterTopicName(group), maxLength, at });
    }
    return claims;
  },

  compat(before: TopologyIR, after: TopologyIR) {
    const changes: SectionChange[] = [];
    const oldEvents = new Map(before.events.map((e) => [e.name, e]));
    for (const e of after.events) {
      const old = oldEvents.get(e.name);
      if (!old) continue;
      const [was, now] = [old.kafka.partitions, e.kafka.partitions];
      if (now < was) {
        changes.push({
          kind: 'partitions-decreased',
          event: e.name,
          message: `Kafka partitions of ${e.kafka.topic} decreased from ${was} to ${now}: a topic cannot shrink; create a new topic and migrate instead`,
        });
      } else if (now > was) {
        changes.push({
          kind: 'partitions-increased',
          event: e.name,
          message: `Kafka partitions of ${e.kafka.topic} increased from ${was} to ${now}: the key → partition mapping changes, so messages with the same key may be processed out of order around the change`,
        });
      }
      if (e.kafka.topic !== old.kafka.topic) {
        changes.push({
          kind: 'event-moved',
          event: e.name,
          message: `event '${e.name}' moves from Kafka topic ${old.kafka.topic} to ${e.kafka.topic}: retained messages stay in the old topic`,
        });
      }
    }
    const oldConsumers = new Map(before.consumers.map((c) => [c.id, c]));
    for (const c of after.consumers) {
      const old = oldConsumers.get(c.id);
      if (old && old.kafka.groupId !== c.kafka.groupId) {
        changes.push({
          kind: 'consumer-moved',
          consumer: c.id,
          message: `Kafka group of '${c.id}' changes from ${old.kafka.groupId} to ${c.kafka.groupId}: the new group has no committed offsets, so it reprocesses or skips messages`,
        });
      }
    }
    return changes;
  },

  leftovers: {
    event: (e) => `its Kafka topic ${e.kafka.topic}`,
    consumer: (c) =>
      `Kafka ${[c.kafka.groupId && `group ${c.kafka.groupId}`, c.kafka.retryTopic, c.kafka.deadLetterTopic]
        .filter((x): x is string => typeof x === 'string' && x !== '')
        .join(', ')}`,
    deadLetters: (c) => (c.kafka.deadLetterTopic === null ? [] : [c.kafka.deadLetterTopic]),
    retries: (c) => (c.kafka.retryTopic === null ? [] : [c.kafka.retryTopic]),
  },
};
