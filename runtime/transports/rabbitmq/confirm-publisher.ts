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

export type PublishOutcome = 'routed' | 'returned';

interface Pending {
  returned: boolean;
}

export class ConfirmPublisher {
  private readonly pending = new Map<string, Pending[]>();
  private drained: Promise<void> | null = null;
  private closed = false;
  /** Why the broker closed the channel, when it did (emitted just before 'close'). */
  private closeError: { code: number | undefined; message: string } | undefined;

  constructor(readonly channel: ConfirmChannel) {
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

  /** Publish with `mandatory: true` and wait for the broker's confirm. */
  async publish(exchange: string, routingKey: string, body: Buffer, options: Options.Publish): Promise<PublishOutcome> {
    // Respect socket back-pressure: the previous write filled the buffer.
    if (this.drained) await this.drained;
    if (this.closed) throw this.closedError('channel closed before publish');

    const key = pendingKey(exchange, routingKey, options.messageId);
    const entry: Pending = { returned: false };
    const list = this.pending.get(key) ?? [];
    list.push(entry);
    this.pending.set(key, list);

    return new Promise<PublishOutcome>((resolve, reject) => {
      const settle = (err: unknown): void => {
        this.forget(key, entry);
        if (err === null || err === undefined) resolve(entry.returned ? 'returned' : 'routed');
        else if (err instanceof Error && err.message === 'message nacked') {
          reject(new PublishNackedError(`broker refused the message (nack) for ${describe(exchange, routingKey)}`));
        } else reject(this.closedError(`channel closed before the broker confirmed ${describe(exchange, routingKey)}`));
      };
      try {
        const ok = this.channel.publish(exchange, routingKey, body, { ...options, mandatory: true }, settle);
        if (!ok && !this.drained) {
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
      } catch (err) {
        // amqplib throws synchronously once the channel is closed.
        this.forget(key, entry);
        reject(this.closedError(`channel closed: ${err instanceof Error ? err.message : String(err)}`));
      }
    });
  }

  private closedError(message: string): ChannelClosedError {
    const cause = this.closeError;
    return cause ? new ChannelClosedError(`${message}: ${cause.message}`, cause.code) : new ChannelClosedError(message);
  }

  private onReturn(msg: Message): void {
    const key = pendingKey(msg.fields.exchange, msg.fields.routingKey, msg.properties.messageId as string | undefined);
    const entry = this.pending.get(key)?.find((p) => !p.returned);
    if (entry) entry.returned = true;
  }

  private forget(key: string, entry: Pending): void {
    const list = this.pending.get(key);
    if (!list) return;
    const i = list.indexOf(entry);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.pending.delete(key);
  }
}

function pendingKey(exchange: string, routingKey: string, messageId: string | undefined): string {
  return `${exchange}\u0000${routingKey}\u0000${messageId ?? ''}`;
}

function describe(exchange: string, routingKey: string): string {
  return exchange === '' ? `queue ${routingKey}` : `${exchange}/${routingKey}`;
}
