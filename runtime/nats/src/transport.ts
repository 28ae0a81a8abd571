/**
 * The NATS JetStream binding of the {@link Transport} interface (`@nats-io/*` v3 clients).
 *
 * - publish: to the event's subject (`<topology>.<Event>`), resolving on JetStream's publish
 *   acknowledgement (the message is stored); the logical headers mapped by wire.ts.
 * - subscribe: one durable pull consumer per event stream, plus one on the consumer's own retry
 *   stream; each is read by a fetch loop that holds at most `maxInHand` messages, and every message
 *   goes through one {@link KeyScheduler} per consumer: at most `concurrency` handlers, and never two
 *   of one key at once, in stream order (per-key ordering within a process; see README.md).
 * - ack: after the runtime's disposition is durable (the handler ran and the idempotency record
 *   was written, or the retry or dead-letter copy was stored).
 * - retry: the copy goes to the consumer's retry stream with `ef-due-at`; a copy read before it
 *   is due is nak'ed with the time left, so the server redelivers that one message then and every
 *   other message keeps flowing (exact per-message delays, no tiers).
 * - dead letter: the original body with the runtime's headers on the consumer's dead-letter stream.
 * - delivery limit: JetStream counts deliveries (`num_delivered`, across processes); the transport
 *   hands the runtime the earlier ones that ended without an outcome (its own due-time naks left
 *   out) and the runtime dead-letters past `maxDeliveries`. The server itself has no limit
 *   (`max_deliver: -1`), so nothing is dropped silently.
 * - release and shutdown: a message is nak'ed (redelivered after a short delay); a message fetched
 *   while stopping is released at once, never kept, so another process gets it without waiting
 *   for the ack wait.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import type { Consumer, JetStreamClient, JsMsg } from '@nats-io/jetstream';
import type {
  ConsumerIR,
  DeliveryHandler,
  Delivery,
  Disposition,
  EventIR,
  Logger,
  OutgoingMessage,
  Subscription,
  TopologyIR,
  Transport,
  TransportCapabilities,
} from '@eventform/runtime';
import {
  createJsonLogger,
  EF,
  EventformError,
  KeyScheduler,
  retryCopyHeaders,
  TransportLifecycle,
} from '@eventform/runtime';
import { connectNats, describeNatsError, parseServers } from './client.js';
import { NATS_DEFAULTS } from './defaults.js';
import { provisionNats, type NatsPlanItem } from './provision.js';
import { consumerNames, eventStream, eventSubject } from './resources.js';
import { fitCopy, toDelivery, toNatsHeaders } from './wire.js';

export interface NatsTransportOptions {
  /** Servers (`host:port` or `nats://…`), as an array or a comma-separated string. @default '127.0.0.1:4222' */
  servers?: string[] | string | undefined;
  /** The connection's name on the server. @default 'eventform' */
  name?: string | undefined;
  /**
   * Create missing streams and consumers on `start()` (see `provisionNats`); a conflict makes
   * `start()` fail.
   * @default true
   */
  assertResources?: boolean | undefined;
  /** @default JSON lines on stderr (runtime/core/logger.ts) */
  logger?: Logger | undefined;
  /** Replicas of the streams `start()` creates. @default 1 */
  replicas?: number | undefined;
  /** The consumers' ack wait, ms: how long a crashed process's messages stay invisible. @default 30_000 */
  ackWaitMs?: number | undefined;
  /** The consumers' max ack pending (across processes). @default 10_000 */
  maxAckPending?: number | undefined;
  /** Messages one process holds per consumer stream at once. @default 256 */
  maxInHand?: number | undefined;
  /** Longest fetch wait on the server, ms (at least 1 000); bounds `stop()`. @default 1_000 */
  fetchExpiresMs?: number | undefined;
  /** Redelivery delay of a released message, ms. @default 1_000 */
  releaseDelayMs?: number | undefined;
  /**
   * How much further ahead than the consumer's longest retry delay a retry copy's `ef-due-at` may
   * lie, ms, counted from when the server stored the copy; a later one, forged or skewed, is clamped. @default 30_000
   */
  retryDueMarginMs?: number | undefined;
  /** Timeout of a publish acknowledgement or a JetStream request, ms. @default 10_000 */
  requestTimeoutMs?: number | undefined;
  /** Headers a delivery may carry; more makes it undecodable (`invalid-headers`). @default 256 */
  maxHeaders?: number | undefined;
  /**
   * Let the client record where each publish and JetStream request started, so a timeout's stack
   * shows it; costs an Error per request (NATS_DEFAULTS.asyncTraces). @default false
   */
  asyncTraces?: boolean | undefined;
}

