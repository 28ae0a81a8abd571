/**
 * The embedded in-memory transport: a broker in the process, with the same semantics as the real
 * ones — fan-out (a copy per consumer), per-key ordering with concurrency, broker-side retry delays
 * (real timers; the copy goes only to the failing consumer), dead-letter queues, redelivery of
 * released or abandoned messages. Queues exist from `start(topology)` on, so messages published
 * before a consumer subscribes wait for it, like on a provisioned broker.
 *
 * Test hooks: {@link MemoryTransport.injectRaw}, {@link MemoryTransport.duplicateNext},
 * {@link MemoryTransport.crash}, {@link MemoryTransport.deadLetters}, {@link MemoryTransport.whenIdle}.
 */
import { MEMORY_TRANSPORT_DEFAULTS, TESTING_DEFAULTS } from '../defaults.js';
import type { ConsumerIR, EventIR, TopologyIR } from '../ir.js';
import type {
  DeliveryHandler,
  Headers,
  OutgoingMessage,
  Subscription,
  Transport,
  TransportCapabilities,
} from '../transport.js';
import { ConsumerQueue, MemoryBroker, QueueSubscription } from './memory-broker.js';
import type { MemoryDeadLetter } from './memory-broker.js';

export interface MemoryTransportOptions {
  /**
   * The broker holding the queues. Share one between transports to let a new "process" pick up
   * what an old one left. @default a new broker, private to this transport
   */
  broker?: MemoryBroker | undefined;
}

/** A raw message for {@link MemoryTransport.injectRaw}: any bytes, any (logical) headers. */
export interface RawMessage {
  body: Buffer;
  headers: Headers;
  key?: string | undefined;
}

export class MemoryTransport implements Transport {
  readonly name = 'memory';
  readonly capabilities: TransportCapabilities = { perKeyOrdering: true, exactRetryDelays: true };
  readonly broker: MemoryBroker;
  private topology: TopologyIR | undefined;
  private routes = new Map<string, ConsumerQueue[]>();
  private queues = new Map<string, ConsumerQueue>();
  private readonly subscriptions = new Map<QueueSubscription, string>(); // → consumer id
  private readonly origins = new Map<string, string>();

  constructor(options: MemoryTransportOptions = {}) {
    this.broker = options.broker ?? new MemoryBroker();
  }

  async start(topology: TopologyIR): Promise<void> {
    if (this.topology && this.topology.name !== topology.name) {
      throw new Error(
        `MemoryTransport already started with topology "${this.topology.name}"; use one transport per topology`,
      );
    }
    const { routes, queues } = this.broker.declare(topology);
    this.topology = topology;
    this.routes = routes;
    this.queues = queues;
    this.origins.clear();
    for (const event of topology.events) this.origins.set(event.name, `memory://${topology.name}/${event.name}`);
  }

  async publish(event: EventIR, message: OutgoingMessage): Promise<void> {
    const queues = this.routes.get(event.name);
    if (!queues)
      throw new Error(
        this.topology
          ? `Unknown event "${event.name}" in topology "${this.topology.name}"`
          : 'MemoryTransport: call start(topology) before publish',
      );
    this.enqueue(queues, this.origins.get(event.name)!, message);
  }

  async subscribe(consumer: ConsumerIR, handler: DeliveryHandler): Promise<Subscription> {
    const queue = this.requireQueue(consumer.id);
    const subscription = new QueueSubscription(queue, handler, Math.max(1, consumer.concurrency));
    this.subscriptions.set(subscription, consumer.id);
    queue.addSubscriber(subscription);
    return {
      stop: async (options) => {
        await subscription.stop(options?.timeoutMs ?? MEMORY_TRANSPORT_DEFAULTS.stopTimeoutMs);
        this.subscriptions.delete(subscription);
      },
    };
  }

  /** Stop every subscription of this transport. The broker (and its queues) lives on. */
  async close(options?: { timeoutMs?: number }): Promise<void> {
    const timeoutMs = options?.timeoutMs ?? MEMORY_TRANSPORT_DEFAULTS.stopTimeoutMs;
    await Promise.all([...this.subscriptions.keys()].map((s) => s.stop(timeoutMs)));
    this.subscriptions.clear();
  }

  // ---- test hooks -------------------------------------------------------------------------

  /**
   * Put a raw message (any bytes, any logical headers) on the broker, bypassing the runtime: to
   * every consumer of an event when `target` is an event name, else to the one consumer
   * `service.handler` named by `target`.
   */
  injectRaw(target: string, message: RawMessage): void {
    const origin = this.origins.get(target) ?? `memory://${this.requireTopology().name}/${target}`;
    this.enqueue(this.routes.get(target) ?? [this.requireQueue(target)], origin, message);
  }

  /**
   * Deliver each of the next `count` messages that reach this consumer twice: the copy arrives
   * (flagged `redelivered`) after the first is acknowledged, as when a broker loses an ack.
   */
  duplicateNext(consumerId: string, count = 1): void {
    this.requireQueue(consumerId).pendingDuplicates += count;
  }

  /**
   * Simulate a crash of this transport's subscribers of `consumerId` (or of all): they leave at
   * once, without acknowledging; their in-flight messages are redelivered to the next subscriber.
   */
  crash(consumerId?: string): void {
    for (const [subscription, id] of this.subscriptions) {
      if (consumerId === undefined || id === consumerId) {
        subscription.crash();
        this.subscriptions.delete(subscription);
      }
    }
  }

  /** Dead-lettered messages of a consumer, oldest first (a copy of the list; the DLQ keeps them). */
  deadLetters(consumerId: string): MemoryDeadLetter[] {
    return [...this.requireQueue(consumerId).deadLetters];
  }

  /** Message counts of a consumer's queue. */
  depth(consumerId: string): { ready: number; delayed: number; inFlight: number; deadLetters: number } {
    return this.requireQueue(consumerId).depth;
  }

  /**
   * Resolves once the queues of `consumerIds` (default: all of the topology) hold nothing ready,
   * delayed or in flight. Retries count, so this waits for them. Rejects after `timeoutMs`.
   */
  whenIdle(consumerIds?: string[], timeoutMs: number = TESTING_DEFAULTS.waitTimeoutMs): Promise<void> {
    const queues = consumerIds ? consumerIds.map((id) => this.requireQueue(id)) : [...this.queues.values()];
    return this.broker.whenIdle(queues, timeoutMs);
  }

  /** A copy per queue: each consumer gets its own message object; body and headers are shared, never mutated. */
  private enqueue(queues: ConsumerQueue[], origin: string, message: RawMessage): void {
    for (const queue of queues) {
      queue.enqueue({
        body: message.body,
        headers: message.headers,
        ...(message.key === undefined ? {} : { key: message.key }),
        origin,
        redelivered: false,
        duplicates: 0,
      });
    }
  }

  private requireTopology(): TopologyIR {
    if (!this.topology) throw new Error('MemoryTransport: call start(topology) first');
    return this.topology;
  }

  private requireQueue(consumerId: string): ConsumerQueue {
    const queue = this.queues.get(consumerId);
    if (!queue) throw new Error(`No queue for consumer "${consumerId}" in topology "${this.requireTopology().name}"`);
    return queue;
  }
}

/** A new in-memory transport (with its own broker unless one is given). */
export function createMemoryTransport(options?: MemoryTransportOptions): MemoryTransport {
  return new MemoryTransport(options);
}
