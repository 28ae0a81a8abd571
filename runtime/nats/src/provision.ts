/**
 * Make a JetStream server match a topology: create missing streams and durable consumers, update
 * settings that can change in place, and report (never "fix") what cannot. When anything
 * conflicts, nothing is changed at all (as on RabbitMQ and Kafka), so the server never holds half
 * a topology. Idempotent: a second run reports everything `unchanged`.
 *
 * A conflict: a stream with other subjects, another retention or storage (JetStream cannot change
 * those in place; another owner's stream would be taken over), a consumer with another ack or
 * deliver policy or a filter. An update: a stream's max age or de-duplication window, a
 * consumer's ack wait, max ack pending or delivery limit.
 */
import { nanos } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  jetstreamManager,
} from '@nats-io/jetstream';
import type { ConsumerConfig, ConsumerInfo, JetStreamManager, StreamConfig, StreamInfo } from '@nats-io/jetstream';
import type { Logger, TopologyIR } from '@eventform/runtime';
import { EventformError, ProvisioningIncompleteError } from '@eventform/runtime';
import { connectNats, describeNatsError, parseServers } from './client.js';
import { NATS_DEFAULTS } from './defaults.js';
import { natsResources } from './resources.js';
import type { NatsConsumerDescriptor, NatsResourcesOptions, NatsStreamDescriptor } from './resources.js';

export type NatsPlanAction = 'create' | 'unchanged' | 'update' | 'conflict';

/** One line of the provisioning plan. */
export interface NatsPlanItem {
  kind: 'stream' | 'consumer';
  /** A stream's name, or a consumer's as `<stream>/<durable>`. */
  name: string;
  action: NatsPlanAction;
  /** What was (or, with `dryRun`, would be) done, or why it conflicts. */
  detail: string;
}

export interface ProvisionNatsOptions extends NatsResourcesOptions {
  /** Servers, as an array or a comma-separated string. Ignored with `connection`. */
  servers?: string[] | string | undefined;
  /** Use this connection instead of opening (and closing) one. */
  connection?: NatsConnection | undefined;
  /** Compute and return the plan without changing anything. @default false */
  dryRun?: boolean | undefined;
  logger?: Logger | undefined;
  /** @default NATS_DEFAULTS.requestTimeoutMs */
  timeoutMs?: number | undefined;
}

/** Provisioning cannot run at all (server unreachable, JetStream off, a request refused). */
export class NatsProvisionError extends EventformError {
  readonly code = 'EF_NATS_PROVISION';
}