/** `start()` found streams or consumers it must not change; `conflicts` lists them. */
export class NatsResourceConflictError extends EventformError {
  readonly code = 'EF_NATS_CONFLICT';
  constructor(readonly conflicts: NatsPlanItem[]) {
    super(
      `NATS streams or consumers differ from the topology and were left unchanged:\n` +
        conflicts.map((c) => `  - ${c.kind} ${c.name}: ${c.detail}`).join('\n') +
        `\nFix them (or the topology), or start the transport with assertResources: false.`,
    );
  }
}

/** A call that needs `start()` first, or a subscription for something the topology lacks. */
export class NatsTransportStateError extends EventformError {
  readonly code = 'EF_NATS_STATE';
}

/** Retry copies whose due-time naks a subscription remembers. */
const DUE_NAK_MEMORY = 10_000;

interface Settings {
  ackWaitMs: number;
  maxInHand: number;
  fetchExpiresMs: number;
  releaseDelayMs: number;
  retryDueMarginMs: number;
  requestTimeoutMs: number;
  maxHeaders: number;
}

export class NatsTransport implements Transport {
  readonly name = 'nats';
  readonly capabilities: TransportCapabilities = { perKeyOrdering: true, exactRetryDelays: true };

  private readonly servers: string[];
  private readonly logger: Logger;
  private readonly settings: Settings;
  private connection: NatsConnection | null = null;
  private js: JetStreamClient | null = null;
  private topology: TopologyIR | null = null;
  private subjects = new Map<string, string>();
  private readonly lifecycle = new TransportLifecycle<NatsSubscription>('NatsTransport', NatsTransportStateError);

  constructor(private readonly options: NatsTransportOptions = {}) {
    this.servers = parseServers(options.servers ?? NATS_DEFAULTS.servers);
    this.logger = options.logger ?? createJsonLogger();
    this.settings = {
      ackWaitMs: options.ackWaitMs ?? NATS_DEFAULTS.ackWaitMs,
      maxInHand: options.maxInHand ?? NATS_DEFAULTS.maxInHand,
      fetchExpiresMs: Math.max(1_000, options.fetchExpiresMs ?? NATS_DEFAULTS.fetchExpiresMs),
      releaseDelayMs: options.releaseDelayMs ?? NATS_DEFAULTS.releaseDelayMs,
      retryDueMarginMs: options.retryDueMarginMs ?? NATS_DEFAULTS.retryDueMarginMs,
      requestTimeoutMs: options.requestTimeoutMs ?? NATS_DEFAULTS.requestTimeoutMs,
      maxHeaders: options.maxHeaders ?? NATS_DEFAULTS.maxHeaders,
    };
  }

  start(topology: TopologyIR): Promise<void> {
    return this.lifecycle.start(topology, this.topology, () => this.doStart(topology));
  }

