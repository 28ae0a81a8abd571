/**
 * The RabbitMQ resources a topology needs, as plain data.
 *
 * `rabbitmqResources` is a pure, deterministic function of the IR: the transport asserts its
 * output at start-up, `eventform provision` checks and creates it, and the code generator emits
 * it as provisioning descriptors. Same IR, same output (every list is sorted).
 *
 * Layout, per consumer `<service>.<handler>`:
 *
 * - main queue, bound to the events exchange with the routing key of every consumed event;
 * - one retry queue per delay tier: a per-queue `x-message-ttl`, dead-lettering through the
 *   default exchange with the main queue's name as routing key, so an expired retry goes back to
 *   this consumer's queue only — never to the other consumers of the event. Retry queues are not
 *   bound to any exchange: the transport publishes to them by name through the default exchange;
 * - a dead-letter queue (unless `deadLetter: false`), also written to by name.
 *
 * A handler with per-key order (`rabbitmq.partitions`, {@link RabbitPartitionsIR}) has, instead of
 * its main queue, an `x-consistent-hash` exchange bound to the events exchange with each consumed
 * event's routing key (an exchange-to-exchange binding), hashing the `partitionkey` header, and N
 * partition queues bound to it with weight 1, each with a single active consumer. Its retry queues
 * expire back into that exchange, so a retried event returns to its key's partition.
 *
 * On quorum queues the retry → main hop uses `x-dead-letter-strategy: at-least-once`, which
 * RabbitMQ (3.10+) only accepts together with `x-overflow: reject-publish`; classic queues
 * dead-letter at most once.
 */
import type { ConsumerIR, TopologyIR } from '@eventform/runtime';
import type { QueueType } from './ir.js';
import { PARTITION_KEY_HEADER } from './wire.js';

/** An AMQP table value as used in `x-*` arguments. */
export type RabbitArgumentValue = string | number | boolean;

/** Queue or exchange arguments, keys sorted. */
export type RabbitArguments = Record<string, RabbitArgumentValue>;

export interface RabbitExchange {
  name: string;
  /** `topic` for events; `x-consistent-hash` for a handler's partitions. */
  type: 'topic' | 'x-consistent-hash';
  durable: true;
  arguments: RabbitArguments;
}

/** What a queue is for; lets tools group or explain queues without parsing names. */
export type RabbitQueueRole = 'main' | 'partition' | 'retry' | 'dead-letter';

export interface RabbitQueue {
  name: string;
  role: RabbitQueueRole;
  /** Consumer id (`service.handler`) the queue belongs to. */
  consumer: string;
  queueType: QueueType;
  durable: true;
  /** Declare arguments, including `x-queue-type`; keys sorted. */
  arguments: RabbitArguments;
  /** Retry queues only: the per-queue TTL, i.e. the delay of this tier. */
  delayMs?: number | undefined;
}

export interface RabbitBinding {
  /** Source exchange. */
  exchange: string;
  /** Destination queue. */
  queue: string;
  routingKey: string;
}

/** An exchange-to-exchange binding: `source` passes what matches `routingKey` on to `destination`. */
export interface RabbitExchangeBinding {
  source: string;
  destination: string;
  routingKey: string;
}

export interface RabbitResources {
  exchanges: RabbitExchange[];
  queues: RabbitQueue[];
  bindings: RabbitBinding[];
  /** Events exchange → partition exchanges of handlers with per-key order; empty otherwise. */
  exchangeBindings: RabbitExchangeBinding[];
}

/** The weight of each partition queue on its consistent-hash exchange (equal shares). */
export const PARTITION_WEIGHT = '1';

/** The default exchange: publishing to it with a queue's name as routing key reaches that queue. */
export const DEFAULT_EXCHANGE = '';

/** Everything the topology needs on RabbitMQ. Pure and deterministic. */
export function rabbitmqResources(ir: TopologyIR): RabbitResources {
  const exchangeNames = new Set<string>([ir.rabbitmq.exchange]);
  for (const event of ir.events) exchangeNames.add(event.rabbitmq.exchange);

  const exchanges: RabbitExchange[] = [...exchangeNames].sort(compare).map((name) => ({
    name,
    type: 'topic',
    durable: true,
    arguments: {},
  }));

  const events = new Map(ir.events.map((e) => [e.name, e]));
  const queues: RabbitQueue[] = [];
  const bindings: RabbitBinding[] = [];
  const exchangeBindings: RabbitExchangeBinding[] = [];

  for (const consumer of ir.consumers) {
    queues.push(...consumerQueues(consumer));
    const partitions = consumer.rabbitmq.partitions;
    if (partitions) {
      exchanges.push({
        name: partitions.exchange,
        type: 'x-consistent-hash',
        durable: true,
        arguments: { 'hash-header': PARTITION_KEY_HEADER },
      });
      for (const queue of partitions.queues) {
        bindings.push({ exchange: partitions.exchange, queue, routingKey: PARTITION_WEIGHT });
      }
    }
    for (const eventName of consumer.events) {
      const event = events.get(eventName);
      if (!event) throw new Error(`consumer ${consumer.id} consumes unknown event ${eventName}`);
      const { exchange, routingKey } = event.rabbitmq;
      if (partitions) exchangeBindings.push({ source: exchange, destination: partitions.exchange, routingKey });
      else bindings.push({ exchange, queue: consumer.rabbitmq.queue, routingKey });
    }
  }

  exchanges.sort((a, b) => compare(a.name, b.name));
  queues.sort((a, b) => compare(a.name, b.name));
  bindings.sort(
    (a, b) => compare(a.queue, b.queue) || compare(a.exchange, b.exchange) || compare(a.routingKey, b.routingKey),
  );
  exchangeBindings.sort(
    (a, b) =>
      compare(a.destination, b.destination) || compare(a.source, b.source) || compare(a.routingKey, b.routingKey),
  );
  return {
    exchanges,
    queues,
    bindings: dedupeBindings(bindings),
    exchangeBindings: exchangeBindings.filter(
      (b, i) =>
        i === 0 ||
        !(
          b.source === exchangeBindings[i - 1]!.source &&
          b.destination === exchangeBindings[i - 1]!.destination &&
          b.routingKey === exchangeBindings[i - 1]!.routingKey
        ),
    ),
  };
}