/** Bring the server in line with the topology and return the plan: streams first, then consumers. */
export async function provisionNats(ir: TopologyIR, options: ProvisionNatsOptions = {}): Promise<NatsPlanItem[]> {
  const timeoutMs = options.timeoutMs ?? NATS_DEFAULTS.requestTimeoutMs;
  const servers = parseServers(options.servers ?? NATS_DEFAULTS.servers);
  const nc =
    options.connection ??
    (await connectNats({ servers, name: `${NATS_DEFAULTS.name}-provision`, reconnect: false, timeoutMs }).catch(
      (err: unknown) => {
        throw new NatsProvisionError(`cannot connect to NATS at ${servers.join(',')}: ${describeNatsError(err)}`);
      },
    ));
  try {
    const jsm = await step('reach JetStream', () => jetstreamManager(nc, { timeout: timeoutMs }));
    const desired = natsResources(ir, options);
    const plan: NatsPlanItem[] = [];
    for (const stream of desired.streams) plan.push(planStream(stream, await streamInfo(jsm, stream.name)));
    for (const consumer of desired.consumers) {
      plan.push(planConsumer(consumer, await consumerInfo(jsm, consumer.stream, consumer.durable)));
    }
    for (const item of plan) {
      const line = `nats provision: ${item.action} ${item.kind} ${item.name}: ${item.detail}`;
      if (item.action === 'conflict') options.logger?.warn(line);
      else options.logger?.debug(line);
    }
    if (options.dryRun) return plan.map((i) => withNote(i, 'dry run'));
    if (plan.some((i) => i.action === 'conflict')) {
      options.logger?.warn('nats provision: conflicts found, nothing changed');
      return plan.map((i) => withNote(i, 'not applied: conflicts'));
    }
    const done: string[] = [];
    try {
      for (const stream of desired.streams) {
        const item = plan.find((i) => i.kind === 'stream' && i.name === stream.name)!;
        if (item.action === 'create') await jsm.streams.add(streamConfig(stream));
        else if (item.action === 'update') await jsm.streams.update(stream.name, streamConfig(stream));
        if (item.action === 'create') done.push(`stream ${stream.name}`);
      }
      for (const consumer of desired.consumers) {
        const item = plan.find((i) => i.kind === 'consumer' && i.name === consumerName(consumer))!;
        if (item.action === 'create') await jsm.consumers.add(consumer.stream, consumerConfig(consumer));
        else if (item.action === 'update') {
          await jsm.consumers.update(consumer.stream, consumer.durable, updatableConsumerConfig(consumer));
        }
        if (item.action === 'create') done.push(`consumer ${consumerName(consumer)}`);
      }
    } catch (err) {
      throw new ProvisioningIncompleteError(
        `nats provisioning failed after creating ${done.length} of ${plan.filter((i) => i.action === 'create').length} resources: ${describeNatsError(err)}`,
        done,
        { cause: err },
      );
    }
    return plan;
  } finally {
    if (!options.connection) await nc.close().catch(() => undefined);
  }
}

function withNote(item: NatsPlanItem, note: string): NatsPlanItem {
  return item.action === 'create' || item.action === 'update' ? { ...item, detail: `${item.detail} (${note})` } : item;
}

async function step<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw new NatsProvisionError(`nats provision: ${what} failed: ${describeNatsError(err)}`, { cause: err });
  }
}

function isApiError(err: unknown, code: number): boolean {
  return err instanceof JetStreamApiError && err.code === code;
}

async function streamInfo(jsm: JetStreamManager, name: string): Promise<StreamInfo | undefined> {
  try {
    return await jsm.streams.info(name);
  } catch (err) {
    if (isApiError(err, JetStreamApiCodes.StreamNotFound)) return undefined;
    throw new NatsProvisionError(`nats provision: reading stream ${name} failed: ${describeNatsError(err)}`);
  }
}

async function consumerInfo(jsm: JetStreamManager, stream: string, durable: string): Promise<ConsumerInfo | undefined> {
  try {
    return await jsm.consumers.info(stream, durable);
  } catch (err) {
    if (isApiError(err, JetStreamApiCodes.ConsumerNotFound) || isApiError(err, JetStreamApiCodes.StreamNotFound)) {
      return undefined;
    }
    throw new NatsProvisionError(
      `nats provision: reading consumer ${stream}/${durable} failed: ${describeNatsError(err)}`,
    );
  }
}

/** The JetStream configuration of a stream descriptor. */
export function streamConfig(stream: NatsStreamDescriptor): Partial<StreamConfig> & { name: string } {
  return {
    name: stream.name,
    subjects: stream.subjects,
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: nanos(stream.maxAgeMs),
    duplicate_window: nanos(stream.duplicateWindowMs),
    num_replicas: stream.replicas,
  };
}

function updatableConsumerConfig(consumer: NatsConsumerDescriptor): Partial<ConsumerConfig> {
  return { ack_wait: nanos(consumer.ackWaitMs), max_ack_pending: consumer.maxAckPending, max_deliver: -1 };
}

/** The JetStream configuration of a durable consumer descriptor. */
export function consumerConfig(consumer: NatsConsumerDescriptor): Partial<ConsumerConfig> {
  return {
    durable_name: consumer.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ...updatableConsumerConfig(consumer),
  };
}

