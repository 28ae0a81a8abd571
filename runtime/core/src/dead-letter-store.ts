/**
 * Reading and replaying dead letters: the small interface each broker binding implements for
 * `eventform dlq` (list, show, replay, purge). The binding only moves messages; which ones to
 * replay or delete, and with which headers, is decided by the caller for every message it is
 * shown, so filters and the replay rules live in one place whatever the broker.
 *
 * A dead letter's content is untrusted: callers parse it with {@link readDeadLetter} and print it
 * escaped.
 */
import { EF } from './headers.js';
import type { ConsumerIR } from './ir.js';
import type { Headers } from './transport.js';

/** One message read from a consumer's dead-letter queue or topic. */
export interface StoredDeadLetter {
  /** The consumer whose DLQ holds it. */
  consumer: string;
  body: Buffer;
  /** Logical headers (the `ef-dl-*` record among them), as the binding decodes a delivery's. */
  headers: Headers;
  /** The message key (Kafka record key; the `partitionkey` attribute on RabbitMQ). */
  key?: string | undefined;
  /**
   * Where it sits, for people: `partition 2 offset 17` on Kafka and `seq 17` on NATS JetStream
   * (stable), `#5` on RabbitMQ (its place in this read only: a queue has no stable positions).
   */
  position: string;
  /** Set when the binding could not decode the message's headers within its bounds. */
  undecodable?: string | undefined;
  /**
   * Set when the binding cannot replay this message, and why (e.g. on NATS a dead letter stored
   * without its body); a `replay` decision for it fails, so callers skip it and say so.
   */
  notReplayable?: string | undefined;
}

/**
 * What to do with a dead letter once it was shown to the caller:
 * - `keep`: leave it where it is;
 * - `delete`: remove it (only where {@link DeadLetterStore.deletesSingle});
 * - `replay`: send a copy with exactly `headers` to the consumer it came from, and to no other
 *   consumer of the event; then remove it from the DLQ unless `keep` is set (on Kafka it stays:
 *   a topic is a log). The copy is durable (confirmed) before anything is removed.
 */
export type DeadLetterDecision =
  { action: 'keep' } | { action: 'delete' } | { action: 'replay'; headers: Headers; keep?: boolean | undefined };

/** What one pass over a consumer's DLQ did. */
export interface DeadLetterPass {
  consumer: string;
  /** Queue, topic or stream name. */
  location: string;
  /** True when the queue, topic or stream does not exist (not provisioned): nothing was read. */
  missing: boolean;
  read: number;
  kept: number;
  deleted: number;
  replayed: number;
}

/**
 * A pass over the consumer's DLQ that has read nothing yet; throws for a consumer with
 * dead-lettering off.
 */
export function emptyPass(store: DeadLetterStore, consumer: ConsumerIR): DeadLetterPass {
  const location = requireDeadLetterLocation(store, consumer);
  return { consumer: consumer.id, location, missing: false, read: 0, kept: 0, deleted: 0, replayed: 0 };
}

/** What {@link DeadLetterStore.pass} asks about each message it reads. */
export type DecideDeadLetter = (message: StoredDeadLetter) => DeadLetterDecision | Promise<DeadLetterDecision>;

export interface DeadLetterPassOptions {
  /**
   * Called once before the first message with how many the pass will read at most (what the
   * DLQ held when the pass began).
   */
  onTotal?: ((total: number) => void) | undefined;
}

/** A binding's access to the dead letters of a topology's consumers. */
export interface DeadLetterStore {
  /** `rabbitmq`, `kafka`, `nats`, ... */
  readonly broker: string;
  /** What a DLQ is on this broker, for people: `queue`, `topic`, `stream`. */
  readonly locationKind: string;
  /**
   * Whether single messages can be deleted (RabbitMQ, NATS JetStream); Kafka can only truncate a
   * whole topic, and a replayed record stays in it.
   */
  readonly deletesSingle: boolean;
  /** The consumer's DLQ queue, topic or stream name, or null when it has dead-lettering off. */
  location(consumer: ConsumerIR): string | null;
  /**
   * Why a dead letter of this consumer cannot be replayed to it alone on this broker, or null
   * when it can.
   */
  replayBlocked(consumer: ConsumerIR): string | null;
  /**
   * Go once over the messages the consumer's DLQ holds now (never the ones that arrive during the
   * pass) and carry out `decide`'s decision for each before the next is shown. Messages the pass
   * did not get to (an error, `decide` threw) stay in the DLQ.
   */
  pass(consumer: ConsumerIR, decide: DecideDeadLetter, options?: DeadLetterPassOptions): Promise<DeadLetterPass>;
  /**
   * Remove every message the consumer's DLQ holds now (messages arriving meanwhile stay);
   * resolves to how many were removed. Where {@link deletesSingle}, the same as a pass deleting all.
   */
  truncate(consumer: ConsumerIR): Promise<number>;
  close(): Promise<void>;
}

/** The consumer's DLQ location; throws for a consumer with dead-lettering off. */
export function requireDeadLetterLocation(store: DeadLetterStore, consumer: ConsumerIR): string {
  const location = store.location(consumer);
  if (location === null) {
    throw new Error(`consumer ${consumer.id} has dead-lettering off: it has no dead-letter ${store.locationKind}`);
  }
  return location;
}

/** How a store moves one message, for {@link carryOutDecision}. */
export interface DeadLetterMoves {
  /** Send the replay copy with these headers; resolves once the copy is durable. */
  replay(headers: Headers): Promise<void>;
  /**
   * Remove the message from the DLQ; absent where single messages cannot be removed (a log):
   * there a replayed message stays and a `delete` decision throws.
   */
  remove?: (() => void | Promise<void>) | undefined;
}

/**
 * Carries out `decision` for one message and counts it in `pass`, the same way on every broker:
 * a replayed message is removed only after its copy is durable, and counts as kept when it stays.
 */
export async function carryOutDecision(
  decision: DeadLetterDecision,
  moves: DeadLetterMoves,
  pass: DeadLetterPass,
): Promise<void> {
  switch (decision.action) {
    case 'keep':
      pass.kept++;
      return;
    case 'delete':
      if (!moves.remove) throw new Error('single dead letters cannot be deleted here; truncate the whole DLQ');
      await moves.remove();
      pass.deleted++;
      return;
    case 'replay':
      await moves.replay(decision.headers);
      pass.replayed++;
      if (decision.keep || !moves.remove) pass.kept++;
      else await moves.remove();
      return;
  }
}

/**
 * On brokers where the only path to one consumer alone is its retry queue, topic or stream (Kafka,
 * NATS JetStream): why a consumer without one (`retry.attempts: 1`) cannot be replayed to, or null.
 */
export function retryPathBlocked(
  consumer: ConsumerIR,
  broker: string,
  retryPath: string | null,
  kind: string,
): string | null {
  if (retryPath !== null) return null;
  return (
    `on ${broker} a copy reaches ${consumer.id} alone only through its retry ${kind}, and it has none ` +
    '(retry.attempts: 1); give it retries, or publish the event again for every consumer'
  );
}

/**
 * The headers of a replay copy sent through a consumer's retry path: the retry path's own
 * bookkeeping (transport.ts of Kafka and NATS) says it is due now and meant for this consumer, so
 * it is handled at once, as attempt 1.
 */
export function retryPathReplayHeaders(consumer: ConsumerIR, headers: Headers, now: number = Date.now()): Headers {
  return { ...headers, [EF.retryFor]: consumer.id, [EF.dueAt]: String(now) };
}
