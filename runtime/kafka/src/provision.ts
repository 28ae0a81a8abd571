/**
 * Make a Kafka cluster match a topology: create missing topics, grow partitions, and report
 * (never "fix") what cannot be changed safely. When anything conflicts, nothing is changed at
 * all (like the RabbitMQ provisioner), so the cluster never holds half a topology.
 *
 * Idempotent: a second run on an up-to-date cluster reports every topic `unchanged`. Kafka cannot
 * shrink a topic, and changing a config or the replication factor of a live topic is an
 * operational decision (retention, durability), so those differences are reported as `conflict`
 * and left alone; the caller decides whether a conflict is fatal (the transport's start is).
 */
import kafkajs from 'kafkajs';
import type { Admin, ConfigEntries, RetryOptions } from 'kafkajs';
import type { Logger, TopologyIR } from '@eventform/runtime';
import { EventformError, ProvisioningIncompleteError } from '@eventform/runtime';
import { createKafkaClient, describeKafkaError, parseBrokers } from './client.js';
import { KAFKA_DEFAULTS } from './defaults.js';
import { kafkaResources, type KafkaTopicDescriptor } from './resources.js';

const { ConfigResourceTypes } = kafkajs;

export type KafkaPlanAction = 'create' | 'unchanged' | 'update' | 'conflict';

/** One line of the provisioning plan. */
export interface KafkaPlanItem {
  kind: 'topic';
  name: string;
  action: KafkaPlanAction;
  /** What was (or, with `dryRun`, would be) done, or why it conflicts. */
  detail: string;
}

export interface ProvisionKafkaOptions {
  /** `host:port` list, as an array or a comma-separated string. */
  brokers: string[] | string;
  /** Compute and return the plan without changing anything. @default false */
  dryRun?: boolean | undefined;
  logger?: Logger | undefined;
  /** @default 'eventform' */
  clientId?: string | undefined;
  /** Use this connected admin client instead of creating (and closing) one. */
  admin?: Admin | undefined;
  /** kafkajs retry policy of the admin requests. @default 5 retries (fails within ~10s) */
  retry?: RetryOptions | undefined;
}

/** A topic as it exists on the cluster. */
export interface ExistingTopic {
  partitions: number;
  replicationFactor: number;
  /** Effective values (explicit or default) of the configs asked for. */
  configs: Record<string, string>;
}

/** Thrown when provisioning cannot run at all (unreachable cluster, rejected request). */
export class KafkaProvisionError extends EventformError {
  readonly code = 'EF_KAFKA_PROVISION';
}

/**
 * Bring the cluster at `brokers` in line with the topology and return the plan, sorted by topic
 * name. Replication is clamped to the number of live brokers (see {@link kafkaResources}); a
 * clamped topic says so in its `detail` and the logger gets a warning.
 */
export async function provisionKafka(ir: TopologyIR, options: ProvisionKafkaOptions): Promise<KafkaPlanItem[]> {
  const logger = options.logger;
  const brokers = parseBrokers(options.brokers);
  const ownAdmin = !options.admin;
  const admin =
    options.admin ??
    createKafkaClient({
      brokers,
      clientId: options.clientId ?? KAFKA_DEFAULTS.clientId,
      logger,
      retry: options.retry ?? KAFKA_DEFAULTS.provisionRetry,
    }).admin();
  try {
    if (ownAdmin) {
      await admin.connect().catch((error: unknown) => {
        throw new KafkaProvisionError(`cannot connect to Kafka at ${brokers.join(',')}: ${describeKafkaError(error)}`);
      });
    }
    const cluster = await step('describe the cluster', () => admin.describeCluster());
    const brokerCount = cluster.brokers.length;
    const declared = kafkaResources(ir);
    const desired = kafkaResources(ir, { brokerCount });
    for (const note of desired.notes) logger?.warn(`kafka provision: ${note}`);

    const existing = await readExisting(admin, desired.topics);
    const declaredByName = new Map(declared.topics.map((t) => [t.name, t]));
    const plan = desired.topics.map((topic) =>
      planTopic(topic, existing.get(topic.name), declaredByName.get(topic.name)),
    );

    for (const item of plan) {
      const line = `kafka provision: ${item.action} topic ${item.name}: ${item.detail}`;
      if (item.action === 'conflict') logger?.warn(line);
      else logger?.debug(line);
    }
    if (options.dryRun) return plan.map((i) => withNote(i, 'dry run'));
    // All or nothing: half a topology on the cluster is harder to reason about than none.
    if (plan.some((i) => i.action === 'conflict')) {
      logger?.warn('kafka provision: conflicts found, nothing changed');
      return plan.map((i) => withNote(i, 'not applied: conflicts'));
    }
    try {
      await apply(admin, plan, desired.topics);
    } catch (err) {
      // Report what exists now of what was to be created: a refusal part-way leaves those behind.
      const existing = new Set(await admin.listTopics().catch(() => [] as string[]));
      const completed = plan.filter((i) => i.action === 'create' && existing.has(i.name)).map((i) => `topic ${i.name}`);
      throw new ProvisioningIncompleteError(
        `kafka provisioning failed after creating ${completed.length} of ${plan.filter((i) => i.action === 'create').length} topics: ${err instanceof Error ? err.message : String(err)}`,
        completed,
        { cause: err },
      );
    }
    return plan;
  } finally {
    if (ownAdmin) await admin.disconnect().catch(() => undefined);
  }
}