const consumerName = (c: NatsConsumerDescriptor): string => `${c.stream}/${c.durable}`;
const ms = (ns: number | undefined): number => Math.round((ns ?? 0) / 1e6);

/** The pure decision for one stream. */
export function planStream(stream: NatsStreamDescriptor, existing: StreamInfo | undefined): NatsPlanItem {
  const item = (action: NatsPlanAction, detail: string): NatsPlanItem => ({
    kind: 'stream',
    name: stream.name,
    action,
    detail,
  });
  const shape = `subjects ${stream.subjects.join(',')}, ${stream.maxAgeMs === 0 ? 'kept for ever' : `max age ${stream.maxAgeMs} ms`}, replicas ${stream.replicas}`;
  if (!existing) return item('create', shape);
  const c = existing.config;
  const problems: string[] = [];
  const subjects = [...(c.subjects ?? [])].sort().join(',');
  if (subjects !== [...stream.subjects].sort().join(',')) {
    problems.push(`subjects are ${subjects || 'none'}, ${stream.subjects.join(',')} declared`);
  }
  if (c.retention !== RetentionPolicy.Limits) problems.push(`retention is ${c.retention}, limits declared`);
  if (c.storage !== StorageType.File) problems.push(`storage is ${c.storage}, file declared`);
  if (c.num_replicas !== stream.replicas) problems.push(`replicas are ${c.num_replicas}, ${stream.replicas} declared`);
  if (problems.length > 0) return item('conflict', `${problems.join('; ')}; left unchanged`);
  const changes: string[] = [];
  if (ms(c.max_age) !== stream.maxAgeMs) changes.push(`max age ${ms(c.max_age)} → ${stream.maxAgeMs} ms`);
  if (ms(c.duplicate_window) !== stream.duplicateWindowMs) {
    changes.push(`duplicate window ${ms(c.duplicate_window)} → ${stream.duplicateWindowMs} ms`);
  }
  return changes.length > 0 ? item('update', changes.join(', ')) : item('unchanged', shape);
}

/** The pure decision for one durable consumer. */
export function planConsumer(consumer: NatsConsumerDescriptor, existing: ConsumerInfo | undefined): NatsPlanItem {
  const item = (action: NatsPlanAction, detail: string): NatsPlanItem => ({
    kind: 'consumer',
    name: consumerName(consumer),
    action,
    detail,
  });
  const shape = `${consumer.role} consumer of ${consumer.owner}, ack wait ${consumer.ackWaitMs} ms, max ack pending ${consumer.maxAckPending}`;
  if (!existing) return item('create', shape);
  const c = existing.config;
  const problems: string[] = [];
  if (c.ack_policy !== AckPolicy.Explicit) problems.push(`ack policy is ${c.ack_policy}, explicit declared`);
  if (c.deliver_policy !== DeliverPolicy.All) problems.push(`deliver policy is ${c.deliver_policy}, all declared`);
  if (c.filter_subject) problems.push(`it filters on ${c.filter_subject}, no filter declared`);
  if (c.deliver_subject) problems.push('it is a push consumer, a pull consumer declared');
  if (problems.length > 0) return item('conflict', `${problems.join('; ')}; left unchanged`);
  const changes: string[] = [];
  if (ms(c.ack_wait) !== consumer.ackWaitMs) changes.push(`ack wait ${ms(c.ack_wait)} → ${consumer.ackWaitMs} ms`);
  if (c.max_ack_pending !== consumer.maxAckPending) {
    changes.push(`max ack pending ${c.max_ack_pending} → ${consumer.maxAckPending}`);
  }
  if ((c.max_deliver ?? -1) !== -1) changes.push(`delivery limit ${c.max_deliver} → none (the runtime counts)`);
  return changes.length > 0 ? item('update', changes.join(', ')) : item('unchanged', shape);
}
