/**
 * The RabbitMQ binding of the eventform {@link Transport}, on amqplib.
 *
 * - Publishing: persistent JSON messages on a ConfirmChannel with `mandatory`; `publish` resolves
 *   once the broker acked. An event that no queue is bound to is fine when the topology declares
 *   no consumer for it (pub/sub with zero subscribers); when it does declare consumers, a return
 *   means their queues are missing and `publish` rejects with `UnroutableMessageError`.
 * - Consuming: see {@link RabbitSubscription} — one channel per consumer, prefetch =
 *   concurrency, dispositions made durable before the ack.
 * - Connection loss: reconnect with capped exponential backoff, re-assert resources, re-subscribe.
 *   Given the nodes of a cluster (`urls`), it reconnects to the next node first, going round them
 *   all before it backs off.
 *   A publish while disconnected waits up to `publishTimeoutMs` and then rejects with
 *   `BrokerUnavailableError`; a publish whose channel dies before the confirm is sent again on
 *   the next connection within the same bound (so it may be stored twice, never zero times).
 */
import type { ChannelModel } from 'amqplib';
import type {
  ConsumerIR,
  DeliveryHandler,
  EventIR,
  Logger,
  OutgoingMessage,
  Subscription,
  TopologyIR,
  Transport,
  TransportCapabilities,
} from '@eventform/runtime';
import { createJsonLogger, withDefaults } from '@eventform/runtime';
import { amqplibFastPaths, installHeaderDecoder, reportFastPaths, type AmqplibFastPaths } from './amqplib-internals.js';
import { ChannelClosedError, ConfirmPublisher, NotSentError } from './confirm-publisher.js';
import {
  MAX_HEADER_DEPTH_LIMIT,
  RABBITMQ_DEFAULTS,
  defaultRabbitmqUrl,
  nodeUrls,
  openConnection,
  redactUrl,
} from './defaults.js';
import {
  BrokerUnavailableError,
  NOT_FOUND,
  PRECONDITION_FAILED,
  PublishTimeoutError,
  ResourceConflictError,
  UnroutableMessageError,
  amqpErrorCode,
  errorMessage,
} from './errors.js';
import type { HeaderBounds } from './header-frames.js';
import { declareExchange, declareQueue } from './provision.js';
import { rabbitmqResources, type RabbitResources } from './resources.js';
import { RabbitSubscription, type SubscriptionMetrics } from './subscription.js';
import { TimeoutError, withTimeout } from './timing.js';
import { publishProperties } from './wire.js';

export interface RabbitMQReconnectOptions {
  /** @default 100 */
  initialDelayMs?: number | undefined;
  /** @default 5_000 */
  maxDelayMs?: number | undefined;
  /** @default 2 */
  factor?: number | undefined;
}

export interface RabbitMQTransportOptions {
  /**
   * The broker, or the nodes of a cluster separated by commas; see also `urls`.
   * @default `EVENTFORM_RABBITMQ_URL` or amqp://guest:guest@127.0.0.1:5672
   */
  url?: string | undefined;
  /**
   * The nodes of a RabbitMQ cluster, each an AMQP URL. The transport connects to one; when it loses
   * that node it reconnects to the next, re-declares its consumers and publishes on with confirms.
   * Takes precedence over `url`. @default the node(s) of `url`
   */
  urls?: readonly string[] | undefined;
  /**
   * Declare the topology's exchanges, queues and bindings on start and after every reconnect.
   * Turn off when resources are provisioned separately (`eventform provision`) and the
   * application's user may not declare. @default true
   */
  assertResources?: boolean | undefined;
  /** Prefetch per consumer; handler concurrency stays `consumer.concurrency`. @default consumer.concurrency */
  prefetch?: number | undefined;
  /** Bound on one `publish`: waiting for a connection plus waiting for the confirm. @default 10_000 */
  publishTimeoutMs?: number | undefined;
  /** How long `start` keeps trying to reach the broker. @default publishTimeoutMs */
  connectTimeoutMs?: number | undefined;
  reconnect?: RabbitMQReconnectOptions | undefined;
  /** AMQP heartbeat in seconds. @default 10 */
  heartbeatSeconds?: number | undefined;
  /** Shown as `connection_name` in `rabbitmqctl list_connections`. @default 'eventform' */
  connectionName?: string | undefined;
  /** @default JSON lines on stderr at the level of `EVENTFORM_LOG` */
  logger?: Logger | undefined;
  /**
   * Nesting levels a consumed message's header table may have, the table itself being level 1
   * (RabbitMQ's `x-death` needs 4). A header nested deeper is left out and the message is
   * dead-lettered as `invalid-headers`; no handler runs. At most 1,000. @default 32
   */
  maxHeaderDepth?: number | undefined;
  /**
   * Encoded size in bytes a consumed message's header table may have; a larger one is not decoded
   * and the message is dead-lettered as `invalid-headers`. @default 65_536
   */
  maxHeaderBytes?: number | undefined;
}

