/**
 * The state of the embedded broker: one queue per consumer (like a provisioned RabbitMQ queue),
 * created when a topology is declared and kept for as long as the broker lives. Several
 * {@link MemoryTransport}s may share one broker — that is how a "restarted process" finds the
 * messages its predecessor left, in tests.
 */
import type { ConsumerIR, TopologyIR } from '../ir.js';
import type { Delivery, DeliveryHandler, Disposition, Headers } from '../transport.js';
import { Deque } from '../deque.js';
import { EF } from '../headers.js';

/** A message held by the broker. Handed to handlers as the {@link Delivery} itself. */
export interface StoredMessage extends Delivery {
  /** How many extra copies to deliver after this one is acknowledged (simulated lost acks). */
  duplicates: number;
}

/** A dead-lettered message as the memory broker keeps it. */
export interface MemoryDeadLetter {
  body: Buffer;
  headers: Headers;
  origin: string;
}

interface InFlight {
  message: StoredMessage;
  /** Set when the subscription gave the message back; its late disposition is ignored. */
  abandoned: boolean;
}

/** One consumer's queue: ready messages, delayed retries, a dead-letter list, competing subscribers. */
export class ConsumerQueue {
  /** Messages in publish order whose key (if any) is not reserved yet. */
  private readonly ready = new Deque<StoredMessage>();
  /** Messages that own their key reservation (released, or next in line for a key): served first. */
  private readonly front = new Deque<StoredMessage>();
  /** Key → messages waiting behind the one holding the key. An entry exists while the key is reserved. */
  private readonly blocked = new Map<string, Deque<StoredMessage> | null>();
  private readonly delayed = new Set<NodeJS.Timeout>();
  private readonly subscribers: QueueSubscription[] = [];
  private nextSubscriber = 0;
  private pumpScheduled = false;
  readonly deadLetters: MemoryDeadLetter[] = [];
  inFlight = 0;
  /** Messages still to be marked for duplicate delivery (see `MemoryTransport.duplicateNext`). */
  pendingDuplicates = 0;

  constructor(
    readonly name: string,
    readonly consumer: ConsumerIR,
    private readonly broker: MemoryBroker,
  ) {}

  enqueue(message: StoredMessage): void {
    if (this.pendingDuplicates > 0) {
      this.pendingDuplicates--;
      message.duplicates++;
    }
    this.ready.push(message);
    this.schedulePump();
  }

  /** Everything not yet settled: ready, reserved, delayed and in-flight messages. */
  get depth(): { ready: number; delayed: number; inFlight: number; deadLetters: number } {
    let waiting = 0;
    for (const q of this.blocked.values()) waiting += q?.length ?? 0;
    return {
      ready: this.ready.length + this.front.length + waiting,
      delayed: this.delayed.size,
      inFlight: this.inFlight,
      deadLetters: this.deadLetters.length,
    };
  }

  isIdle(): boolean {
    return this.inFlight === 0 && this.ready.length === 0 && this.front.length === 0 && this.delayed.size === 0;
  }

  addSubscriber(subscription: QueueSubscription): void {
    this.subscribers.push(subscription);
    if (this.subscribers.length === 1) for (const timer of this.delayed) timer.ref();
    this.schedulePump();
  }

  removeSubscriber(subscription: QueueSubscription): void {
    const i = this.subscribers.indexOf(subscription);
    if (i >= 0) this.subscribers.splice(i, 1);
    if (this.subscribers.length === 0) for (const timer of this.delayed) timer.unref();
  }

  /** Put a message back in front (it keeps its key reservation) and deliver it again later. */
  giveBack(message: StoredMessage): void {
    this.inFlight--;
    this.front.unshift({ ...message, redelivered: true, deliveryCount: (message.deliveryCount ?? 0) + 1 });
    // Not a microtask: a handler that keeps releasing must not starve timers and I/O.
    setImmediate(() => this.schedulePump());
    this.broker.changed();
  }

