/**
 * Publishing on a ConfirmChannel with the `mandatory` flag, one promise per message.
 *
 * The promise settles on the broker's confirm: `routed` (stored in at least one queue),
 * `returned` (acked, but no queue matched — the broker sent basic.return first), or it rejects
 * with {@link PublishNackedError} on basic.nack and {@link ChannelClosedError} when the channel
 * closes before the confirm (the message may or may not have been stored).
 *
 * basic.return carries no delivery tag. RabbitMQ sends it before the ack of the same message and
 * routing depends only on exchange + routing key, so a return is matched to the oldest
 * unconfirmed publish with the same exchange, routing key and message id.
 */
import type { ConfirmChannel, Message, Options } from 'amqplib';
import { PublishNackedError } from './errors.js';
import { TimeoutError, withTimeout } from './timing.js';
import { amqplibFastPaths } from './amqplib-internals.js';
import { encodePublishFrames, normalise } from './publish-frames.js';

/**
 * The channel closed (or was already closed) before the broker confirmed the message. `code` is
 * the AMQP reply code when the broker closed the channel because of an error (404: no such
 * exchange), undefined when the connection went away.
 */
export class ChannelClosedError extends Error {
  override readonly name = 'ChannelClosedError';
  constructor(
    message: string,
    readonly code?: number,
  ) {
    super(message);
  }
}

/**
 * The deadline passed before the message was written to the connection (it stayed back-pressured,
 * or no time was left): unlike a {@link TimeoutError} on the confirm, nothing was sent.
 */
export class NotSentError extends Error {
  override readonly name = 'NotSentError';
}

export type PublishOutcome = 'routed' | 'returned';

/** One message waiting for its confirm. Kept in insertion order so a return finds the oldest match. */
interface Pending {
  exchange: string;
  routingKey: string;
  messageId: string | undefined;
  returned: boolean;
  settled: boolean;
  timer: NodeJS.Timeout | undefined;
  resolve: (outcome: PublishOutcome) => void;
  reject: (error: Error) => void;
}

export class ConfirmPublisher {
  /** Unconfirmed messages, oldest first (a Set keeps insertion order and deletes in O(1)). */
  private readonly pending = new Set<Pending>();
  private drained: Promise<void> | null = null;
  private closed = false;
  /** Why the broker closed the channel, when it did (emitted just before 'close'). */
  private closeError: { code: number | undefined; message: string } | undefined;

