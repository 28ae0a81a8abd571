/**
 * `eventform provision` for RabbitMQ: compare the topology's resources with the broker, then
 * create what is missing — unless something conflicts, in which case nothing is changed.
 *
 * How each resource is checked, over plain AMQP (no management plugin needed):
 * - exchange/queue: a passive declare on a fresh channel (a 404 closes the channel). Missing →
 *   `create`. Present → an active declare with the topology's arguments, again on a fresh
 *   channel: an equivalent declare is a no-op (`unchanged`), different arguments or type make the
 *   broker answer 406 PRECONDITION_FAILED (`conflict`, with the broker's message). Neither
 *   changes anything.
 * - binding: AMQP cannot list bindings. A binding is `create` when its queue or exchange is
 *   missing, otherwise `unchanged`; applying re-binds every binding anyway (binding is
 *   idempotent), so a binding removed by hand is restored.
 */
import type { Channel, ChannelModel } from 'amqplib';
import { ProvisioningIncompleteError, type Logger, type TopologyIR } from '@eventform/runtime';
import { defaultRabbitmqUrl, openConnection } from './defaults.js';
import { NOT_FOUND, PRECONDITION_FAILED, amqpErrorCode, errorMessage } from './errors.js';
import {
  rabbitmqResources,
  type RabbitBinding,
  type RabbitExchange,
  type RabbitExchangeBinding,
  type RabbitQueue,
} from './resources.js';

/** One line of a provisioning plan; Kafka's provisioner returns the same shape. */
export interface PlanItem {
  kind: 'exchange' | 'queue' | 'binding' | 'topic';
  name: string;
  action: 'create' | 'unchanged' | 'conflict';
  /** Human-readable: arguments to create with, or the broker's reason for a conflict. */
  detail: string;
}

export type ProvisionPlan = PlanItem[];

export interface ProvisionRabbitmqOptions {
  /** @default `EVENTFORM_RABBITMQ_URL` or amqp://guest:guest@127.0.0.1:5672 */
  url?: string | undefined;
  /** Only report; change nothing. @default false */
  dryRun?: boolean | undefined;
  logger?: Logger | undefined;
  /** Shown in `rabbitmqctl list_connections`. @default 'eventform-provision' */
  connectionName?: string | undefined;
}

/**
 * Check the topology's resources against the broker and, unless `dryRun` or any conflict, create
 * the missing ones. Never changes an existing resource. Rejects with `BrokerUnavailableError` when
 * the broker cannot be reached; a conflict is reported in the plan, never thrown.
 */
export async function provisionRabbitmq(
  ir: TopologyIR,
  options: ProvisionRabbitmqOptions = {},
): Promise<ProvisionPlan> {
  const resources = rabbitmqResources(ir);
  const connection = await openConnection(
    options.url ?? defaultRabbitmqUrl(),
    options.connectionName ?? 'eventform-provision',
  );
  // A failed check closes its channel, and the connection reports it as an error: expected here.
  connection.on('error', () => {});
  try {
    const plan: ProvisionPlan = [];
    const exchangeState = new Map<string, PlanItem['action']>();
    const queueState = new Map<string, PlanItem['action']>();

    for (const exchange of resources.exchanges) {
      const item = await checkExchange(connection, exchange);
      exchangeState.set(exchange.name, item.action);
      plan.push(item);
    }
    for (const queue of resources.queues) {
      const item = await checkQueue(connection, queue);
      queueState.set(queue.name, item.action);
      plan.push(item);
    }
    for (const binding of resources.bindings) {
      const isNew = exchangeState.get(binding.exchange) === 'create' || queueState.get(binding.queue) === 'create';
      plan.push({
        kind: 'binding',
        name: bindingName(binding),
        action: isNew ? 'create' : 'unchanged',
        detail: isNew ? `routing key ${binding.routingKey}` : 'exists or is restored (binding is idempotent)',
      });
    }
    for (const binding of resources.exchangeBindings) {
      const isNew =
        exchangeState.get(binding.source) === 'create' || exchangeState.get(binding.destination) === 'create';
      plan.push({
        kind: 'binding',
        name: exchangeBindingName(binding),
        action: isNew ? 'create' : 'unchanged',
        detail: isNew ? `routing key ${binding.routingKey}` : 'exists or is restored (binding is idempotent)',
      });
    }

    const conflicts = plan.filter((p) => p.action === 'conflict');
    if (conflicts.length > 0) {
      options.logger?.warn('rabbitmq provisioning: conflicts found, nothing changed', { conflicts: conflicts.length });
      return plan;
    }
    if (options.dryRun) return plan;

    // What was declared before a failure is reported with it (a refusal part-way leaves those behind).
    const completed: string[] = [];
    const newBindings = new Set(plan.filter((p) => p.kind === 'binding' && p.action === 'create').map((p) => p.name));
    const channel = await connection.createChannel();
    try {
      for (const exchange of resources.exchanges) {
        await declareExchange(channel, exchange);
        if (exchangeState.get(exchange.name) === 'create') completed.push(`exchange ${exchange.name}`);
      }
      for (const queue of resources.queues) {
        await declareQueue(channel, queue);
        if (queueState.get(queue.name) === 'create') completed.push(`queue ${queue.name}`);
      }
      for (const binding of resources.bindings) {
        await channel.bindQueue(binding.queue, binding.exchange, binding.routingKey);
        if (newBindings.has(bindingName(binding))) completed.push(`binding ${bindingName(binding)}`);
      }
      for (const binding of resources.exchangeBindings) {
        await channel.bindExchange(binding.destination, binding.source, binding.routingKey);
        const name = exchangeBindingName(binding);
        if (newBindings.has(name)) completed.push(`binding ${name}`);
      }
    } catch (err) {
      throw new ProvisioningIncompleteError(
        `rabbitmq provisioning failed after ${completed.length} of the planned changes: ${errorMessage(err)}`,
        completed,
        { cause: err },
      );
    } finally {
      await closeQuietly(channel);
    }
    options.logger?.info('rabbitmq provisioning applied', {
      created: plan.filter((p) => p.action === 'create').length,
    });
    return plan;
  } finally {
    await connection.close().catch(() => {});
  }
}

