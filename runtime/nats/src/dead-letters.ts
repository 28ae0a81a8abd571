/**
 * The dead letters of a topology's consumers on NATS JetStream, for `eventform dlq` (see
 * {@link DeadLetterStore} in @eventform/runtime).
 *
 * - A pass reads the consumer's dead-letter stream from its first to its last sequence as they
 *   were when the pass began, one message at a time, through an ordered consumer (ephemeral: the
 *   server removes it after the pass; nothing is acknowledged, the stream keeps its messages).
 *   Headers are decoded within the transport's bounds (wire.ts).
 * - Replay publishes the copy to the consumer's retry stream, which only that consumer reads (see
 *   resources.ts), so the copy reaches the consumer it came from and no other consumer of the
 *   event, and it is handled at once (`ef-due-at` now) as attempt 1. The copy is stored (JetStream
 *   publish acknowledgement) before the dead letter is deleted. A consumer without a retry stream
 *   (`retry.attempts: 1`) has no such path: {@link DeadLetterStore.replayBlocked} says so.
 * - A single message is deleted by its sequence, which is stable: `seq 17` names it for good.
 * - A dead letter stored without its body (`ef-body-omitted`: it did not fit the server's bounds
 *   with its record) cannot be replayed: the original is named in that header.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { JetStreamApiError, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import type { ConsumerIR, DeadLetterPassOptions, DecideDeadLetter, Logger, TopologyIR } from '@eventform/runtime';
import type { DeadLetterStore, Headers, StoredDeadLetter } from '@eventform/runtime';
import {
  CE,
  carryOutDecision,
  createJsonLogger,
  emptyPass,
  requireDeadLetterLocation,
  retryPathBlocked,
  retryPathReplayHeaders,
} from '@eventform/runtime';
import { connectNats, describeNatsError, parseServers } from './client.js';
import { NATS_DEFAULTS, defaultNatsServers } from './defaults.js';
import { consumerNames } from './resources.js';
import { DL_BODY_OMITTED_HEADER, decodeNatsHeaders, fitCopy } from './wire.js';

export interface NatsDeadLettersOptions {
  /** Servers (`host:port` or `nats://…`), as an array or a comma-separated string. @default $NATS_URL, else 127.0.0.1:4222 */
  servers?: string[] | string | undefined;
  /** The topology whose consumers' dead letters are read: its name prefixes every stream (resources.ts). */
  topology: Pick<TopologyIR, 'name'>;
  /** @default 'eventform-dlq' */
  name?: string | undefined;
  /** @default JSON lines on stderr */
  logger?: Logger | undefined;
  /** Timeout of a JetStream request or publish acknowledgement, ms. @default 10_000 */
  requestTimeoutMs?: number | undefined;
  /** Headers a dead letter may carry before it is shown as undecodable. @default 256 */
  maxHeaders?: number | undefined;
}

/** JetStream's error code of a stream that does not exist. */
const STREAM_NOT_FOUND = 10059;
/** JetStream's error codes of a message that is not there (get: 10037; delete: 10057). */
const MESSAGE_NOT_FOUND = new Set([10037, 10057]);

/** Connects to NATS and gives access to the dead letters of a topology's consumers. */
export async function openNatsDeadLetters(options: NatsDeadLettersOptions): Promise<DeadLetterStore> {
  const servers = parseServers(options.servers ?? defaultNatsServers());
  const logger = options.logger ?? createJsonLogger({ fields: { component: 'nats-dlq' } });
  const timeoutMs = options.requestTimeoutMs ?? NATS_DEFAULTS.requestTimeoutMs;
  const nc = await connectNats({
    servers,
    name: options.name ?? 'eventform-dlq',
    reconnect: false,
    timeoutMs,
  }).catch((err: unknown) => {
    throw new Error(`cannot connect to NATS at ${servers.join(',')}: ${describeNatsError(err)}`, { cause: err });
  });
  try {
    const jsm = await jetstreamManager(nc, { timeout: timeoutMs });
    return new NatsDeadLetters(nc, jsm, jetstream(nc, { timeout: timeoutMs }), {
      topology: options.topology,
      logger,
      timeoutMs,
      maxHeaders: options.maxHeaders ?? NATS_DEFAULTS.maxHeaders,
    });
  } catch (err) {
    await nc.close().catch(() => undefined);
    throw new Error(`JetStream is not available at ${servers.join(',')}: ${describeNatsError(err)}`, { cause: err });
  }
}

interface Settings {
  topology: Pick<TopologyIR, 'name'>;
  logger: Logger;
  timeoutMs: number;
  maxHeaders: number;
}

class NatsDeadLetters implements DeadLetterStore {
  readonly broker = 'nats';
  readonly locationKind = 'stream';
  readonly deletesSingle = true;

  constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly js: JetStreamClient,
    private readonly settings: Settings,
  ) {}

  location(consumer: ConsumerIR): string | null {
    return this.names(consumer).deadLetterStream;
  }

  replayBlocked(consumer: ConsumerIR): string | null {
    return retryPathBlocked(consumer, 'NATS JetStream', this.names(consumer).retrySubject, 'stream');
  }

  async pass(consumer: ConsumerIR, decide: DecideDeadLetter, options: DeadLetterPassOptions = {}) {
    const result = emptyPass(this, consumer);
    const stream = result.location;
    const state = await this.state(stream);
    if (state === null) return { ...result, missing: true };
    options.onTotal?.(state.messages);
    if (state.messages === 0) return result;

    const reader = await this.js.consumers.get(stream, {
      opt_start_seq: state.firstSeq,
      deliver_policy: 'by_start_sequence',
    });
    try {
      while (result.read < state.messages) {
        const msg = await reader.next({ expires: Math.max(1_000, this.settings.timeoutMs) });
        // Nothing more (the rest was deleted meanwhile), or only what arrived after the pass began.
        if (msg === null || msg.seq > state.lastSeq) break;
        result.read++;
        const stored = this.stored(consumer, msg);
        const decision = await decide(stored);
        await carryOutDecision(
          decision,
          {
            replay: (headers) =>
              this.replay(consumer, msg, stored, headers, decision.action === 'replay' && decision.keep === true),
            remove: () => this.remove(stream, msg.seq),
          },
          result,
        );
        if (msg.info.pending === 0) break;
      }
    } finally {
      await reader.delete().catch(() => undefined);
    }
    return result;
  }

  async truncate(consumer: ConsumerIR): Promise<number> {
    const stream = requireDeadLetterLocation(this, consumer);
    const state = await this.state(stream);
    if (state === null || state.messages === 0) return 0;
    // Up to the last sequence seen now: what arrives meanwhile stays.
    const response = await this.jsm.streams.purge(stream, { seq: state.lastSeq + 1 });
    return response.purged;
  }

  async close(): Promise<void> {
    await this.nc.close().catch(() => undefined);
  }

  private names(consumer: ConsumerIR): ReturnType<typeof consumerNames> {
    return consumerNames(this.settings.topology, consumer);
  }

  /** How many messages the stream holds and its sequence range, or null when it does not exist. */
  private async state(stream: string): Promise<{ messages: number; firstSeq: number; lastSeq: number } | null> {
    try {
      const info = await this.jsm.streams.info(stream);
      return { messages: info.state.messages, firstSeq: info.state.first_seq, lastSeq: info.state.last_seq };
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === STREAM_NOT_FOUND) return null;
      throw err;
    }
  }

  private stored(consumer: ConsumerIR, msg: JsMsg): StoredDeadLetter {
    const { headers, undecodable } = decodeNatsHeaders(msg, this.settings.maxHeaders);
    const data = msg.data;
    return {
      consumer: consumer.id,
      body: Buffer.from(data.buffer, data.byteOffset, data.byteLength),
      headers,
      key: headers[CE.partitionkey],
      position: `seq ${msg.seq}`,
      undecodable,
      notReplayable: notReplayable(headers),
    };
  }

  /** Publishes the copy to the consumer's retry stream; resolves once JetStream stored it. */
  private async replay(
    consumer: ConsumerIR,
    msg: JsMsg,
    stored: StoredDeadLetter,
    headers: Headers,
    keep: boolean,
  ): Promise<void> {
    const blocked = this.replayBlocked(consumer);
    if (blocked !== null) throw new Error(blocked);
    // The stored message's own headers decide, whatever headers the caller asks the copy to carry.
    if (stored.notReplayable !== undefined) {
      throw new Error(`dead letter seq ${msg.seq} of ${consumer.id} ${stored.notReplayable}`);
    }
    const msgID = keep ? undefined : `replay:${msg.info.stream}:${msg.seq}`;
    const subject = this.names(consumer).retrySubject!;
    const key = headers[CE.partitionkey];
    const copy = fitCopy('retry', msg.data, retryPathReplayHeaders(consumer, headers), key, {
      maxPayload: this.nc.info?.max_payload ?? NATS_DEFAULTS.maxPayload,
      msgID,
      original: `stream ${msg.info.stream}, sequence ${msg.seq}`,
    });
    if (copy.shed.length > 0) {
      this.settings.logger.warn("nats: a replay copy would exceed the server's bounds; parts of it were left out", {
        consumer: consumer.id,
        seq: msg.seq,
        shed: copy.shed,
      });
    }
    // A replay that removes the dead letter names it as the copy's message id: a second copy of it
    // within the stream's duplicate window (two runs at once, or a run repeated after a timeout
    // whose copy was in fact stored) is dropped by the server. With --keep a later replay is meant,
    // so the copy has no id.
    await this.js.publish(subject, copy.body, {
      headers: copy.headers,
      timeout: this.settings.timeoutMs,
      ...(msgID === undefined ? {} : { msgID }),
    });
  }

  private async remove(stream: string, seq: number): Promise<void> {
    // `false`: mark it deleted rather than overwrite its bytes. Already gone (another run deleted
    // it first) counts as done.
    await this.jsm.streams.deleteMessage(stream, seq, false).catch((err: unknown) => {
      if (!(err instanceof JetStreamApiError && MESSAGE_NOT_FOUND.has(err.code))) throw err;
    });
  }
}

/** Why a dead letter with these headers cannot be replayed (it was stored without its body), or undefined. */
function notReplayable(headers: Headers): string | undefined {
  const omitted = headers[DL_BODY_OMITTED_HEADER];
  return omitted === undefined
    ? undefined
    : `was stored without its body (${omitted}); publish the original again instead`;
}
