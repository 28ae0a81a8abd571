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
 * On quorum queues the retry → main hop uses `x-dead-letter-strategy: at-least-once`, which
 * RabbitMQ (3.10+) only accepts together with `x-overflow: reject-publish`; classic queues
 * dead-letter at most once.
 */
import type { ConsumerIR, QueueType, TopologyIR } from '@eventform/runtime';

/** An AMQP table value as used in `x-*` arguments. */
export type RabbitArgumentValue = string | number | boolean;

/** Queue or exchange arguments, keys sorted. */
export type RabbitArguments = Record<string, RabbitArgumentValue>;

export interface RabbitExchange {
  name: string;
  type: 'topic';
  durable: true;
  arguments: RabbitArguments;
}

/** What a queue is for; lets tools group or explain queues without parsing names. */
export type RabbitQueueRole = 'main' | 'retry' | 'dead-letter';

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
  delayMs?: number;
}

export interface RabbitBinding {
  /** Source exchange. */
  exchange: string;
  /** Destination queue. */
  queue: string;
  routingKey: string;
}

export interface RabbitResources {
  exchanges: RabbitExchange[];
  queues: RabbitQueue[];
  bindings: RabbitBinding[];
}

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

  for (const consumer of ir.consumers) {
    queues.push(...consumerQueues(consumer));
    for (const eventName of consumer.events) {
      const event = events.get(eventName);
      if (!event) throw new Error(`consumer ${consumer.id} consumes unknown event ${eventName}`);
      bindings.push({
        exchange: event.rabbitmq.exchange,
        queue: consumer.rabbitmq.queue,
        routingKey: event.rabbitmq.routingKey,
      });
    }
  }

  queues.sort((a, b) => compare(a.name, b.name));
  bindings.sort(
    (a, b) => compare(a.queue, b.queue) || compare(a.exchange, b.exchange) || compare(a.routingKey, b.routingKey),
  );
  return { exchanges, queues, bindings: dedupeBindings(bindings) };
}

/** The queues of one consumer: main, retry tiers (ascending delay), dead-letter. */
export function consumerQueues(consumer: ConsumerIR): RabbitQueue[] {
  const { queue, queueType, retryQueues, deadLetterQueue } = consumer.rabbitmq;
  const base = { consumer: consumer.id, queueType, durable: true as const };
  const out: RabbitQueue[] = [
    { ...base, name: queue, role: 'main', arguments: sortKeys({ 'x-queue-type': queueType }) },
  ];
  for (const retry of retryQueues) {
    out.push({
      ...base,
      name: retry.name,
      role: 'retry',
      delayMs: retry.delayMs,
      arguments: retryQueueArguments(queueType, retry.delayMs, queue),
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

function retryQueueArguments(queueType: QueueType, delayMs: number, mainQueue: string): RabbitArguments {
  const args: RabbitArguments = {
    'x-queue-type': queueType,
    'x-message-ttl': delayMs,
    'x-dead-letter-exchange': DEFAULT_EXCHANGE,
    'x-dead-letter-routing-key': mainQueue,
  };
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
