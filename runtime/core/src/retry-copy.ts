/**
 * The headers of a retry copy on a broker where the transport itself waits for the due time (the
 * Kafka retry topic, the NATS retry stream): the runtime's headers, when the copy is due, which
 * consumer it is for and where the original was published.
 */
import { EF } from './headers.js';
import type { Delivery, Disposition, Headers } from './transport.js';

/** What a consumer's retry destination gets for `disposition`, a retry of `delivery`. */
export function retryCopyHeaders(
  disposition: Extract<Disposition, { kind: 'retry' }>,
  consumerId: string,
  delivery: Pick<Delivery, 'origin'>,
): Headers {
  return {
    ...disposition.headers,
    [EF.dueAt]: String(Date.now() + Math.max(0, disposition.delayMs)),
    [EF.retryFor]: consumerId,
    // A copy of a copy keeps the first origin.
    [EF.origin]: disposition.headers[EF.origin] ?? delivery.origin,
  };
}