  private async doStart(topology: TopologyIR): Promise<void> {
    const nc = await connectNats({
      servers: this.servers,
      name: this.options.name ?? NATS_DEFAULTS.name,
      reconnect: true,
      timeoutMs: this.settings.requestTimeoutMs,
      asyncTraces: this.options.asyncTraces,
    }).catch((err: unknown) => {
      throw new NatsTransportStateError(
        `cannot connect to NATS at ${this.servers.join(',')}: ${describeNatsError(err)}`,
      );
    });
    try {
      if (this.options.assertResources ?? true) {
        const plan = await provisionNats(topology, {
          connection: nc,
          logger: this.logger,
          timeoutMs: this.settings.requestTimeoutMs,
          replicas: this.options.replicas,
          ackWaitMs: this.settings.ackWaitMs,
          maxAckPending: this.options.maxAckPending,
        });
        const conflicts = plan.filter((item) => item.action === 'conflict');
        if (conflicts.length > 0) throw new NatsResourceConflictError(conflicts);
        const changed = plan.filter((item) => item.action !== 'unchanged');
        if (changed.length > 0) {
          this.logger.info('nats streams and consumers provisioned', {
            changes: changed.map((c) => `${c.action} ${c.kind} ${c.name}`),
          });
        }
      }
    } catch (err) {
      await nc.close().catch(() => undefined);
      throw err;
    }
    void this.watchStatus(nc);
    this.connection = nc;
    this.js = jetstream(nc, { timeout: this.settings.requestTimeoutMs });
    this.subjects = new Map(topology.events.map((e) => [e.name, eventSubject(topology, e)]));
    this.topology = topology;
  }