export type RabbitMQTransportState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closing' | 'closed';

/** Counters for tests, health checks and benchmarks. */
export interface RabbitMQTransportMetrics extends SubscriptionMetrics {
  /** Successful connections, the first one included. */
  connections: number;
  /** Connections lost while the transport was running. */
  disconnects: number;
  published: number;
  /** Publishes sent again because their channel closed before the confirm. */
  republished: number;
}

export class RabbitMQTransport implements Transport {
  readonly name = 'rabbitmq';
  /** Tiered retry delays; order per key only with concurrency 1. */
  readonly capabilities: TransportCapabilities = { perKeyOrdering: false, exactRetryDelays: false };
  readonly metrics: RabbitMQTransportMetrics = {
    connections: 0,
    disconnects: 0,
    published: 0,
    republished: 0,
    delivered: 0,
    redelivered: 0,
    retried: 0,
    deadLettered: 0,
    lostAcks: 0,
    channelsOpened: 0,
  };
  readonly logger: Logger;
  readonly publishTimeoutMs: number;
  readonly dispositionFailurePauseMs = RABBITMQ_DEFAULTS.dispositionFailurePauseMs;
  /** Which of amqplib's internals this transport uses (version gate, self-check, environment). */
  readonly fastPaths: AmqplibFastPaths;
  readonly publishFastPath: boolean;

  private readonly urls: readonly string[];
  /** Index in `urls` of the node of the live (or last) connection. */
  private nodeIndex = 0;
  private readonly assertResources: boolean;
  private readonly connectTimeoutMs: number;
  private readonly reconnectOptions: Required<RabbitMQReconnectOptions>;
  private readonly connectionName: string;
  private readonly heartbeatSeconds: number;
  private readonly prefetchOverride: number | undefined;
  private readonly headerBounds: HeaderBounds;

  private _state: RabbitMQTransportState = 'idle';
  private topology: TopologyIR | null = null;
  private resources: RabbitResources | null = null;
  private startPromise: Promise<void> | null = null;
  private connection: ChannelModel | null = null;
  private publisher: Promise<ConfirmPublisher> | null = null;
  /** The settled value of `publisher` once it opened; cleared together with it. */
  private openedPublisher: ConfirmPublisher | null = null;
  private reconnecting: Promise<void> | null = null;
  private readonly connectionWaiters = new Set<{ resolve: (c: ChannelModel) => void; reject: (e: Error) => void }>();
  /** Wakes every pending {@link pause} when the transport closes. */
  private readonly pauses = new Set<() => void>();
  private readonly subscriptions = new Set<RabbitSubscription>();

