/**
 * Reading and replaying dead letters: the small interface each broker binding implements for
 * `eventform dlq` (list, show, replay, purge). The binding only moves messages; which ones to
 * replay or delete, and with which headers, is decided by the caller for every message it is
 * shown, so filters and the replay rules live in one place whatever the broker.
 *
 * A dead letter's content is untrusted: callers parse it with {@link readDeadLetter} and print it
 * escaped.
 */
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
   * Where it sits, for people: `partition 2 offset 17` on Kafka (stable), `#5` on RabbitMQ (its
   * place in this read only: a queue has no stable positions).
   */
  position: string;
  /** Set when the binding could not decode the message's headers within its bounds. */
  undecodable?: string | undefined;
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
  /** Queue or topic name. */
  location: string;
  /** True when the queue or topic does not exist (not provisioned): nothing was read. */
  missing: boolean;
  read: number;
  kept: number;
  deleted: number;
  replayed: number;
}

/** A pass that has read nothing yet. */
export function emptyPass(consumer: string, location: string): DeadLetterPass {
  return { consumer, location, missing: false, read: 0, kept: 0, deleted: 0, replayed: 0 };
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
  /** `rabbitmq`, `kafka`, ... */
  readonly broker: string;
  /** Whether single messages can be deleted (RabbitMQ); Kafka can only truncate a whole topic. */
  readonly deletesSingle: boolean;
  /** The consumer's DLQ queue or topic name, or null when it has dead-lettering off. */
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