function withNote(item: KafkaPlanItem, note: string): KafkaPlanItem {
  return item.action === 'create' || item.action === 'update' ? { ...item, detail: `${item.detail} (${note})` } : item;
}

/**
 * The pure decision for one topic. `declared` is the descriptor before clamping to the cluster
 * size, used only to mention a clamp in the detail.
 */
export function planTopic(
  topic: KafkaTopicDescriptor,
  existing: ExistingTopic | undefined,
  declared?: KafkaTopicDescriptor,
): KafkaPlanItem {
  const clamp =
    declared && declared.replicationFactor !== topic.replicationFactor
      ? ` (replication clamped from ${declared.replicationFactor})`
      : '';
  const item = (action: KafkaPlanAction, detail: string): KafkaPlanItem => ({
    kind: 'topic',
    name: topic.name,
    action,
    detail,
  });
  const shape = `${topic.partitions} partition${topic.partitions === 1 ? '' : 's'}, replication ${topic.replicationFactor}`;
  if (!existing) return item('create', `${shape}, ${formatConfigs(topic.configs)}${clamp}`);

  const problems: string[] = [];
  if (existing.partitions > topic.partitions) {
    problems.push(
      `has ${existing.partitions} partitions, ${topic.partitions} declared: Kafka cannot remove partitions`,
    );
  }
  if (existing.replicationFactor !== topic.replicationFactor) {
    problems.push(
      `replication factor is ${existing.replicationFactor}, ${topic.replicationFactor} declared${clamp}: change it with a partition reassignment`,
    );
  }
  for (const [name, value] of Object.entries(topic.configs)) {
    const actual = existing.configs[name];
    if (actual !== value) {
      problems.push(`config ${name} is ${actual === undefined ? 'unknown' : `"${actual}"`}, "${value}" declared`);
    }
  }
  if (problems.length > 0) return item('conflict', `${problems.join('; ')}; left unchanged`);
  if (existing.partitions < topic.partitions) {
    return item('update', `partitions ${existing.partitions} → ${topic.partitions} (keys may map to new partitions)`);
  }
  return item('unchanged', `${shape}${clamp}`);
}

