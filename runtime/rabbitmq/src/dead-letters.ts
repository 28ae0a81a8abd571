/**
 * The dead letters of a topology's consumers on RabbitMQ, for `eventform dlq` (see
 * {@link DeadLetterStore} in @eventform/runtime).
 *
 * - A pass takes the messages the consumer's DLQ held when it began, one `basic.get` at a time,
 *   without acknowledging them: a message kept stays unacknowledged until the pass ends and its
 *   channel closes, which gives it back to the queue in its place. A deleted message is acked; a
 *   replayed one is acked once its copy is confirmed. A crash in between duplicates, never loses.
 * - Replay goes to the consumer's own queue through the default exchange (the queue's name as
 *   routing key), as the retry queues' dead-lettering does: no other consumer of the event gets it.
 *   The queue must exist (mandatory publish); otherwise the message stays in the DLQ.
 * - Headers are decoded with the transport's bounded decoder (amqplib-internals.ts) when it is on.
 *
 * Quorum queues count every return of a message in `x-delivery-count`, so each pass that keeps a
 * message counts once more. RabbitMQ before 4.3 counts a return on channel close too, and 4.0–4.2
 * give quorum queues a default `delivery-limit` of 20, past which the broker drops the message: on
 * those versions raise the DLQs' limit with a policy. A warning names any message counted 10 times.
 */
import type { ChannelModel, GetMessage } from 'amqplib';
import type { ConsumerIR, DeadLetterPass, DeadLetterPassOptions, DecideDeadLetter, Logger } from '@eventform/runtime';
import type { DeadLetterStore, Headers, StoredDeadLetter } from '@eventform/runtime';
import { carryOutDecision, createJsonLogger, emptyPass } from '@eventform/runtime';
import { amqplibFastPaths, installHeaderDecoder, reportFastPaths } from './amqplib-internals.js';
import { ConfirmPublisher } from './confirm-publisher.js';
import { RABBITMQ_DEFAULTS, defaultRabbitmqUrl, openConnection, redactUrl } from './defaults.js';
import { DEFAULT_EXCHANGE } from './resources.js';
import { publishProperties, toDelivery } from './wire.js';

export interface RabbitmqDeadLettersOptions {
  /** @default $EVENTFORM_RABBITMQ_URL, else amqp://guest:guest@127.0.0.1:5672 */
  url?: string | undefined;
  /** @default JSON lines on stderr */
  logger?: Logger | undefined;
  /** @default 'eventform-dlq' */
  connectionName?: string | undefined;
  /** How long a replayed copy may wait for its publisher confirm. @default 10_000 */
  publishTimeoutMs?: number | undefined;
}

/** Times a kept dead letter may be counted as returned before a warning says so. */
const DELIVERY_COUNT_WARNING = 10;
/** AMQP reply code of a missing queue. */
const NOT_FOUND = 404;
/** How long a pass waits for the messages it kept to be ready in the queue again. */
const RETURN_WAIT_MS = 10_000;

/** Messages a pass acknowledged: deleted, or replayed and not kept. */
function removed(pass: DeadLetterPass): number {
  return pass.read - pass.kept;
}

/** Connects to RabbitMQ and gives access to the dead letters of a topology's consumers. */
export async function openRabbitmqDeadLetters(options: RabbitmqDeadLettersOptions = {}): Promise<DeadLetterStore> {
  const url = options.url ?? defaultRabbitmqUrl();
  const logger = options.logger ?? createJsonLogger({ fields: { component: 'rabbitmq-dlq' } });
  const paths = amqplibFastPaths();
  reportFastPaths(paths, logger);
  const connection = await openConnection(url, options.connectionName ?? 'eventform-dlq');
  connection.on('error', (err: Error) => logger.warn('rabbitmq connection error', { error: err.message }));
  if (paths.headerDecoder.enabled && !installHeaderDecoder(connection, headerBounds())) {
    logger.warn('rabbitmq header decoder not installed: amqplib decodes dead letters’ headers unbounded', {
      amqplib: paths.version,
    });
  }
  return new RabbitmqDeadLetters(
    connection,
    logger,
    paths.publishEncoder.enabled,
    options.publishTimeoutMs ?? RABBITMQ_DEFAULTS.publishTimeoutMs,
    redactUrl(url),
  );
}

function headerBounds(): { maxDepth: number; maxBytes: number } {
  return { maxDepth: RABBITMQ_DEFAULTS.maxHeaderDepth, maxBytes: RABBITMQ_DEFAULTS.maxHeaderBytes };
}

class RabbitmqDeadLetters implements DeadLetterStore {
  readonly broker = 'rabbitmq';
  readonly locationKind = 'queue';
  readonly deletesSingle = true;

