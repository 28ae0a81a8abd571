/**
 * Coalesced acknowledgements for one consumer channel.
 *
 * Each ack is still sent only after its message's disposition is durable (the caller calls
 * {@link AckBatcher.ack} at that point); what changes is how many frames carry them. Acks made in
 * one event-loop turn are flushed together on the next (`setImmediate`):
 *
 * - the completed prefix of the delivery order is acknowledged with one `basic.ack` with
 *   `multiple: true` on its last acked tag (that covers every tag up to it still unacknowledged —
 *   exactly the acked ones, since the nacked ones were sent already and left the channel);
 * - a completed message behind one still running is acknowledged on its own at the same flush,
 *   so a slow handler never holds back the prefetch window of the others.
 *
 * Nacks (give back for redelivery) are sent at once, in channel order before any later flush.
 * Fewer ack frames is less work for this process and for the broker (a quorum queue settles one
 * batch instead of one command per message). If the channel dies before a flush, the unsent acks
 * are lost like any in-flight ack: the broker redelivers and the idempotency store skips them.
 */
import type { Channel, ConsumeMessage } from 'amqplib';

const PENDING = 0;
/** Acknowledged by the subscription, frame not sent yet. */
const ACKED = 1;
/** Frame sent (ack or nack), or given up with its channel. */
const SETTLED = 2;

/** One delivery as the batcher tracks it. */
export interface AckTicket {
  readonly msg: ConsumeMessage;
  state: number;
}

export class AckBatcher {
  /** Deliveries in delivery-tag order, from `head` on; settled ones are dropped from the front. */
  private tickets: AckTicket[] = [];
  private head = 0;
  /** Acked since the last flush. */
  private unsent: AckTicket[] = [];
  private scheduled = false;

  /**
   * @param onLost called with the number of acks that could not be sent (the channel had closed).
   */
  constructor(
    private readonly channel: Channel,
    private readonly onLost: (count: number) => void,
  ) {}

  /** Start tracking a delivery; call in delivery order (the consume callback's order). */
  track(msg: ConsumeMessage): AckTicket {
    const ticket: AckTicket = { msg, state: PENDING };
    this.tickets.push(ticket);
    return ticket;
  }

  /** Acknowledge (sent with the next flush, at the latest one event-loop turn later). */
  ack(ticket: AckTicket): void {
    if (ticket.state !== PENDING) return;
    ticket.state = ACKED;
    this.unsent.push(ticket);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /**
   * Give the message back to the queue now (nack with requeue). Throws like amqplib when the
   * channel is closed (the broker requeues it anyway).
   */
  nack(ticket: AckTicket): void {
    if (ticket.state !== PENDING) return;
    ticket.state = SETTLED;
    this.channel.nack(ticket.msg, false, true);
  }

  /** Stop tracking a delivery whose ack cannot be sent any more (its channel died). */
  forget(ticket: AckTicket): void {
    if (ticket.state === PENDING) ticket.state = SETTLED;
  }

  /** Send every pending ack now (also before the channel is closed on purpose). */
  flush(): void {
    this.scheduled = false;
    if (this.unsent.length === 0) {
      this.dropSettledPrefix();
      return;
    }
    // The completed prefix: one multiple-ack on its last acked tag.
    let lastAcked: AckTicket | undefined;
    const tickets = this.tickets;
    let i = this.head;
    for (; i < tickets.length; i++) {
      const t = tickets[i]!;
      if (t.state === PENDING) break;
      if (t.state === ACKED) {
        t.state = SETTLED;
        lastAcked = t;
      }
    }
    this.compact(i);
    let lost = 0;
    if (lastAcked) {
      try {
        this.channel.ack(lastAcked.msg, true);
      } catch {
        lost++;
      }
    }
    // Completed behind a running one: acknowledge each on its own so the window keeps moving.
    for (const t of this.unsent) {
      if (t.state !== ACKED) continue;
      t.state = SETTLED;
      try {
        this.channel.ack(t.msg, false);
      } catch {
        lost++;
      }
    }
    this.unsent = [];
    if (lost > 0) this.onLost(lost);
  }

  /** Deliveries still waiting for their handler or their disposition. */
  get pending(): number {
    let n = 0;
    for (let i = this.head; i < this.tickets.length; i++) if (this.tickets[i]!.state === PENDING) n++;
    return n;
  }

  private dropSettledPrefix(): void {
    let i = this.head;
    while (i < this.tickets.length && this.tickets[i]!.state === SETTLED) i++;
    this.compact(i);
  }

  private compact(head: number): void {
    if (head >= this.tickets.length) {
      this.tickets = [];
      this.head = 0;
      return;
    }
    this.head = head;
    // Drop the consumed front now and then so the array does not grow without bound.
    if (head >= 1024 && head * 2 >= this.tickets.length) {
      this.tickets = this.tickets.slice(head);
      this.head = 0;
    }
  }
}
