/**
 * The start, subscribe and close bookkeeping of a broker transport whose client reconnects on its
 * own (Kafka, NATS), in one place so that each such binding keeps the {@link Transport} contract
 * the same way:
 *
 * - `start()` runs the binding's start once: a second call gets the same promise, a call after it
 *   rejected tries again; it rejects after `close()`, and for a topology other than the started one.
 * - `subscribe()` keeps a subscription once it is started; one that fails to start, or whose start
 *   finished after `close()` began, is stopped at once and the call rejects.
 * - `close()` runs once: it stops every subscription (each within `timeoutMs`), waits for a start
 *   in progress to settle, then lets the binding release its clients.
 * - `require()` guards `publish()` and `subscribe()`: it throws after `close()` and before `start()`
 *   finished.
 *
 * Errors are the binding's own state error, their messages prefixed with the transport's name.
 */
import type { TopologyIR } from './ir.js';
import { OnceUntilRejected } from './once.js';
import type { Subscription } from './transport.js';

/** A subscription as the lifecycle handles it: started once, stopped on failure and on close. */
export interface LifecycleSubscription extends Subscription {
  start(): Promise<void>;
}

export class TransportLifecycle<S extends LifecycleSubscription> {
  /** The subscriptions started and not yet stopped; a subscription deletes itself once stopped. */
  readonly subscriptions = new Set<S>();
  private readonly starting = new OnceUntilRejected();
  private closing: Promise<void> | null = null;

  /**
   * @param transport the name messages start with, e.g. `KafkaTransport`
   * @param stateError the binding's error for a call in the wrong state
   */
  constructor(
    private readonly transport: string,
    private readonly stateError: new (message: string) => Error,
  ) {}

  /**
   * The promise of `run()`, started once until it rejects. `started` is the topology of a start
   * that finished, or null.
   */
  start(topology: TopologyIR, started: TopologyIR | null, run: () => Promise<void>): Promise<void> {
    if (this.closing) return Promise.reject(new this.stateError(`${this.transport}: start() after close()`));
    if (started && started.name !== topology.name) {
      return Promise.reject(
        new this.stateError(
          `${this.transport}: already started for topology "${started.name}", not "${topology.name}"`,
        ),
      );
    }
    return this.starting.run(run);
  }

  /** Start `subscription` and keep it, or stop it at once and reject with the error of its start. */
  async subscribe(subscription: S): Promise<S> {
    this.subscriptions.add(subscription);
    try {
      await subscription.start();
    } catch (error) {
      await subscription.stop({ timeoutMs: 0 });
      throw error;
    }
    // close() ran while it started: close() stopped it, so nothing may be handed out as running.
    if (this.closing) {
      await subscription.stop({ timeoutMs: 0 });
      throw new this.stateError(`${this.transport}: subscribe() after close()`);
    }
    return subscription;
  }

  /**
   * Stop the subscriptions within `timeoutMs` each, wait for a start in progress, then `release()`
   * the binding's clients; once, every later call gets the same promise.
   */
  close(timeoutMs: number, release: () => Promise<void>): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all([...this.subscriptions].map((s) => s.stop({ timeoutMs })));
      await this.starting.settled();
      await release();
    })();
    return this.closing;
  }

  /** `client` for a call named `what`, or the state error after `close()` and before a start finished. */
  require<T>(what: string, client: T | null): T {
    if (this.closing) throw new this.stateError(`${this.transport}: ${what}() after close()`);
    if (client === null) throw new this.stateError(`${this.transport}: ${what}() before start() finished`);
    return client;
  }
}
