/**
 * Counts, per message, how often the delivery pipeline itself failed on it (a bug, not a handler
 * error). Such a message is released for redelivery, and where nothing counts its deliveries (a
 * classic RabbitMQ queue) it would come back forever; past `maxDeliveries` failures the runtime
 * dead-letters it instead.
 *
 * A message is known by a digest of its consumer, origin, key, headers and body, computed only
 * when a failure happens, never on the normal path. The memory is bounded: the oldest entries go
 * first, and a process restart forgets everything (the broker's own count, where there is one,
 * still applies).
 */
import { createHash } from 'node:crypto';
import type { Delivery } from './transport.js';

export class PipelineFailures {
  private readonly counts = new Map<string, number>();

  constructor(private readonly maxEntries: number) {}

  /** Record one more failure of `delivery` for `consumerId`; returns the failures so far. */
  record(consumerId: string, delivery: Delivery): number {
    const id = fingerprint(consumerId, delivery);
    const count = (this.counts.get(id) ?? 0) + 1;
    // Delete first so the entry moves to the end: the map's order is the eviction order.
    this.counts.delete(id);
    this.counts.set(id, count);
    if (this.counts.size > this.maxEntries) this.counts.delete(this.counts.keys().next().value!);
    return count;
  }
}

function fingerprint(consumerId: string, delivery: Delivery): string {
  const hash = createHash('sha256');
  const headers = Object.entries(delivery.headers).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  hash.update(JSON.stringify([consumerId, delivery.origin, delivery.key ?? null, headers]));
  hash.update(delivery.body);
  return hash.digest('base64');
}