async function readExisting(admin: Admin, topics: KafkaTopicDescriptor[]): Promise<Map<string, ExistingTopic>> {
  const all = new Set(await step('list topics', () => admin.listTopics()));
  const present = topics.filter((t) => all.has(t.name));
  const out = new Map<string, ExistingTopic>();
  if (present.length === 0) return out;
  const names = present.map((t) => t.name);
  const metadata = await step('fetch topic metadata', () => admin.fetchTopicMetadata({ topics: names }));
  const configs = await step('describe topic configs', () =>
    admin.describeConfigs({
      includeSynonyms: false,
      resources: present.map((t) => ({
        type: ConfigResourceTypes.TOPIC,
        name: t.name,
        configNames: Object.keys(t.configs),
      })),
    }),
  );
  const configsByTopic = new Map<string, ConfigEntries[]>();
  for (const resource of configs.resources) {
    if (resource.errorCode !== 0) {
      throw new KafkaProvisionError(
        `describe configs of topic ${resource.resourceName} failed: ${resource.errorMessage || `error code ${resource.errorCode}`}`,
      );
    }
    configsByTopic.set(resource.resourceName, resource.configEntries);
  }
  for (const topic of metadata.topics) {
    const entries: Record<string, string> = {};
    for (const entry of configsByTopic.get(topic.name) ?? []) entries[entry.configName] = entry.configValue;
    out.set(topic.name, {
      partitions: topic.partitions.length,
      replicationFactor: topic.partitions[0]?.replicas.length ?? 0,
      configs: entries,
    });
  }
  return out;
}

async function apply(admin: Admin, plan: KafkaPlanItem[], topics: KafkaTopicDescriptor[]): Promise<void> {
  const byName = new Map(topics.map((t) => [t.name, t]));
  const creates = plan.filter((i) => i.action === 'create').map((i) => byName.get(i.name) as KafkaTopicDescriptor);
  const updates = plan.filter((i) => i.action === 'update').map((i) => byName.get(i.name) as KafkaTopicDescriptor);
  if (creates.length > 0) {
    // `false` means another provisioner created them first: as good as created. Leaders are
    // awaited below, not by kafkajs: its wait gives up on UNKNOWN_TOPIC_OR_PARTITION, which a
    // KRaft broker answers for a moment after creating a topic.
    await step('create topics', () =>
      admin.createTopics({
        waitForLeaders: false,
        timeout: KAFKA_DEFAULTS.requestTimeoutMs,
        topics: creates.map((t) => ({
          topic: t.name,
          numPartitions: t.partitions,
          replicationFactor: t.replicationFactor,
          configEntries: Object.entries(t.configs).map(([name, value]) => ({ name, value })),
        })),
      }),
    );
  }
  if (updates.length > 0) {
    await step('create partitions', () =>
      admin.createPartitions({
        timeout: KAFKA_DEFAULTS.requestTimeoutMs,
        topicPartitions: updates.map((t) => ({ topic: t.name, count: t.partitions })),
      }),
    );
  }
  const changed = [...creates, ...updates];
  if (changed.length > 0) await waitForLeaders(admin, changed);
}

/** Until every partition of `topics` exists and has a leader, so producers can write at once. */
async function waitForLeaders(admin: Admin, topics: KafkaTopicDescriptor[]): Promise<void> {
  const deadline = Date.now() + KAFKA_DEFAULTS.requestTimeoutMs;
  for (;;) {
    let last: string;
    try {
      const { topics: meta } = await admin.fetchTopicMetadata({ topics: topics.map((t) => t.name) });
      const pending = topics.filter((t) => {
        const found = meta.find((m) => m.name === t.name);
        return !found || found.partitions.length < t.partitions || found.partitions.some((p) => p.leader < 0);
      });
      if (pending.length === 0) return;
      last = `no leader yet for ${pending.map((t) => t.name).join(', ')}`;
    } catch (error) {
      const type = (error as { type?: string }).type;
      if (type !== 'UNKNOWN_TOPIC_OR_PARTITION' && type !== 'LEADER_NOT_AVAILABLE') {
        throw new KafkaProvisionError(
          `kafka provision: waiting for topic leaders failed: ${describeKafkaError(error)}`,
        );
      }
      last = describeKafkaError(error);
    }
    if (Date.now() > deadline)
      throw new KafkaProvisionError(
        `kafka provision: topics have no leader after ${KAFKA_DEFAULTS.requestTimeoutMs}ms (${last})`,
      );
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function step<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof KafkaProvisionError) throw error;
    throw new KafkaProvisionError(`kafka provision: ${what} failed: ${describeKafkaError(error)}`);
  }
}

function formatConfigs(configs: Record<string, string>): string {
  const entries = Object.entries(configs);
  return entries.length === 0 ? 'no configs' : entries.map(([k, v]) => `${k}=${v}`).join(', ');
}