  constructor(
    private readonly connection: ChannelModel,
    private readonly logger: Logger,
    private readonly publishFastPath: boolean,
    private readonly publishTimeoutMs: number,
    private readonly target: string,
  ) {}

  location(consumer: ConsumerIR): string | null {
    return consumer.rabbitmq.deadLetterQueue;
  }

  replayBlocked(): string | null {
    return null;
  }

  async pass(consumer: ConsumerIR, decide: DecideDeadLetter, options: DeadLetterPassOptions = {}) {
    const result = emptyPass(this, consumer);
    const queue = result.location;
    const total = await this.depth(queue);
    if (total === null) return { ...result, missing: true };
    options.onTotal?.(total);
    if (total === 0) return result;

    const channel = await this.connection.createConfirmChannel();
    let closeError: Error | undefined;
    channel.on('error', (err: Error) => {
      closeError = err;
    });
    const publisher = new ConfirmPublisher(channel, this.publishFastPath);
    let warned = false;
    try {
      while (result.read < total) {
        const msg = await channel.get(queue, { noAck: false });
        if (msg === false) break;
        result.read++;
        // The decoding of a consumed message; a basic.get reply lacks only the consumer tag.
        const delivery = toDelivery(
          { ...msg, fields: { ...msg.fields, consumerTag: '' } },
          consumer.rabbitmq.queueType,
        );
        if (!warned && (delivery.deliveryCount ?? 0) >= DELIVERY_COUNT_WARNING) {
          warned = true;
          this.logger.warn(
            'rabbitmq counted a dead letter as returned many times; on RabbitMQ 4.0–4.2 a quorum queue drops a message ' +
              'past its delivery-limit (default 20): raise the limit of the dead-letter queues with a policy',
            { queue, deliveryCount: delivery.deliveryCount },
          );
        }
        const stored: StoredDeadLetter = {
          consumer: consumer.id,
          body: delivery.body,
          headers: delivery.headers,
          key: delivery.key,
          position: `#${result.read}`,
          undecodable: delivery.undecodable,
        };
        await carryOutDecision(
          await decide(stored),
          {
            replay: (headers) => this.replay(publisher, consumer, msg, headers),
            remove: () => channel.ack(msg),
          },
          result,
        );
      }
    } finally {
      // Kept messages go back to the queue, in their places, when the channel closes.
      await channel.close().catch(() => {});
    }
    if (closeError) throw closeError;
    // The broker puts them back after the close-ok (a quorum queue through its log): wait until
    // they are ready again, so the next pass, in this process or the next command, sees them.
    await this.untilReady(queue, total - removed(result));
    return result;
  }

  async truncate(consumer: ConsumerIR): Promise<number> {
    const pass = await this.pass(consumer, () => ({ action: 'delete' }));
    return pass.deleted;
  }

  async close(): Promise<void> {
    await this.connection.close().catch(() => {});
  }

  /** Waits (a bounded time) until the queue holds at least `count` ready messages. */
  private async untilReady(queue: string, count: number): Promise<void> {
    const deadline = Date.now() + RETURN_WAIT_MS;
    for (;;) {
      const ready = await this.depth(queue);
      if (ready === null || ready >= count) return;
      if (Date.now() > deadline) {
        this.logger.warn('rabbitmq has not given the kept dead letters back yet; a next read may miss some', {
          queue,
          ready,
          expected: count,
        });
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Messages ready in the queue, or null when it does not exist. */
  private async depth(queue: string): Promise<number | null> {
    // checkQueue on a missing queue closes its channel: a throwaway one.
    const channel = await this.connection.createChannel();
    channel.on('error', () => {});
    try {
      return (await channel.checkQueue(queue)).messageCount;
    } catch (err) {
      if ((err as { code?: unknown }).code === NOT_FOUND) return null;
      throw err;
    } finally {
      await channel.close().catch(() => {});
    }
  }

  /** Sends the copy to the consumer's own queue; resolves once it is confirmed. */
  private async replay(
    publisher: ConfirmPublisher,
    consumer: ConsumerIR,
    msg: GetMessage,
    headers: Headers,
  ): Promise<void> {
    const props = publishProperties(headers);
    // The original publication time, not the replay's.
    if (typeof msg.properties.timestamp === 'number') props.timestamp = msg.properties.timestamp;
    const queue = consumer.rabbitmq.queue;
    const outcome = await publisher.publish(DEFAULT_EXCHANGE, queue, msg.content, props, this.publishTimeoutMs);
    if (outcome !== 'routed') {
      throw new Error(
        `queue ${queue} of ${consumer.id} does not exist on ${this.target}; nothing was replayed to it ` +
          '(run `eventform provision`)',
      );
    }
  }
}
