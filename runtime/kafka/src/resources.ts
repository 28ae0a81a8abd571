/**
 * The Kafka resources a topology needs, derived from its IR: a pure function (no I/O, no
 * clock, no randomness), so the provisioner, the transport and the code generator all agree on
 * the same topic list and the generator's output stays deterministic.
 *
 * Layout (names come from the IR, which the spec loader derived from the topology):
 * - one topic per event (`EventIR.kafka`): partitions, replication factor and configs as declared;
 * - per consumer, a retry topic (`ConsumerIR.kafka.retryTopic`) that only this consumer reads,
 *   so a retry never reaches another consumer of the same event;
 * - per consumer with dead-lettering on, a dead-letter topic (`ConsumerIR.kafka.deadLetterTopic`).
 */
import type { ConsumerIR, TopologyIR } from '@eventform/runtime';

/** Why a topic exists. */
export type KafkaTopicRole = 'event' | 'retry' | 'dead-letter';

/** One topic as it should exist on the cluster. */
export interface KafkaTopicDescriptor {
  name: string;
  role: KafkaTopicRole;
  /** The event name (role `event`) or the consumer id (roles `retry`, `dead-letter`). */
  owner: string;
  partitions: number;
  replicationFactor: number;
  /** Topic configs to set and verify, values as strings; sorted by name. */
  configs: Record<string, string>;
}

export interface KafkaResources {
  /** Sorted by name; no duplicates. */
  topics: KafkaTopicDescriptor[];
  /** Human-readable remarks about adjustments made (e.g. replication clamped to the cluster). */
  notes: string[];
}

export interface KafkaResourcesOptions {
  /**
   * Live brokers in the target cluster. When smaller than a topic's replication factor, the
   * factor is clamped to it and `min.insync.replicas` to `max(1, rf - 1)`, with a note, so a
   * single development broker can host a topology declared for production.
   * @default undefined (no clamping: the IR's values are used as they are)
   */
  brokerCount?: number | undefined;
}

/** Config key Kafka uses for the minimum in-sync replicas of a write with `acks=all`. */
export const MIN_INSYNC_REPLICAS = 'min.insync.replicas';

/**
 * Dead-letter topics keep their records until someone deals with them: a dead letter that
 * expires after the broker's default 7 days would be a message dropped silently.
 */
export const DEAD_LETTER_TOPIC_CONFIGS: Readonly<Record<string, string>> = { 'retention.ms': '-1' };

/** Every topic the topology needs on Kafka, sorted by name. */
export function kafkaResources(ir: TopologyIR, opts: KafkaResourcesOptions = {}): KafkaResources {
  const byName = new Map<string, KafkaTopicDescriptor>();
  const add = (topic: KafkaTopicDescriptor): void => {
    const existing = byName.get(topic.name);
    if (existing) {
      if (JSON.stringify(existing) === JSON.stringify(topic)) return;
      throw new Error(
        `Kafka topic "${topic.name}" is needed both as ${describe(existing)} and as ${describe(topic)}; ` +
          'give one of them another name in the topology',
      );
    }
    byName.set(topic.name, topic);
  };

  const partitionsOf = new Map(ir.events.map((e) => [e.name, e.kafka.partitions]));

  for (const event of ir.events) {
    add({
      name: event.kafka.topic,
      role: 'event',
      owner: event.name,
      partitions: event.kafka.partitions,
      replicationFactor: event.kafka.replicationFactor,
      configs: sortedConfigs({ [MIN_INSYNC_REPLICAS]: String(ir.kafka.minInsyncReplicas), ...event.kafka.configs }),
    });
  }

  for (const consumer of ir.consumers) {
    // Side topics get as many partitions as the widest event they carry, so a retried or
    // dead-lettered message keeps its key's partition affinity and retries stay parallel.
    const partitions = sidePartitions(consumer, partitionsOf, ir.kafka.partitions);
    const base = {
      owner: consumer.id,
      partitions,
      replicationFactor: ir.kafka.replicationFactor,
    };
    if (consumer.kafka.retryTopic) {
      add({
        ...base,
        name: consumer.kafka.retryTopic,
        role: 'retry',
        configs: sortedConfigs({ [MIN_INSYNC_REPLICAS]: String(ir.kafka.minInsyncReplicas) }),
      });
    }
    if (consumer.kafka.deadLetterTopic) {
      add({
        ...base,
        name: consumer.kafka.deadLetterTopic,
        role: 'dead-letter',
        configs: sortedConfigs({
          [MIN_INSYNC_REPLICAS]: String(ir.kafka.minInsyncReplicas),
          ...DEAD_LETTER_TOPIC_CONFIGS,
        }),
      });
    }
  }

  const topics = [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const notes: string[] = [];
  if (opts.brokerCount !== undefined) clampToCluster(topics, opts.brokerCount, notes);
  return { topics, notes };
}

function sidePartitions(consumer: ConsumerIR, partitionsOf: Map<string, number>, fallback: number): number {
  let max = 0;
  for (const event of consumer.events) max = Math.max(max, partitionsOf.get(event) ?? 0);
  return max > 0 ? max : fallback;
}

/** Clamp replication to the cluster size, in place, recording one note per distinct change. */
function clampToCluster(topics: KafkaTopicDescriptor[], brokerCount: number, notes: string[]): void {
  if (!Number.isInteger(brokerCount) || brokerCount < 1) {
    throw new Error(`brokerCount must be a positive integer, got ${String(brokerCount)}`);
  }
  const changes = new Map<string, string[]>();
  for (const topic of topics) {
    if (topic.replicationFactor <= brokerCount) continue;
    const fromRf = topic.replicationFactor;
    const rf = brokerCount;
    const isrLimit = Math.max(1, rf - 1);
    const declaredIsr = Number(topic.configs[MIN_INSYNC_REPLICAS] ?? '1');
    const isr = Math.min(declaredIsr, isrLimit);
    topic.replicationFactor = rf;
    topic.configs = sortedConfigs({ ...topic.configs, [MIN_INSYNC_REPLICAS]: String(isr) });
    const what = `replication factor ${fromRf} → ${rf}, ${MIN_INSYNC_REPLICAS} ${declaredIsr} → ${isr}`;
    const list = changes.get(what) ?? [];
    list.push(topic.name);
    changes.set(what, list);
  }
  for (const [what, names] of changes) {
    const which = names.length <= 4 ? names.join(', ') : `${names.length} topics`;
    notes.push(
      `the cluster has ${brokerCount} broker${brokerCount === 1 ? '' : 's'}: ${what} for ${which}; ` +
        'fine for development, not for production',
    );
  }
}

function sortedConfigs(configs: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(configs).sort()) out[key] = configs[key] as string;
  return out;
}

function describe(topic: KafkaTopicDescriptor): string {
  return topic.role === 'event' ? `the topic of event ${topic.owner}` : `the ${topic.role} topic of ${topic.owner}`;
}

export { provisioningDocument } from './provisioning-document.js';
export { topologySection } from './topology-section.js';
export type { KafkaConsumerIR, KafkaEventIR, KafkaTopologyIR } from './ir.js';
