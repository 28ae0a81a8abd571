/**
 * One consumer's subscription: its own ConfirmChannel, prefetch, handler concurrency, and the
 * durable execution of each disposition.
 *
 * Contract (see runtime/core/transport.ts):
 * - the handler runs at most `consumer.concurrency` times at once; prefetch defaults to the same
 *   number, so the broker never hands this process more than it can work on;
 * - a disposition is made durable before the original is acknowledged: a retry copy is published
 *   to the consumer's retry queue (default exchange, mandatory, confirmed), a dead-letter copy to
 *   its DLQ, and only then is the original acked. A crash in between duplicates, never loses;
 * - when the channel or connection dies, in-flight handlers finish but cannot ack — the broker
 *   redelivers those messages (the idempotency store turns the second run into a no-op). The
 *   subscription re-opens its channel on the current connection as soon as there is one;
 * - `stop` cancels the consumer, waits for in-flight handlers up to its timeout, closes the
 *   channel; unacknowledged messages go back to the queue.
 */
import type { ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import type { ConsumerIR, Delivery, DeliveryHandler, Disposition, Logger, Subscription } from '@eventform/runtime';
import { EF } from '@eventform/runtime';
import { AckBatcher, type AckTicket } from './ack-batcher.js';
import { ConfirmPublisher } from './confirm-publisher.js';
import { RABBITMQ_DEFAULTS } from './defaults.js';
import { DEFAULT_EXCHANGE, retryTierFor } from './resources.js';
import { errorMessage } from './errors.js';
import { withTimeout } from './timing.js';
import { publishProperties, toDelivery } from './wire.js';

/** What a subscription needs from its transport. */
export interface SubscriptionHost {
  readonly logger: Logger;
  /** The live connection, or null while (re)connecting. */
  currentConnection(): ChannelModel | null;
  /** Resolves with the next live connection; rejects once the transport is closing. */
  nextConnection(): Promise<ChannelModel>;
  /** Delay before re-opening attempt `n` (0-based). */
  backoffMs(attempt: number): number;
  /** Sleep, cut short when the transport closes. */
  pause(ms: number): Promise<void>;
  /** How long a retry/dead-letter publish may wait for its confirm. */
  readonly publishTimeoutMs: number;
  readonly dispositionFailurePauseMs: number;
  /** Whether retry and dead-letter copies may take the publish fast path (see amqplib-internals.ts). */
  readonly publishFastPath: boolean;
  readonly metrics: SubscriptionMetrics;
}

export interface SubscriptionMetrics {
  delivered: number;
  redelivered: number;
  retried: number;
  deadLettered: number;
  /** Acks/nacks that could not be sent because the channel had died; the broker redelivers. */
  lostAcks: number;
  channelsOpened: number;
}

/** What one open channel of the subscription is made of; replaced as a whole when it is re-opened. */
interface Lane {
  channel: ConfirmChannel;
  /** Confirmed publishes of retry and dead-letter copies, on the same channel. */
  publisher: ConfirmPublisher;
  acks: AckBatcher;
}

export class RabbitSubscription implements Subscription {
  private channel: ConfirmChannel | null = null;
  private channelConnection: ChannelModel | null = null;
  private lane: Lane | null = null;
  private consumerTag: string | null = null;
  private opening: Promise<void> | null = null;
  private stopped = false;
  private inFlight = 0;
  private readonly idleWaiters = new Set<() => void>();
  /** Messages delivered but waiting for a handler slot (prefetch > concurrency). */
  private readonly waiting: (() => void)[] = [];
  private running = 0;

  constructor(
    private readonly host: SubscriptionHost,
    readonly consumer: ConsumerIR,
    private readonly handler: DeliveryHandler,
    private readonly prefetch: number,
  ) {}

  /** Open the channel and start consuming on `connection`; errors propagate (first subscribe). */
  async open(connection: ChannelModel): Promise<void> {
    const channel = await connection.createConfirmChannel();
    this.host.metrics.channelsOpened++;
    const lane: Lane = {
      channel,
      publisher: new ConfirmPublisher(channel, this.host.publishFastPath),
      acks: new AckBatcher(channel, (lost) => {
        this.host.metrics.lostAcks += lost;
      }),
    };
    channel.on('error', (err: Error) => {
      this.host.logger.warn('rabbitmq consumer channel error', { consumer: this.consumer.id, error: err.message });
    });
    channel.on('handler-error', (err: Error, event: string) => {
      this.host.logger.error('rabbitmq consumer callback failed', {
        consumer: this.consumer.id,
        event,
        error: err.message,
      });
    });
    channel.on('close', () => this.onChannelClosed(channel));
    try {
      await channel.prefetch(this.prefetch);
      this.channel = channel;
      this.channelConnection = connection;
      this.lane = lane;
      const { consumerTag } = await channel.consume(this.consumer.rabbitmq.queue, (msg) => this.onMessage(lane, msg), {
        noAck: false,
      });
      this.consumerTag = consumerTag;
    } catch (err) {
      if (this.channel === channel) this.detach();
      await channel.close().catch(() => {});
      throw err;
    }
    if (this.stopped) await this.closeChannel();
  }

  /** Make sure the subscription consumes on the current connection; re-opens in the background. */
  ensureOpen(): void {
    if (this.stopped || this.opening) return;
    const current = this.host.currentConnection();
    if (this.channel && current && this.channelConnection === current) return;
    this.opening = this.reopen().finally(() => {
      this.opening = null;
    });
  }

  async stop(options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const timeoutMs = options.timeoutMs ?? RABBITMQ_DEFAULTS.stopTimeoutMs;
    const channel = this.channel;
    if (channel && this.consumerTag) {
      // After cancel-ok the broker sends nothing more to this consumer.
      await withTimeout(channel.cancel(this.consumerTag), Math.min(timeoutMs, 5_000)).catch(() => {});
    }
    // Messages waiting for a handler slot are given back straight away.
    for (const release of this.waiting.splice(0)) release();
    await this.waitIdle(timeoutMs);
    await this.closeChannel();
  }

  private async reopen(): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      let connection = this.host.currentConnection();
      try {
        connection ??= await this.host.nextConnection();
        if (this.stopped) return;
        await this.open(connection);
        this.host.logger.info('rabbitmq consumer resubscribed', { consumer: this.consumer.id });
        return;
      } catch (err) {
        if (this.stopped) return;
        const delay = this.host.backoffMs(attempt);
        this.host.logger.warn('rabbitmq consumer could not resubscribe; retrying', {
          consumer: this.consumer.id,
          error: errorMessage(err),
          retryInMs: delay,
        });
        await this.host.pause(delay);
      }
    }
  }

  private onChannelClosed(channel: ConfirmChannel): void {
    if (this.channel !== channel) return;
    this.detach();
    if (this.stopped) return;
    this.host.logger.warn('rabbitmq consumer channel closed; in-flight messages will be redelivered', {
      consumer: this.consumer.id,
      inFlight: this.inFlight,
    });
    // If the whole connection died, the transport calls ensureOpen after reconnecting; if only the
    // channel died, re-open on the live connection. Deferred so the connection's own close event
    // (which fires after its channels') is seen first.
    setImmediate(() => this.ensureOpen());
  }

  private detach(): void {
    this.channel = null;
    this.channelConnection = null;
    this.lane = null;
    this.consumerTag = null;
  }

  private async closeChannel(): Promise<void> {
    const lane = this.lane;
    this.detach();
    if (!lane) return;
    // Acks still coalescing go out before the close, in channel order.
    lane.acks.flush();
    await lane.channel.close().catch(() => {});
  }

  private onMessage(lane: Lane, msg: ConsumeMessage | null): void {
    const channel = lane.channel;
    if (msg === null) {
      // The broker cancelled the consumer (queue deleted or moved): start over.
      this.host.logger.warn('rabbitmq cancelled the consumer; re-subscribing', { consumer: this.consumer.id });
      if (this.channel === channel) {
        this.detach();
        void channel.close().catch(() => {});
        if (!this.stopped) setTimeout(() => this.ensureOpen(), this.host.backoffMs(0));
      }
      return;
    }
    this.host.metrics.delivered++;
    if (msg.fields.redelivered) this.host.metrics.redelivered++;
    this.inFlight++;
    void this.process(lane, lane.acks.track(msg));
  }

  /** One delivery, start to end; never rejects. `inFlight` counts it until its disposition is carried out. */
  private async process(lane: Lane, ticket: AckTicket): Promise<void> {
    let holdsSlot = false;
    try {
      const concurrency = Math.max(1, this.consumer.concurrency);
      while (this.running >= concurrency && !this.stopped)
        await new Promise<void>((resolve) => this.waiting.push(resolve));
      if (this.stopped) {
        this.settle(lane, ticket, 'nack');
        this.waiting.shift()?.();
        return;
      }
      if (this.channel !== lane.channel) {
        // Its channel died while it waited for a slot: the broker already requeued it.
        this.host.metrics.lostAcks++;
        lane.acks.forget(ticket);
        this.waiting.shift()?.();
        return;
      }
      this.running++;
      holdsSlot = true;
      const delivery = toDelivery(ticket.msg, this.consumer.rabbitmq.queueType);
      let disposition: Disposition;
      try {
        disposition = await this.handler(delivery);
      } catch (err) {
        // The runtime promises never to reject; if it does, give the message back.
        this.host.logger.error('delivery handler rejected; releasing the message', {
          consumer: this.consumer.id,
          error: errorMessage(err),
        });
        disposition = { kind: 'release' };
      }
      await this.carryOut(lane, ticket, delivery, disposition);
    } finally {
      if (holdsSlot) {
        this.running--;
        this.waiting.shift()?.();
      }
      this.inFlight--;
      if (this.inFlight === 0) for (const wake of this.idleWaiters) wake();
    }
  }

  private async carryOut(lane: Lane, ticket: AckTicket, delivery: Delivery, disposition: Disposition): Promise<void> {
    const msg = ticket.msg;
    switch (disposition.kind) {
      case 'ack':
        this.settle(lane, ticket, 'ack');
        return;
      case 'release':
        this.settle(lane, ticket, 'nack');
        return;
      case 'retry': {
        const tier = retryTierFor(this.consumer, disposition.delayMs);
        if (!tier) {
          this.host.logger.warn('retry requested but the consumer has no retry queue; requeueing without delay', {
            consumer: this.consumer.id,
          });
        }
        const headers = { ...disposition.headers };
        headers[EF.origin] ??= delivery.origin;
        headers[EF.retryFor] ??= this.consumer.id;
        const target = tier?.name ?? this.consumer.rabbitmq.queue;
        if (await this.publishCopy(lane.publisher, target, msg, headers, 'retry')) {
          this.host.metrics.retried++;
          this.settle(lane, ticket, 'ack');
        } else await this.giveBack(lane, ticket);
        return;
      }
      case 'dead-letter': {
        const dlq = this.consumer.rabbitmq.deadLetterQueue;
        if (dlq === null) {
          this.host.logger.warn('dead-lettering is off for this consumer; acknowledging the spent message on purpose', {
            consumer: this.consumer.id,
            id: delivery.headers.id,
          });
          this.settle(lane, ticket, 'ack');
          return;
        }
        const headers = { ...disposition.headers };
        headers[EF.origin] ??= delivery.origin;
        if (await this.publishCopy(lane.publisher, dlq, msg, headers, 'dead-letter')) {
          this.host.metrics.deadLettered++;
          this.settle(lane, ticket, 'ack');
        } else await this.giveBack(lane, ticket);
        return;
      }
    }
  }

  /** Publish a copy to one of this consumer's queues and wait for the confirm; true when stored. */
  private async publishCopy(
    publisher: ConfirmPublisher,
    queue: string,
    msg: ConsumeMessage,
    headers: Record<string, string>,
    what: string,
  ): Promise<boolean> {
    // The key travels as the partitionkey attribute, among the headers (wire.ts).
    const props = publishProperties(headers);
    // Keep the original publication time rather than the copy's.
    if (typeof msg.properties.timestamp === 'number') props.timestamp = msg.properties.timestamp;
    try {
      const outcome = await publisher.publish(DEFAULT_EXCHANGE, queue, msg.content, props, this.host.publishTimeoutMs);
      if (outcome === 'routed') return true;
      this.host.logger.error(`rabbitmq ${what} queue is missing; the message stays in the consumer queue`, {
        consumer: this.consumer.id,
        queue,
        hint: 'run `eventform provision` or start the transport with assertResources',
      });
      return false;
    } catch (err) {
      if (!publisher.isOpen) {
        this.host.logger.debug(`rabbitmq ${what} copy not confirmed: channel closed; the broker will redeliver`, {
          consumer: this.consumer.id,
        });
      } else {
        this.host.logger.error(`rabbitmq ${what} copy failed`, {
          consumer: this.consumer.id,
          queue,
          error: errorMessage(err),
        });
      }
      return false;
    }
  }

  /** The disposition could not be made durable: give the message back after a pause (no hot loop). */
  private async giveBack(lane: Lane, ticket: AckTicket): Promise<void> {
    if (this.channel !== lane.channel) {
      this.host.metrics.lostAcks++;
      lane.acks.forget(ticket);
      return;
    }
    await this.host.pause(this.host.dispositionFailurePauseMs);
    this.settle(lane, ticket, 'nack');
  }

  /**
   * Ack (coalesced, see {@link AckBatcher}) or nack-with-requeue (at once) on the channel the
   * message came from; a dead channel means redelivery.
   */
  private settle(lane: Lane, ticket: AckTicket, how: 'ack' | 'nack'): void {
    try {
      if (how === 'ack') lane.acks.ack(ticket);
      else lane.acks.nack(ticket);
    } catch {
      this.host.metrics.lostAcks++;
      this.host.logger.debug(`rabbitmq ${how} impossible: channel closed; the broker will redeliver`, {
        consumer: this.consumer.id,
      });
    }
  }

  private waitIdle(timeoutMs: number): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.idleWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(() => {
        this.host.logger.warn('rabbitmq consumer stop timed out; unfinished messages will be redelivered', {
          consumer: this.consumer.id,
          inFlight: this.inFlight,
        });
        done();
      }, timeoutMs);
      this.idleWaiters.add(done);
    });
  }
}