  /**
   * `fastPath`: whether publishes may take the transport's own encoder and amqplib's channel
   * internals (see amqplib-internals.ts); the transport passes what its version gate and
   * self-check decided. Off, every publish goes through amqplib's public `ConfirmChannel#publish`.
   */
  constructor(
    readonly channel: ConfirmChannel,
    private readonly fastPath: boolean = amqplibFastPaths().publishEncoder.enabled,
  ) {
    channel.on('return', (msg: Message) => this.onReturn(msg));
    channel.on('error', (err: Error & { code?: unknown }) => {
      this.closeError = { code: typeof err.code === 'number' ? err.code : undefined, message: err.message };
    });
    channel.on('close', () => {
      this.closed = true;
    });
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /**
   * Publish with `mandatory: true` (set on `options`, which the caller hands over) and wait for
   * the broker's confirm. With `timeoutMs`, rejects with {@link TimeoutError} when no confirm came
   * in time (the message may or may not have been stored), and with {@link NotSentError} when the
   * time ran out before the message could be written (the socket stayed back-pressured).
   *
   * Hot path: one promise, one callback and at most one timer per message — no async wrapper.
   */
  publish(
    exchange: string,
    routingKey: string,
    body: Buffer,
    options: Options.Publish,
    timeoutMs?: number,
  ): Promise<PublishOutcome> {
    // Respect socket back-pressure: the previous write filled the buffer.
    if (this.drained) {
      if (timeoutMs === undefined) return this.drained.then(() => this.publish(exchange, routingKey, body, options));
      const until = Date.now() + timeoutMs;
      return withTimeout(this.drained, Math.max(0, timeoutMs)).then(
        () => this.publish(exchange, routingKey, body, options, until - Date.now()),
        (err: unknown) => {
          throw err instanceof TimeoutError
            ? new NotSentError(`not sent: the connection stayed back-pressured for ${timeoutMs}ms`)
            : err;
        },
      );
    }
    if (this.closed) return Promise.reject(this.closedError('channel closed before publish'));
    if (timeoutMs !== undefined && timeoutMs <= 0) {
      return Promise.reject(new NotSentError('not sent: no time left before the deadline'));
    }

    return new Promise<PublishOutcome>((resolve, reject) => {
      const entry: Pending = {
        exchange,
        routingKey,
        messageId: options.messageId,
        returned: false,
        settled: false,
        timer: undefined,
        resolve,
        reject,
      };
      this.pending.add(entry);
      options.mandatory = true;
      try {
        // Inline callbacks, no per-message named closure or extra promise (this is the hot path).
        const ok = this.send(exchange, routingKey, body, options, (err: unknown) => this.settle(entry, err));
        if (!ok && !this.drained) this.waitForDrain();
      } catch (err) {
        // amqplib throws synchronously once the channel is closed.
        entry.settled = true;
        this.pending.delete(entry);
        reject(this.closedError(`channel closed: ${err instanceof Error ? err.message : String(err)}`));
        return;
      }
      if (timeoutMs !== undefined && !entry.settled)
        entry.timer = setTimeout(expire, timeoutMs, this, entry, timeoutMs);
    });
  }

  /** The broker's confirm (err null), nack, channel closure, or the timeout for one message. */
  settle(entry: Pending, err: unknown): void {
    if (entry.settled) return;
    entry.settled = true;
    this.pending.delete(entry);
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    if (err === null || err === undefined) entry.resolve(entry.returned ? 'returned' : 'routed');
    else if (err instanceof TimeoutError) entry.reject(err);
    else if (err instanceof Error && err.message === 'message nacked') {
      entry.reject(
        new PublishNackedError(`broker refused the message (nack) for ${describe(entry.exchange, entry.routingKey)}`),
      );
    } else {
      entry.reject(
        this.closedError(`channel closed before the broker confirmed ${describe(entry.exchange, entry.routingKey)}`),
      );
    }
  }

  /**
   * How publishes are encoded: `frames` (this transport's encoder, see publish-frames.ts), `fields`
   * (amqplib encodes, without its `Args.publish` header wrapping) or `amqplib` (`ConfirmChannel#publish`).
   */
  get encoding(): 'frames' | 'fields' | 'amqplib' {
    if (!this.fastPath || !hasPublishInternals(this.channel)) return 'amqplib';
    const connection = connectionOf(this.channel);
    return connection && outgoingOf(this.channel, connection) ? 'frames' : 'fields';
  }

  private send(
    exchange: string,
    routingKey: string,
    body: Buffer,
    options: Options.Publish,
    callback: (err: unknown) => void,
  ): boolean {
    const channel = this.channel;
    if (!this.fastPath || !hasPublishInternals(channel)) {
      return channel.publish(exchange, routingKey, body, options, callback);
    }
    const connection = connectionOf(channel);
    const outgoing = connection && outgoingOf(channel, connection);
    if (outgoing !== undefined) {
      const { ch } = channel;
      const frames = encodePublishFrames(
        ch,
        exchange,
        routingKey,
        !!options.mandatory,
        options,
        body,
        connection!.frameMax,
      );
      if (frames !== undefined) {
        // What Connection#sendMessage does with the frames it encodes.
        connection!.sentSinceLastCheck = true;
        const ok = outgoing.write(frames);
        channel.pushConfirmCallback(callback);
        return ok;
      }
    }
    // Not ours to encode, or the channel is closing: amqplib encodes (or throws its own error).
    const fieldsAndProperties = publishFieldsAndProperties(exchange, routingKey, options);
    if (fieldsAndProperties === undefined) return channel.publish(exchange, routingKey, body, options, callback);
    // What ConfirmChannel#publish does, minus the header wrapping.
    const ok = channel.sendMessage(fieldsAndProperties, fieldsAndProperties, body);
    channel.pushConfirmCallback(callback);
    return ok;
  }

  private waitForDrain(): void {
    this.drained = new Promise<void>((r) => {
      const done = (): void => {
        this.drained = null;
        this.channel.off('drain', done);
        this.channel.off('close', done);
        r();
      };
      this.channel.once('drain', done);
      this.channel.once('close', done);
    });
  }

  private closedError(message: string): ChannelClosedError {
    const cause = this.closeError;
    return cause ? new ChannelClosedError(`${message}: ${cause.message}`, cause.code) : new ChannelClosedError(message);
  }

  private onReturn(msg: Message): void {
    const { exchange, routingKey } = msg.fields;
    const messageId = msg.properties.messageId as string | undefined;
    // Returns are rare (or, for an event without consumers, come with every message while few
    // are pending): a scan from the oldest is cheaper than keying every publish.
    for (const p of this.pending) {
      if (!p.returned && p.exchange === exchange && p.routingKey === routingKey && p.messageId === messageId) {
        p.returned = true;
        return;
      }
    }
  }
}

/**
 * The two methods amqplib's own `ConfirmChannel#publish` is made of (amqplib 0.10 to 2.x):
 * `sendMessage(fields, properties, content)` encodes and writes basic.publish + header + body frames
 * (it throws once a close of the channel or connection has begun, like `publish`),
 * `pushConfirmCallback(cb)` queues the confirm callback. `ch` and `connection` are the channel's
 * number and its connection.
 */
interface PublishInternals {
  ch: number;
  connection: unknown;
  sendMessage(fields: object, properties: object, content: Buffer): boolean;
  pushConfirmCallback(callback: (err: unknown) => void): void;
}

/**
 * What amqplib's `Connection#sendMessage` uses (amqplib 0.10 to 2.x): the negotiated frame size, the
 * heartbeat flag, and per channel number the stream its frames are written to (the connection reads
 * them from there onto the socket). The slot stays while a close is under way (see `connectionOf`)
 * and is emptied or reused once the channel is closed.
 */
interface ConnectionInternals {
  frameMax: number;
  sentSinceLastCheck: boolean;
  channels: ({ channel: unknown; buffer: { write(chunk: Buffer): boolean } } | null | undefined)[];
}

function hasPublishInternals(channel: ConfirmChannel): channel is ConfirmChannel & PublishInternals {
  const c = channel as unknown as Partial<PublishInternals>;
  return typeof c.sendMessage === 'function' && typeof c.pushConfirmCallback === 'function';
}

/**
 * The channel's connection, when it has the internals the frame encoder writes through and neither
 * is closing. Once a close has begun (by us or by amqplib), amqplib replaces `sendMessage` on the
 * channel or connection instance with one that throws ("Channel closing", "Connection closing")
 * while the channel's slot and stream stay in place until close-ok: then this returns undefined
 * and the publish goes through `sendMessage`, which throws as before.
 */
function connectionOf(channel: ConfirmChannel & PublishInternals): ConnectionInternals | undefined {
  const connection = channel.connection as Partial<ConnectionInternals> | undefined;
  if (typeof connection?.frameMax !== 'number' || !Array.isArray(connection.channels)) return undefined;
  if (Object.hasOwn(channel, 'sendMessage') || Object.hasOwn(connection, 'sendMessage')) return undefined;
  return connection as ConnectionInternals;
}

/** The stream this channel's frames go to, while the connection still has it open; else undefined. */
function outgoingOf(
  channel: ConfirmChannel & PublishInternals,
  connection: ConnectionInternals,
): { write(chunk: Buffer): boolean } | undefined {
  const slot = connection.channels[channel.ch];
  return slot?.channel === channel && typeof slot.buffer?.write === 'function' ? slot.buffer : undefined;
}

/**
 * The method fields and properties amqplib's `Args.publish` builds, except that `headers` is our
 * object itself. amqplib wraps it as `Object.create(options.headers)` (to add CC/BCC without
 * touching the caller's object); a fresh per-message object turned into a prototype is slow in V8,
 * and the header encoder's for-in then walks a prototype chain — measured at 2-3 times the cost
 * of encoding the same headers from a plain object (about 8-15 µs per message on the bench machine),
 * the largest single cost the envelope headers add. The frames on the wire are the same. Returns
 * undefined for options only `Args.publish` knows how to handle (CC, BCC), so those go through it.
 */
export function publishFieldsAndProperties(
  exchange: string,
  routingKey: string,
  options: Options.Publish,
): Record<string, unknown> | undefined {
  const properties = normalise(options);
  if (properties === undefined) return undefined;
  return {
    // method fields
    exchange,
    routingKey,
    mandatory: !!options.mandatory,
    immediate: false,
    ticket: undefined,
    ...properties,
    clusterId: undefined,
  };
}

function expire(publisher: ConfirmPublisher, entry: Pending, timeoutMs: number): void {
  publisher.settle(entry, new TimeoutError(`no confirm within ${timeoutMs}ms`));
}

function describe(exchange: string, routingKey: string): string {
  return exchange === '' ? `queue ${routingKey}` : `${exchange}/${routingKey}`;
}