export function declareExchange(channel: Channel, exchange: RabbitExchange): Promise<unknown> {
  return channel.assertExchange(exchange.name, exchange.type, {
    durable: exchange.durable,
    arguments: exchange.arguments,
  });
}

export function declareQueue(channel: Channel, queue: RabbitQueue): Promise<unknown> {
  return channel.assertQueue(queue.name, { durable: queue.durable, arguments: queue.arguments });
}

export function bindingName(binding: RabbitBinding): string {
  return `${binding.exchange} -> ${binding.queue} [${binding.routingKey}]`;
}

export function exchangeBindingName(binding: RabbitExchangeBinding): string {
  return `${binding.source} -> exchange ${binding.destination} [${binding.routingKey}]`;
}

async function checkExchange(connection: ChannelModel, exchange: RabbitExchange): Promise<PlanItem> {
  const base = { kind: 'exchange' as const, name: exchange.name };
  const exists = await probe(connection, (ch) => ch.checkExchange(exchange.name));
  if (exists.ok === false && exists.code === NOT_FOUND) {
    return { ...base, action: 'create', detail: `${exchange.type}, durable` };
  }
  if (exists.ok === false) throw exists.error;
  const same = await probe(connection, (ch) => declareExchange(ch, exchange));
  if (same.ok) return { ...base, action: 'unchanged', detail: `${exchange.type}, durable` };
  if (same.code === PRECONDITION_FAILED) return { ...base, action: 'conflict', detail: brokerReason(same.error) };
  throw same.error;
}

async function checkQueue(connection: ChannelModel, queue: RabbitQueue): Promise<PlanItem> {
  const base = { kind: 'queue' as const, name: queue.name };
  const detail = describeArguments(queue.arguments);
  const exists = await probe(connection, (ch) => ch.checkQueue(queue.name));
  if (exists.ok === false && exists.code === NOT_FOUND) return { ...base, action: 'create', detail };
  if (exists.ok === false) throw exists.error;
  const same = await probe(connection, (ch) => declareQueue(ch, queue));
  if (same.ok) return { ...base, action: 'unchanged', detail };
  if (same.code === PRECONDITION_FAILED) return { ...base, action: 'conflict', detail: brokerReason(same.error) };
  throw same.error;
}

type ProbeResult = { ok: true } | { ok: false; code: number | undefined; error: unknown };

/** Run one declare on its own channel: a failed declare closes the channel it ran on. */
async function probe(connection: ChannelModel, run: (channel: Channel) => Promise<unknown>): Promise<ProbeResult> {
  const channel = await connection.createChannel();
  channel.on('error', () => {});
  try {
    await run(channel);
    await closeQuietly(channel);
    return { ok: true };
  } catch (error) {
    return { ok: false, code: amqpErrorCode(error), error };
  }
}

async function closeQuietly(channel: Channel): Promise<void> {
  try {
    await channel.close();
  } catch {
    // already closed by the broker
  }
}

function describeArguments(args: Record<string, unknown>): string {
  return Object.entries(args)
    .map(([k, v]) => `${k}=${v === '' ? "''" : String(v)}`)
    .join(' ');
}

/** The broker's text, without amqplib's "Channel closed by server: 406 (PRECONDITION-FAILED) with message" wrapper. */
function brokerReason(error: unknown): string {
  const message = errorMessage(error);
  const quoted = /with message "(.*)"$/s.exec(message);
  return quoted?.[1] ?? message;
}