  /** Carry out a disposition (the transport side of the contract in transport.ts). */
  settle(message: StoredMessage, disposition: Disposition): void {
    switch (disposition.kind) {
      case 'ack':
        this.inFlight--;
        this.freeKey(message);
        if (message.duplicates > 0)
          this.ready.push({ ...message, redelivered: true, duplicates: message.duplicates - 1 });
        break;
      case 'retry': {
        this.inFlight--;
        this.freeKey(message);
        // Marked for this consumer, as the broker bindings do: the runtime trusts `ef-attempt` only
        // on a copy made for the consumer reading it.
        const copy: StoredMessage = {
          body: message.body,
          headers: { ...disposition.headers, [EF.retryFor]: this.consumer.id },
          origin: message.origin,
          redelivered: false,
          duplicates: 0,
        };
        if (message.key !== undefined) copy.key = message.key;
        const timer = setTimeout(
          () => {
            this.delayed.delete(timer);
            this.ready.push(copy);
            this.schedulePump();
            this.broker.changed();
          },
          Math.max(0, disposition.delayMs),
        );
        // A pending retry keeps the process alive only while someone consumes this queue: after
        // the last subscriber leaves (shutdown), it must not hold the process open.
        if (this.subscribers.length === 0) timer.unref();
        this.delayed.add(timer);
        break;
      }
      case 'dead-letter':
        this.inFlight--;
        this.freeKey(message);
        this.deadLetters.push({ body: message.body, headers: disposition.headers, origin: message.origin });
        break;
      case 'release':
        this.giveBack(message);
        return;
    }
    this.schedulePump();
    this.broker.changed();
  }

  private freeKey(message: StoredMessage): void {
    if (message.key === undefined) return;
    const waiting = this.blocked.get(message.key);
    const next = waiting?.shift();
    if (next)
      this.front.push(next); // the key stays reserved for `next`
    else this.blocked.delete(message.key);
  }

  private next(): StoredMessage | undefined {
    const reserved = this.front.shift();
    if (reserved) return reserved;
    for (;;) {
      const message = this.ready.shift();
      if (!message || message.key === undefined) return message;
      if (!this.blocked.has(message.key)) {
        this.blocked.set(message.key, null);
        return message;
      }
      let waiting = this.blocked.get(message.key);
      if (!waiting) this.blocked.set(message.key, (waiting = new Deque()));
      waiting.push(message);
    }
  }

  private schedulePump(): void {
    if (this.pumpScheduled || this.subscribers.length === 0) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    for (;;) {
      const subscriber = this.pickSubscriber();
      if (!subscriber) return;
      const message = this.next();
      if (!message) return;
      this.inFlight++;
      subscriber.dispatch(message);
    }
  }

  private pickSubscriber(): QueueSubscription | undefined {
    const n = this.subscribers.length;
    for (let i = 0; i < n; i++) {
      const candidate = this.subscribers[(this.nextSubscriber + i) % n]!;
      if (candidate.hasCapacity()) {
        this.nextSubscriber = (this.nextSubscriber + i + 1) % n;
        return candidate;
      }
    }
    return undefined;
  }

  /** Drop delayed timers (the broker is being disposed). */
  dispose(): void {
    for (const timer of this.delayed) clearTimeout(timer);
    this.delayed.clear();
  }
}

/**
 * One subscriber of a queue: at most `concurrency` handler calls in flight. `stop` waits for them;
 * what is still running at the timeout goes back to the queue (its late disposition is ignored).
 */
