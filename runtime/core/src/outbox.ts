/**
 * The transactional outbox, as the runtime sees it: a place where an event published inside a
 * database transaction is written *in* that transaction, and a relay that publishes it once the
 * transaction committed. A commit that succeeds always publishes; a rollback never does — no dual
 * write between the database and the broker.
 *
 * The runtime knows only this interface; a store package implements it (`@eventform/postgres`).
 * What goes into the outbox is the {@link OutgoingMessage} the runtime already encoded (body,
 * logical headers, key): the relay hands the transport exactly what a direct publish would have,
 * whatever the wire format.
 *
 * While an {@link OutboxTransaction} is current in an async context (a handler's transaction, or one
 * opened by the store package's `withOutbox`), every `publish` made in that context — `ctx.publish`,
 * a generated producer, `runtime.publish` — is written to it instead of being sent.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Logger } from './api.js';
import { EventformError } from './errors.js';
import type { EventIR, TopologyIR } from './ir.js';
import type { OutgoingMessage, Transport } from './transport.js';

/** What a relay needs to publish: the topology (to find each row's event) and a started transport. */
export interface OutboxRelayTarget {
  topology: TopologyIR;
  /** Started by whoever owns it; the relay publishes through it and never closes it. */
  transport: Transport;
  logger: Logger;
}

/** One event as the outbox stores it. */
export interface OutboxRecord {
  /** The topology's name: relays publish only rows of their own topology. */
  topology: string;
  event: EventIR;
  /** Exactly what `Transport.publish` would have been given. */
  message: OutgoingMessage;
}

/** A relay's view of the outbox, refreshed in the background (see each implementation for how often). */
export interface OutboxHealth {
  /** `running`: publishing or waiting for work; `failing`: its last batch failed, retrying; `stopped`. */
  relay: 'running' | 'failing' | 'stopped';
  /** Committed rows not yet published, in the whole outbox table (every relay's). */
  pending: number;
  /** Age of the oldest unpublished row in milliseconds; `null` when none is pending. */
  oldestAgeMs: number | null;
  /** Commit-to-publish time of the last batch this relay published, in milliseconds; `null` before the first. */
  lagMs: number | null;
  /** Rows this relay published since it started. */
  published: number;
  /** Batches that failed to publish since it started (each retried). */
  failures: number;
  /** The last publish or database error, if the relay is failing. */
  lastError?: string | undefined;
  /** When `pending` and `oldestAgeMs` were measured (ISO 8601). */
  measuredAt: string | null;
}

/** An in-process relay as the runtime drives it. */
export interface OutboxRelayHandle {
  /**
   * Resolves once every row committed before the call that this relay may publish is published
   * (rows of a key held by another relay are left to it). Waits through failures: bound it yourself.
   */
  flush(): Promise<void>;
  health(): OutboxHealth;
  /** Finish the batch in flight, then stop; what is left stays in the table for the next relay. */
  stop(): Promise<void>;
}

/**
 * Implemented by a store package (`@eventform/postgres`). Contract:
 * - {@link write} stores the record through `tx`, the store's own transaction, so it commits or
 *   rolls back with it. It must not touch the broker.
 * - After a transaction that wrote rows committed, {@link committed} is called (by the runtime for
 *   handler transactions, by the store package for its own): a hint to publish soon, never
 *   required for correctness — rows committed without it are found by the relay's fallback poll.
 * - A relay publishes each committed row at least once, with the transport's confirms, rows of one
 *   key in the order they were written, and never a row whose transaction rolled back.
 */
export interface TransactionalOutbox {
  /** `postgres`, ... (for logs). */
  readonly name: string;
  write(tx: unknown, record: OutboxRecord): Promise<void>;
  committed(): void;
  /** Start a relay in this process for `target`'s topology; the runtime does on `start()`. */
  startRelay(target: OutboxRelayTarget): Promise<OutboxRelayHandle>;
  /** {@link OutboxRelayHandle.flush} of every relay running in this process (test harness, shutdown). */
  flush(): Promise<void>;
}

/** A publish was made through an outbox transaction that had already ended. */
export class OutboxTransactionClosedError extends EventformError {
  readonly code = 'EF_OUTBOX_CLOSED';
}

/**
 * `ctx.tx` was read in a handler that has no transaction: its runtime's idempotency store has none
 * (the memory store outside the test harness).
 */
export class TransactionUnavailableError extends EventformError {
  readonly code = 'EF_NO_TRANSACTION';
}

/**
 * One transaction's writes to an outbox. Writes are sent through `tx` as they are made (a database
 * client runs its queries in order, so one made before the commit is part of it); {@link close}
 * waits for those still in flight and reports the first failure, so the owner rolls back instead of
 * committing without an event it was asked to publish.
 */
export class OutboxTransaction {
  /** Messages written so far. */
  written = 0;
  private closed = false;
  private readonly inFlight = new Set<Promise<void>>();
  private failure: unknown;

  constructor(
    readonly outbox: TransactionalOutbox,
    readonly tx: unknown,
  ) {}

  write(record: OutboxRecord): Promise<void> {
    if (this.closed) {
      return Promise.reject(
        new OutboxTransactionClosedError(
          `Cannot publish ${record.event.name}: the transaction it belongs to has ended. Await every publish before the handler (or the withOutbox callback) returns.`,
        ),
      );
    }
    const write = this.outbox.write(this.tx, record).then(
      () => {
        this.written++;
        this.inFlight.delete(write);
      },
      (error: unknown) => {
        this.failure ??= error;
        this.inFlight.delete(write);
        throw error;
      },
    );
    this.inFlight.add(write);
    return write;
  }

  /** Refuse further writes, wait for those in flight; rejects with the first write that failed. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    if (this.failure !== undefined) throw this.failure;
  }
}

const storage = new AsyncLocalStorage<OutboxTransaction | null>();

/** The outbox transaction publishes in the current async context go to, if any. */
export function currentOutboxTransaction(): OutboxTransaction | null {
  return storage.getStore() ?? null;
}

/** Run `fn` with publishes going to `transaction` (or, with `null`, straight to the transport). */
export function runInOutboxTransaction<T>(transaction: OutboxTransaction | null, fn: () => T): T {
  return storage.run(transaction, fn);
}