/**
 * The queues of one consumer: main (or its partition queues), retry tiers (ascending delay),
 * dead-letter.
 */
export function consumerQueues(consumer: ConsumerIR): RabbitQueue[] {
  const { queue, queueType, retryQueues, deadLetterQueue, partitions } = consumer.rabbitmq;
  const base = { consumer: consumer.id, queueType, durable: true as const };
  const out: RabbitQueue[] = partitions
    ? partitions.queues.map((name) => ({
        ...base,
        name,
        role: 'partition' as const,
        // One consumer at a time per partition, whichever instance subscribed first: per-key order.
        arguments: sortKeys({ 'x-queue-type': queueType, 'x-single-active-consumer': true }),
      }))
    : [{ ...base, name: queue, role: 'main', arguments: sortKeys({ 'x-queue-type': queueType }) }];
  for (const retry of retryQueues) {
    out.push({
      ...base,
      name: retry.name,
      role: 'retry',
      delayMs: retry.delayMs,
      arguments: partitions
        ? retryQueueArguments(queueType, retry.delayMs, { exchange: partitions.exchange })
        : retryQueueArguments(queueType, retry.delayMs, { exchange: DEFAULT_EXCHANGE, routingKey: queue }),
    });
  }
  if (deadLetterQueue !== null) {
    out.push({
      ...base,
      name: deadLetterQueue,
      role: 'dead-letter',
      arguments: sortKeys({ 'x-queue-type': queueType }),
    });
  }
  return out;
}

/**
 * Where an expired retry goes: the handler's main queue (default exchange, its name as routing key),
 * or, with partitions, the partition exchange (which hashes the key header, not the routing key).
 */
function retryQueueArguments(
  queueType: QueueType,
  delayMs: number,
  back: { exchange: string; routingKey?: string },
): RabbitArguments {
  const args: RabbitArguments = {
    'x-queue-type': queueType,
    'x-message-ttl': delayMs,
    'x-dead-letter-exchange': back.exchange,
  };
  if (back.routingKey !== undefined) args['x-dead-letter-routing-key'] = back.routingKey;
  if (queueType === 'quorum') {
    // At-least-once dead-lettering: the message leaves the retry queue only once the main queue
    // has confirmed it. RabbitMQ requires reject-publish overflow for this strategy.
    args['x-dead-letter-strategy'] = 'at-least-once';
    args['x-overflow'] = 'reject-publish';
  }
  return sortKeys(args);
}

/**
 * The retry queue for a requested delay: the smallest tier whose delay is ≥ `delayMs` (so the
 * message is never handled early), or the longest tier when the delay exceeds them all.
 * `undefined` when the consumer has no retry queues.
 */
export function retryTierFor(consumer: ConsumerIR, delayMs: number): { name: string; delayMs: number } | undefined {
  const tiers = [...consumer.rabbitmq.retryQueues].sort((a, b) => a.delayMs - b.delayMs);
  return tiers.find((t) => t.delayMs >= delayMs) ?? tiers[tiers.length - 1];
}

function dedupeBindings(sorted: RabbitBinding[]): RabbitBinding[] {
  return sorted.filter((b, i) => i === 0 || !sameBinding(b, sorted[i - 1] as RabbitBinding));
}

function sameBinding(a: RabbitBinding, b: RabbitBinding): boolean {
  return a.exchange === b.exchange && a.queue === b.queue && a.routingKey === b.routingKey;
}

function sortKeys<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => compare(a, b)));
}

/** Code-unit order, independent of locale, so output is identical on every machine. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export { provisioningDocument } from './provisioning-document.js';
export { topologySection } from './topology-section.js';
export type { QueueType, RabbitConsumerIR, RabbitEventIR, RabbitPartitionsIR, RabbitTopologyIR } from './ir.js';