  constructor(options: RabbitMQTransportOptions = {}) {
    this.urls = nodeUrls(options.urls ?? options.url ?? defaultRabbitmqUrl());
    this.assertResources = options.assertResources ?? RABBITMQ_DEFAULTS.assertResources;
    this.publishTimeoutMs = options.publishTimeoutMs ?? RABBITMQ_DEFAULTS.publishTimeoutMs;
    this.connectTimeoutMs = options.connectTimeoutMs ?? this.publishTimeoutMs;
    this.reconnectOptions = withDefaults<Required<RabbitMQReconnectOptions>>(
      { ...RABBITMQ_DEFAULTS.reconnect },
      options.reconnect,
    );
    this.connectionName = options.connectionName ?? RABBITMQ_DEFAULTS.connectionName;
    this.heartbeatSeconds = options.heartbeatSeconds ?? RABBITMQ_DEFAULTS.heartbeatSeconds;
    this.prefetchOverride = options.prefetch;
    this.logger = options.logger ?? createJsonLogger({ fields: { component: 'rabbitmq' } });
    this.headerBounds = {
      maxDepth: bound(
        'maxHeaderDepth',
        options.maxHeaderDepth ?? RABBITMQ_DEFAULTS.maxHeaderDepth,
        MAX_HEADER_DEPTH_LIMIT,
      ),
      maxBytes: bound('maxHeaderBytes', options.maxHeaderBytes ?? RABBITMQ_DEFAULTS.maxHeaderBytes, 2 ** 32 - 1),
    };
    this.fastPaths = amqplibFastPaths();
    this.publishFastPath = this.fastPaths.publishEncoder.enabled;
    reportFastPaths(this.fastPaths, this.logger);
  }

  get state(): RabbitMQTransportState {
    return this._state;
  }

  /**
   * Connect (retrying for up to `connectTimeoutMs`) and assert the topology's resources.
   * Rejects with `BrokerUnavailableError` when the broker stays unreachable and with
   * `ResourceConflictError` when an existing resource has other arguments. Idempotent.
   */
  start(topology: TopologyIR): Promise<void> {
    if (this.startPromise) {
      if (this.topology !== topology && this.topology?.name !== topology.name) {
        return Promise.reject(new Error(`transport already started for topology ${this.topology?.name}`));
      }
      return this.startPromise;
    }
    if (this._state === 'closing' || this._state === 'closed') return Promise.reject(new Error('transport is closed'));
    this.topology = topology;
    this.resources = rabbitmqResources(topology);
    this._state = 'connecting';
    this.startPromise = this.firstConnect().catch((err: unknown) => {
      this.startPromise = null;
      if (this._state === 'connecting') this._state = 'idle';
      throw err;
    });
    return this.startPromise;
  }