  /** Connection state changes as log lines: a server away is a warning, its return info. */
  private async watchStatus(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') this.logger.warn('nats: disconnected, reconnecting', { server: s.server });
      else if (s.type === 'reconnect') this.logger.info('nats: reconnected', { server: s.server });
      else if (s.type === 'error') this.logger.warn('nats: connection error', { error: describeNatsError(s.error) });
    }
  }

  /** The subject `event` is published on (for tools that publish beside the transport). */
  subjectOf(event: Pick<EventIR, 'name'>): string {
    if (!this.topology) throw new NatsTransportStateError('NatsTransport: subjectOf() before start() finished');
    return this.subjects.get(event.name) ?? eventSubject(this.topology, event);
  }

  publish(event: EventIR, message: OutgoingMessage): Promise<void> {
    // Not async: the client's promise is the only one a publish makes here (it resolves to the
    // publish ack, which callers of a transport do not read).
    try {
      const js = this.lifecycle.require('publish', this.js);
      const subject = this.subjectOf(event);
      return js.publish(subject, message.body, {
        headers: toNatsHeaders(message.headers, message.key),
        timeout: this.settings.requestTimeoutMs,
      }) as Promise<unknown> as Promise<void>;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async subscribe(consumer: ConsumerIR, handler: DeliveryHandler): Promise<Subscription> {
    const js = this.lifecycle.require('subscribe', this.js);
    const topology = this.topology as TopologyIR;
    const streams = consumer.events.map((name) => {
      if (!topology.events.some((e) => e.name === name)) {
        throw new NatsTransportStateError(
          `consumer ${consumer.id} consumes ${name}, which topology ${topology.name} lacks`,
        );
      }
      return eventStream(topology, { name });
    });
    const subscription = new NatsSubscription({
      js,
      topology,
      consumer,
      streams,
      handler,
      logger: this.logger,
      settings: this.settings,
      maxPayload: () => this.connection?.info?.max_payload ?? NATS_DEFAULTS.maxPayload,
      onStopped: (s) => this.lifecycle.subscriptions.delete(s),
    });
    return this.lifecycle.subscribe(subscription);
  }

  close(options: { timeoutMs?: number } = {}): Promise<void> {
    return this.lifecycle.close(options.timeoutMs ?? NATS_DEFAULTS.stopTimeoutMs, async () => {
      const nc = this.connection;
      if (nc) {
        // Acks and naks are sent without waiting for a reply: flush them before closing.
        await nc.flush().catch(() => undefined);
        await nc.close().catch(() => undefined);
      }
    });
  }
}

interface NatsSubscriptionOptions {
  js: JetStreamClient;
  topology: TopologyIR;
  consumer: ConsumerIR;
  streams: string[];
  handler: DeliveryHandler;
  logger: Logger;
  settings: Settings;
  /** The server's `max_payload` (what it announced on connecting). */
  maxPayload: () => number;
  onStopped: (subscription: NatsSubscription) => void;
}

/** A message this process holds, from the fetch until its disposition is carried out or it is released. */
interface Held {
  msg: JsMsg;
  loop: FetchLoop;
  /** Set once the stop's bound ran out: whatever its handler does later is not acknowledged. */
  abandoned: boolean;
}

/** The fetch loops of one eventform consumer, sharing one {@link KeyScheduler}. */
class NatsSubscription implements Subscription {
  private readonly loops: FetchLoop[] = [];
  private readonly scheduler: KeyScheduler;
  private readonly held = new Set<Held>();
  /** Due-time naks of retry copies by stream sequence: not deliveries "without an outcome". */
  private readonly dueNaks = new Map<number, number>();
  private readonly names: ReturnType<typeof consumerNames>;
  private readonly maxDueAheadMs: number;
  private keepAlive: NodeJS.Timeout | undefined;
  private stopping: Promise<void> | null = null;
  /** Acks not yet handed to the client: sent together, once a turn of the event loop. */
  private acks: JsMsg[] = [];
  private ackTurn: NodeJS.Immediate | undefined;
  stopRequested = false;

  constructor(private readonly o: NatsSubscriptionOptions) {
    this.scheduler = new KeyScheduler(o.consumer.concurrency);
    this.names = consumerNames(o.topology, o.consumer);
    this.maxDueAheadMs =
      Math.max(o.consumer.retry.maxDelayMs, ...o.consumer.retry.delaysMs) + o.settings.retryDueMarginMs;
    for (const stream of o.streams) this.loops.push(new FetchLoop(this, stream, 'event'));
    if (this.names.retryStream) this.loops.push(new FetchLoop(this, this.names.retryStream, 'retry'));
  }

  get js(): JetStreamClient {
    return this.o.js;
  }
  get logger(): Logger {
    return this.o.logger;
  }
  get settings(): Settings {
    return this.o.settings;
  }
  get durable(): string {
    return this.names.durable;
  }

  async start(): Promise<void> {
    // Fails here when a consumer is missing (provisioning off and nothing provisioned).
    await Promise.all(this.loops.map((loop) => loop.bind()));
    // Stopped while binding (the transport closed): nothing to run, no timer to leave behind.
    if (this.stopRequested) return;
    for (const loop of this.loops) loop.run();
    // Messages waiting for a slot or in a handler stay ours: the server would redeliver them
    // after the ack wait.
    const every = Math.max(100, Math.floor(this.o.settings.ackWaitMs / 3));
    this.keepAlive = setInterval(() => {
      for (const h of this.held) if (!h.abandoned) h.msg.working();
    }, every);
    this.keepAlive.unref();
  }

  stop(options: { timeoutMs?: number } = {}): Promise<void> {
    this.stopping ??= (async () => {
      this.stopRequested = true;
      const timeoutMs = options.timeoutMs ?? NATS_DEFAULTS.stopTimeoutMs;
      const loopsDone = Promise.all(this.loops.map((loop) => loop.finished()));
      const drained = this.whenDrained();
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
      await Promise.race([drained, bound]);
      clearTimeout(timer);
      // What is still held after the bound goes back to the server now.
      for (const h of this.held) {
        h.abandoned = true;
        h.msg.nak(this.stopNakDelay());
      }
      this.held.clear();
      await loopsDone;
      this.flushAcks();
      clearInterval(this.keepAlive);
      this.o.onStopped(this);
    })();
    return this.stopping;
  }

  /**
   * While stopping, a released message waits a little longer than a fetch can: else the server
   * could hand it straight back to this subscription's last fetch.
   */
  stopNakDelay(): number {
    return this.o.settings.fetchExpiresMs + 250;
  }

  /**
   * Acknowledge `msg` at the end of this turn of the event loop, with the others of the turn: the
   * client writes to its socket once per microtask flush, and acks finishing in different
   * microtasks would each cost a write (measured: most of this transport's CPU above the raw
   * client's). An ack has no reply to wait for, so nothing waits on it.
   */
  private ack(msg: JsMsg): void {
    this.acks.push(msg);
    this.ackTurn ??= setImmediate(() => this.flushAcks());
  }

  private flushAcks(): void {
    if (this.ackTurn) clearImmediate(this.ackTurn);
    this.ackTurn = undefined;
    const acks = this.acks;
    this.acks = [];
    for (const msg of acks) msg.ack();
  }

  private drainWaiters: (() => void)[] = [];
  private whenDrained(): Promise<void> {
    if (this.held.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private release(h: Held): void {
    this.held.delete(h);
    h.loop.freed();
    if (this.held.size === 0) for (const w of this.drainWaiters.splice(0)) w();
  }

  /** Called by a fetch loop for each message, in stream order. */
  onMessage(msg: JsMsg, loop: FetchLoop): void {
    if (this.stopRequested) {
      msg.nak(this.stopNakDelay());
      return;
    }
    const dueNaks = loop.role === 'retry' ? (this.dueNaks.get(msg.seq) ?? 0) : 0;
    const delivery = toDelivery(msg, {
      deliveryCount: Math.max(0, msg.info.deliveryCount - 1 - dueNaks),
      maxHeaders: this.o.settings.maxHeaders,
      eventStream: loop.role === 'event',
    });
    if (loop.role === 'retry') {
      const wait = this.untilDue(msg, delivery);
      if (wait > 0) {
        msg.nak(wait);
        this.dueNaks.set(msg.seq, dueNaks + 1);
        // Another process may handle it when due: forget the oldest entries, counting is best effort.
        if (this.dueNaks.size > DUE_NAK_MEMORY) this.dueNaks.delete(this.dueNaks.keys().next().value as number);
        return;
      }
      this.dueNaks.delete(msg.seq);
    }
    const h: Held = { msg, loop, abandoned: false };
    this.held.add(h);
    loop.took();
    // Not async, nor is `carryOut` for an ack: each promise costs the process's async hooks.
    this.scheduler.submit(
      delivery.key,
      () => {
        if (h.abandoned) return undefined;
        if (this.stopRequested) {
          msg.nak(this.stopNakDelay());
          return undefined;
        }
        return this.o
          .handler(delivery)
          .then((disposition) => (h.abandoned ? undefined : this.carryOut(disposition, msg, delivery)));
      },
      (failed, error) => {
        if (h.abandoned) return;
        if (failed) {
          this.o.logger.warn('nats: could not carry out a disposition; the message is released', {
            consumer: this.o.consumer.id,
            error: describeNatsError(error),
          });
          msg.nak(this.o.settings.releaseDelayMs);
        }
        this.release(h);
      },
    );
  }

  /** Milliseconds until a retry copy is due: its `ef-due-at`, at most `maxDueAheadMs` after the server stored it. */
  private untilDue(msg: JsMsg, delivery: Delivery): number {
    const declared = Number(delivery.headers[EF.dueAt]);
    if (!Number.isFinite(declared)) return 0;
    const storedAt = msg.info.timestampNanos / 1e6;
    const due = Math.min(declared, storedAt + this.maxDueAheadMs);
    return Math.max(0, Math.ceil(due - Date.now()));
  }

  /** Make the disposition durable, then acknowledge. */
  private carryOut(disposition: Disposition, msg: JsMsg, delivery: Delivery): void | Promise<void> {
    const { consumer } = this.o;
    switch (disposition.kind) {
      case 'ack':
        this.ack(msg);
        return;
      case 'release':
        msg.nak(this.stopRequested ? this.stopNakDelay() : this.o.settings.releaseDelayMs);
        return;
      case 'retry': {
        const subject = this.names.retrySubject;
        if (!subject) throw new Error(`consumer ${consumer.id} has no retry stream, yet the runtime asked for a retry`);
        return this.copy(subject, msg, retryCopyHeaders(disposition, consumer.id, delivery), delivery.key).then(() =>
          this.ack(msg),
        );
      }
      case 'dead-letter': {
        const subject = this.names.deadLetterSubject;
        if (!subject) {
          throw new Error(`consumer ${consumer.id} has no dead-letter stream, yet the runtime asked to dead-letter`);
        }
        return this.copy(subject, msg, disposition.headers, delivery.key).then(() => this.ack(msg));
      }
    }
  }

  /**
   * Store a copy of `msg`'s body. Its message id names the original (stream and sequence), so a
   * copy made again after a crash before the ack is dropped by the server's de-duplication.
   */
  private async copy(
    subject: string,
    msg: JsMsg,
    headers: Record<string, string>,
    key: string | undefined,
  ): Promise<void> {
    const msgID = `${msg.info.stream}:${msg.seq}`;
    const copy = fitCopy(subject === this.names.retrySubject ? 'retry' : 'dead-letter', msg.data, headers, key, {
      maxPayload: this.o.maxPayload(),
      msgID,
      original: `stream ${msg.info.stream}, sequence ${msg.seq}`,
    });
    if (copy.shed.length > 0) {
      this.o.logger.warn("nats: a copy would exceed the server's bounds; parts of it were left out", {
        consumer: this.o.consumer.id,
        subject,
        original: msgID,
        shed: copy.shed,
      });
    }
    await this.o.js.publish(subject, copy.body, {
      headers: copy.headers,
      msgID,
      timeout: this.o.settings.requestTimeoutMs,
    });
  }
}

/** Fetches from one durable consumer, at most `maxInHand` messages held at a time. */
class FetchLoop {
  private consumer: Consumer | null = null;
  private inHand = 0;
  private roomWaiter: (() => void) | null = null;
  private done: Promise<void> = Promise.resolve();
  private lastWarnAt = 0;
  private suppressed = 0;

  constructor(
    private readonly sub: NatsSubscription,
    readonly stream: string,
    readonly role: 'event' | 'retry',
  ) {}

  async bind(): Promise<void> {
    this.consumer = await this.sub.js.consumers.get(this.stream, this.sub.durable).catch((err: unknown) => {
      throw new NatsTransportStateError(
        `NATS consumer ${this.stream}/${this.sub.durable} is not there: ${describeNatsError(err)} (provision the topology, or start with assertResources)`,
      );
    });
  }

  run(): void {
    this.done = this.loop();
  }

  finished(): Promise<void> {
    this.wake();
    return this.done;
  }

  took(): void {
    this.inHand++;
  }

  freed(): void {
    this.inHand--;
    this.wake();
  }

  private wake(): void {
    const w = this.roomWaiter;
    this.roomWaiter = null;
    w?.();
  }

  private async loop(): Promise<void> {
    const { settings } = this.sub;
    while (!this.sub.stopRequested) {
      const room = settings.maxInHand - this.inHand;
      // Fetch again once at least half the room is free: many small fetches cost a round trip each.
      if (room <= 0 || (this.inHand > 0 && room < settings.maxInHand / 2)) {
        await new Promise<void>((resolve) => (this.roomWaiter = resolve));
        continue;
      }
      try {
        const batch = await (this.consumer as Consumer).fetch({ max_messages: room, expires: settings.fetchExpiresMs });
        for await (const msg of batch) this.sub.onMessage(msg, this);
      } catch (err) {
        if (this.sub.stopRequested) break;
        this.warn(err);
        await new Promise((resolve) => setTimeout(resolve, NATS_DEFAULTS.fetchErrorBackoffMs));
      }
    }
  }

  private warn(err: unknown): void {
    const now = Date.now();
    if (now - this.lastWarnAt < NATS_DEFAULTS.warnIntervalMs) {
      this.suppressed++;
      return;
    }
    this.sub.logger.warn('nats: fetch failed; retrying', {
      consumer: `${this.stream}/${this.sub.durable}`,
      error: describeNatsError(err),
      ...(this.suppressed > 0 ? { suppressed: this.suppressed } : {}),
    });
    this.lastWarnAt = now;
    this.suppressed = 0;
  }
}