export class QueueSubscription {
  private readonly inFlight = new Set<InFlight>();
  private drained: (() => void) | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly queue: ConsumerQueue,
    private readonly handler: DeliveryHandler,
    private readonly concurrency: number,
  ) {}

  hasCapacity(): boolean {
    return this.inFlight.size < this.concurrency;
  }

  dispatch(message: StoredMessage): void {
    const entry: InFlight = { message, abandoned: false };
    this.inFlight.add(entry);
    let outcome: Promise<Disposition>;
    try {
      outcome = this.handler(message);
    } catch {
      outcome = Promise.resolve({ kind: 'release' });
    }
    // The handler contract says it never rejects; if it does anyway, the message is not lost.
    outcome.then(
      (disposition) => this.finish(entry, disposition),
      () => this.finish(entry, { kind: 'release' }),
    );
  }

  private finish(entry: InFlight, disposition: Disposition): void {
    if (entry.abandoned) return;
    this.inFlight.delete(entry);
    this.queue.settle(entry.message, disposition);
    if (this.inFlight.size === 0) this.drained?.();
  }

  stop(timeoutMs: number): Promise<void> {
    this.stopping ??= this.doStop(timeoutMs);
    return this.stopping;
  }

  private async doStop(timeoutMs: number): Promise<void> {
    this.queue.removeSubscriber(this);
    if (this.inFlight.size > 0 && timeoutMs > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.drained = resolve;
        timer = setTimeout(resolve, timeoutMs);
      });
      clearTimeout(timer);
      this.drained = undefined;
    }
    this.abandonAll();
  }

  /** Give every in-flight message back at once (a crash, or the stop timeout). */
  abandonAll(): void {
    for (const entry of this.inFlight) {
      entry.abandoned = true;
      this.queue.giveBack(entry.message);
    }
    this.inFlight.clear();
  }

  /** Simulated crash: leave now, without waiting; in-flight messages are redelivered. */
  crash(): void {
    this.stopping ??= Promise.resolve();
    this.queue.removeSubscriber(this);
    this.abandonAll();
  }
}

/** The broker: queues by name, routes by topology and event. */
export class MemoryBroker {
  private readonly queues = new Map<string, ConsumerQueue>();
  private readonly listeners = new Set<() => void>();

  /**
   * Create the queues of a topology (idempotent; a later call with more consumers adds theirs).
   * Returns the routing table: event name → queues of its consumers, and consumer id → queue.
   */
  declare(topology: TopologyIR): { routes: Map<string, ConsumerQueue[]>; queues: Map<string, ConsumerQueue> } {
    const byConsumer = new Map<string, ConsumerQueue>();
    for (const consumer of topology.consumers) {
      const name = `${topology.name}.${consumer.id}`;
      let queue = this.queues.get(name);
      if (!queue) this.queues.set(name, (queue = new ConsumerQueue(name, consumer, this)));
      byConsumer.set(consumer.id, queue);
    }
    const routes = new Map<string, ConsumerQueue[]>();
    for (const event of topology.events) routes.set(event.name, []);
    for (const consumer of topology.consumers) {
      for (const event of consumer.events) routes.get(event)?.push(byConsumer.get(consumer.id)!);
    }
    return { routes, queues: byConsumer };
  }

  /** Called after every state change; wakes `whenIdle` waiters. */
  changed(): void {
    if (this.listeners.size === 0) return;
    for (const listener of [...this.listeners]) listener();
  }

  /** Resolves once every queue in `queues` is idle at the same moment; rejects after `timeoutMs`. */
  whenIdle(queues: ConsumerQueue[], timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      // Settle on a macrotask boundary so work scheduled in microtasks (a pump) is seen.
      let checkScheduled = false;
      const check = () => {
        if (checkScheduled) return;
        checkScheduled = true;
        setImmediate(() => {
          checkScheduled = false;
          if (queues.every((q) => q.isIdle())) done();
        });
      };
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        const state = queues.map((q) => `${q.name} ${JSON.stringify(q.depth)}`).join(', ');
        reject(new Error(`Memory broker not idle after ${timeoutMs} ms: ${state}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.listeners.delete(check);
        resolve();
      };
      this.listeners.add(check);
      check();
    });
  }

  /** Clear pending retry timers of every queue. */
  dispose(): void {
    for (const queue of this.queues.values()) queue.dispose();
  }
}