  async publish(event: EventIR, message: OutgoingMessage): Promise<void> {
    this.assertStarted();
    const deadline = Date.now() + this.publishTimeoutMs;
    const props = publishProperties(message.headers, message.key);
    const { exchange, routingKey } = event.rabbitmq;
    for (let attempt = 0; ; attempt++) {
      // Fast path: the open publishing channel of the live connection, no extra await.
      let publisher = this.livePublisher();
      if (publisher === null) {
        publisher = await this.publisherBefore(deadline, `${exchange}/${routingKey}`);
        // Waiting for a connection took the whole bound: that is an outage, and nothing is sent on
        // this attempt (ConfirmPublisher would time out before sending, which reads as "unconfirmed").
        if (remaining(deadline) <= 0) {
          throw new BrokerUnavailableError(
            attempt === 0
              ? `RabbitMQ unavailable: no publishing channel within ${this.publishTimeoutMs}ms; ${event.name} was not sent`
              : `RabbitMQ connection lost and not regained within ${this.publishTimeoutMs}ms while publishing ${event.name}`,
          );
        }
      }
      let outcome;
      try {
        outcome = await publisher.publish(exchange, routingKey, message.body, props, remaining(deadline));
      } catch (err) {
        if (err instanceof ChannelClosedError && err.code === NOT_FOUND) {
          // The broker closed the channel because the exchange does not exist: retrying cannot help.
          throw new UnroutableMessageError(
            `exchange ${exchange} does not exist (${event.name} not published); ` +
              'run `eventform provision` or start the transport with assertResources',
            { cause: err },
          );
        }
        if (err instanceof ChannelClosedError && remaining(deadline) > 0) {
          // Lost with its channel before the confirm: send it again (a duplicate beats a loss).
          this.metrics.republished++;
          await this.pause(Math.min(this.backoffMs(attempt), remaining(deadline)));
          continue;
        }
        if (err instanceof NotSentError) {
          throw new PublishTimeoutError(
            `RabbitMQ did not take ${event.name} within ${this.publishTimeoutMs}ms (${err.message}); it was not sent`,
          );
        }
        if (err instanceof TimeoutError) {
          throw new PublishTimeoutError(
            `RabbitMQ did not confirm ${event.name} within ${this.publishTimeoutMs}ms; it may or may not have been stored`,
          );
        }
        if (err instanceof ChannelClosedError) {
          throw new BrokerUnavailableError(
            `RabbitMQ connection lost and not regained within ${this.publishTimeoutMs}ms while publishing ${event.name}`,
            { cause: err },
          );
        }
        throw err;
      }
      if (outcome === 'returned' && event.consumers.length > 0) {
        throw new UnroutableMessageError(
          `${event.name} reached no queue on exchange ${exchange} although ${event.consumers.join(', ')} consume it; ` +
            'run `eventform provision` or start the transport with assertResources',
        );
      }
      this.metrics.published++;
      return;
    }
  }

  /**
   * Consume for `consumer`. A consumer with partitions (per-key order) consumes from each partition
   * queue, one event at a time per partition (prefetch 1, so even a released event is redelivered
   * before the next one); the broker makes one subscriber per partition the active one.
   */
  async subscribe(consumer: ConsumerIR, handler: DeliveryHandler): Promise<Subscription> {
    const partitions = consumer.rabbitmq.partitions;
    if (!partitions) {
      return this.subscribeQueue(consumer, handler, this.prefetchOverride ?? Math.max(1, consumer.concurrency));
    }
    const subscriptions: Subscription[] = [];
    try {
      for (const queue of partitions.queues) {
        const lane: ConsumerIR = { ...consumer, concurrency: 1, rabbitmq: { ...consumer.rabbitmq, queue } };
        subscriptions.push(await this.subscribeQueue(lane, handler, 1));
      }
    } catch (err) {
      await Promise.all(subscriptions.map((s) => s.stop()));
      throw err;
    }
    return { stop: async (options) => void (await Promise.all(subscriptions.map((s) => s.stop(options)))) };
  }

  private async subscribeQueue(
    consumer: ConsumerIR,
    handler: DeliveryHandler,
    prefetch: number,
  ): Promise<Subscription> {
    this.assertStarted();
    await this.startPromise;
    const subscription = new RabbitSubscription(this, consumer, handler, prefetch);
    const deadline = Date.now() + this.connectTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      const connection = await this.connectionBefore(deadline, `subscribing ${consumer.id}`);
      try {
        await subscription.open(connection);
        break;
      } catch (err) {
        // A missing queue is a user error; a dropped connection is worth another try.
        if (amqpErrorCode(err) !== undefined || remaining(deadline) <= 0) {
          throw new Error(`cannot consume from ${consumer.rabbitmq.queue}: ${errorMessage(err)}`, { cause: err });
        }
        await this.pause(Math.min(this.backoffMs(attempt), remaining(deadline)));
      }
    }
    this.subscriptions.add(subscription);
    // The connection may have dropped between open and add; make sure it is (re)attached.
    subscription.ensureOpen();
    return {
      stop: async (options) => {
        await subscription.stop(options);
        this.subscriptions.delete(subscription);
      },
    };
  }

  /** Stop every subscription (in parallel), close channels and the connection; no reconnect after. */
  async close(options: { timeoutMs?: number } = {}): Promise<void> {
    if (this._state === 'closed') return;
    this._state = 'closing';
    for (const wake of [...this.pauses]) wake();
    const timeoutMs = options.timeoutMs ?? RABBITMQ_DEFAULTS.stopTimeoutMs;
    await Promise.all([...this.subscriptions].map((s) => s.stop({ timeoutMs })));
    this.subscriptions.clear();
    const closed = new BrokerUnavailableError('the RabbitMQ transport was closed');
    for (const waiter of this.connectionWaiters) waiter.reject(closed);
    this.connectionWaiters.clear();
    const publisher = this.publisher;
    this.dropPublisher();
    if (publisher) await publisher.then((p) => p.channel.close()).catch(() => {});
    const connection = this.connection;
    this.connection = null;
    if (connection) await connection.close().catch(() => {});
    this._state = 'closed';
  }

  // --- SubscriptionHost -------------------------------------------------------------------

  currentConnection(): ChannelModel | null {
    return this._state === 'connected' ? this.connection : null;
  }

  nextConnection(): Promise<ChannelModel> {
    const current = this.currentConnection();
    if (current) return Promise.resolve(current);
    if (this._state === 'closing' || this._state === 'closed') {
      return Promise.reject(new BrokerUnavailableError('the RabbitMQ transport was closed'));
    }
    return new Promise((resolve, reject) => {
      this.connectionWaiters.add({ resolve, reject });
    });
  }

  /** Sleep `ms`, or less if the transport closes meanwhile (so `close()` is not held up by backoff). */
  pause(ms: number): Promise<void> {
    if (this._state === 'closing' || this._state === 'closed') return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.pauses.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.pauses.add(wake);
    });
  }

  /** Capped exponential backoff with ±20% jitter, so a fleet does not reconnect in lockstep. */
  backoffMs(attempt: number): number {
    const { initialDelayMs, maxDelayMs, factor } = this.reconnectOptions;
    const base = Math.min(maxDelayMs, initialDelayMs * factor ** Math.min(attempt, 30));
    return Math.round(Math.min(maxDelayMs, base * (0.8 + Math.random() * 0.4)));
  }

  // --- connection lifecycle -------------------------------------------------------------

  private async firstConnect(): Promise<void> {
    const deadline = Date.now() + this.connectTimeoutMs;
    let lastError: unknown;
    for (let attempt = 0; remaining(deadline) > 0 && this._state === 'connecting'; attempt++) {
      try {
        const connection = await this.connectAndPrepare(attempt);
        this.adopt(connection);
        return;
      } catch (err) {
        if (err instanceof ResourceConflictError) throw err;
        lastError = err;
        await this.pause(Math.min(this.roundBackoffMs(attempt), Math.max(0, remaining(deadline))));
      }
    }
    if (this._state !== 'connecting')
      throw new BrokerUnavailableError('the RabbitMQ transport was closed while starting');
    throw new BrokerUnavailableError(
      `RabbitMQ at ${redactUrl(this.url)} not reachable within ${this.connectTimeoutMs}ms: ${errorMessage(lastError)}`,
      { cause: lastError },
    );
  }

  /** The URL of the cluster's nodes, for messages (passwords hidden). */
  private get url(): string {
    return this.urls.join(',');
  }

  /**
   * Open a connection to the node `attempt` places after the current one (attempt 0 of a reconnect
   * is the next node, not the lost one) and assert resources on it; closed again on failure.
   */
  private async connectAndPrepare(attempt: number): Promise<ChannelModel> {
    const index = (this.nodeIndex + attempt) % this.urls.length;
    const url = this.urls[index] as string;
    const connection = await openConnection(url, this.connectionName, { heartbeatSeconds: this.heartbeatSeconds });
    this.nodeIndex = index;
    connection.on('error', (err: Error) => {
      this.logger.warn('rabbitmq connection error', { error: err.message });
    });
    // Before any channel consumes: content headers are decoded within bounds from the first delivery.
    if (this.fastPaths.headerDecoder.enabled && !installHeaderDecoder(connection, this.headerBounds)) {
      this.logger.warn(
        'rabbitmq header decoder not installed: the connection lacks the amqplib internals it replaces; amqplib decodes headers unbounded',
        { amqplib: this.fastPaths.version },
      );
    }
    try {
      if (this.assertResources) await this.declareResources(connection);
      return connection;
    } catch (err) {
      await connection.close().catch(() => {});
      throw err;
    }
  }

  private async declareResources(connection: ChannelModel): Promise<void> {
    const resources = this.resources;
    if (!resources) return;
    const channel = await connection.createChannel();
    channel.on('error', () => {});
    try {
      for (const exchange of resources.exchanges) await declareExchange(channel, exchange);
      for (const queue of resources.queues) await declareQueue(channel, queue);
      for (const b of resources.bindings) await channel.bindQueue(b.queue, b.exchange, b.routingKey);
      for (const b of resources.exchangeBindings) await channel.bindExchange(b.destination, b.source, b.routingKey);
      await channel.close();
    } catch (err) {
      if (amqpErrorCode(err) === PRECONDITION_FAILED) {
        throw new ResourceConflictError(
          `RabbitMQ resources of topology ${this.topology?.name} conflict with existing ones: ${errorMessage(err)}. ` +
            'Run `eventform provision --dry-run` to see every difference.',
          { cause: err },
        );
      }
      throw err;
    }
  }

  /** Make `connection` the live one and watch it. */
  private adopt(connection: ChannelModel): void {
    if (this._state === 'closing' || this._state === 'closed') {
      void connection.close().catch(() => {});
      return;
    }
    this.connection = connection;
    this.dropPublisher();
    this._state = 'connected';
    this.metrics.connections++;
    connection.on('close', (err?: Error) => this.onConnectionClosed(connection, err));
    connection.on('blocked', (reason: string) =>
      this.logger.warn('rabbitmq connection blocked by the broker', { reason }),
    );
    connection.on('unblocked', () => this.logger.info('rabbitmq connection unblocked'));
    for (const waiter of this.connectionWaiters) waiter.resolve(connection);
    this.connectionWaiters.clear();
    for (const subscription of this.subscriptions) subscription.ensureOpen();
  }

  private onConnectionClosed(connection: ChannelModel, err?: Error): void {
    if (this.connection !== connection) return;
    this.connection = null;
    this.dropPublisher();
    if (this._state === 'closing' || this._state === 'closed') return;
    this._state = 'reconnecting';
    this.metrics.disconnects++;
    this.logger.warn('rabbitmq connection lost; reconnecting', { error: err ? err.message : 'closed' });
    this.reconnecting ??= this.reconnectLoop().finally(() => {
      this.reconnecting = null;
    });
  }

  private async reconnectLoop(): Promise<void> {
    const lost = this.nodeIndex;
    for (let attempt = 0; this._state === 'reconnecting'; attempt++) {
      await this.pause(this.roundBackoffMs(attempt));
      if (this._state !== 'reconnecting') return;
      try {
        // The lost node last: attempt 0 goes to the next one.
        this.nodeIndex = lost;
        const connection = await this.connectAndPrepare(attempt + 1);
        this.adopt(connection);
        this.logger.info('rabbitmq reconnected', {
          attempts: attempt + 1,
          node: redactUrl(this.urls[this.nodeIndex] as string),
        });
        return;
      } catch (err) {
        this.logger.warn('rabbitmq reconnect failed', { attempt: attempt + 1, error: errorMessage(err) });
      }
    }
  }

  /**
   * Backoff before connection attempt `attempt` when every node is tried in turn: the first round
   * over a cluster's other nodes goes without delay (a dead node is skipped at once), each later
   * round backs off like a single node.
   */
  private roundBackoffMs(attempt: number): number {
    const nodes = this.urls.length;
    if (nodes > 1 && attempt > 0 && attempt < nodes) return 0;
    return this.backoffMs(Math.floor(attempt / nodes));
  }

  private async connectionBefore(deadline: number, what: string): Promise<ChannelModel> {
    const current = this.currentConnection();
    if (current) return current;
    const ms = remaining(deadline);
    try {
      return await withTimeout(this.nextConnection(), Math.max(0, ms));
    } catch (err) {
      if (err instanceof TimeoutError) {
        throw new BrokerUnavailableError(
          `RabbitMQ at ${redactUrl(this.url)} unavailable: no connection within ${this.publishTimeoutMs}ms while ${what}`,
        );
      }
      throw err;
    }
  }

  /** The shared publishing channel of the live connection, created on first use. */
  private async publisherBefore(deadline: number, target: string): Promise<ConfirmPublisher> {
    for (;;) {
      const connection = await this.connectionBefore(deadline, `publishing to ${target}`);
      this.publisher ??= this.openPublisher(connection);
      const pending = this.publisher;
      try {
        // Bounded too: a broker that takes channel.open but never answers must not hold the publish
        // past its deadline. The channel may still open later; the next publish then uses it.
        const publisher = await withTimeout(pending, Math.max(0, remaining(deadline)));
        if (publisher.isOpen) {
          if (this.publisher === pending) this.openedPublisher = publisher;
          return publisher;
        }
      } catch (err) {
        if (err instanceof TimeoutError) {
          throw new BrokerUnavailableError(
            `RabbitMQ unavailable: no publishing channel within ${this.publishTimeoutMs}ms while publishing to ${target} (the broker did not answer); nothing was sent`,
          );
        }
        this.logger.warn('rabbitmq publishing channel could not be opened', { error: errorMessage(err) });
      }
      if (this.publisher === pending) this.dropPublisher();
      if (remaining(deadline) <= 0) {
        throw new BrokerUnavailableError(
          `RabbitMQ unavailable: no publishing channel within ${this.publishTimeoutMs}ms`,
        );
      }
      await this.pause(Math.min(50, remaining(deadline)));
    }
  }

  /** The publishing channel when it is open on the live connection, else null (then see publisherBefore). */
  private livePublisher(): ConfirmPublisher | null {
    const publisher = this.openedPublisher;
    return publisher !== null && publisher.isOpen && this._state === 'connected' ? publisher : null;
  }

  private dropPublisher(): void {
    this.publisher = null;
    this.openedPublisher = null;
  }

  private async openPublisher(connection: ChannelModel): Promise<ConfirmPublisher> {
    const channel = await connection.createConfirmChannel();
    channel.on('error', (err: Error) => this.logger.warn('rabbitmq publishing channel error', { error: err.message }));
    const publisher = new ConfirmPublisher(channel, this.publishFastPath);
    channel.on('close', () => {
      // Next publish opens a fresh one (a channel can die alone, e.g. on a missing exchange).
      if (this.openedPublisher === publisher) this.dropPublisher();
      void this.publisher?.then((p) => {
        if (p === publisher) this.dropPublisher();
      });
    });
    return publisher;
  }

  private assertStarted(): void {
    if (this._state === 'closing' || this._state === 'closed') throw new Error('the RabbitMQ transport is closed');
    if (!this.startPromise) throw new Error('RabbitMQTransport.start(topology) must be called first');
  }
}

function remaining(deadline: number): number {
  return deadline - Date.now();
}

/** A positive integer option up to `max`, or a RangeError naming it. */
function bound(name: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new RangeError(`RabbitMQTransport option ${name} must be an integer from 1 to ${max}, not ${value}`);
  }
  return value;
}
