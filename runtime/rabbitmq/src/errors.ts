/** Errors the RabbitMQ binding raises; each names what went wrong and what to do about it. */
import { EventformError } from '@eventform/runtime';

/** The broker could not be reached (or was lost and not regained) within the allowed time. */
export class BrokerUnavailableError extends EventformError {
  readonly code = 'EF_BROKER_UNAVAILABLE';
}

/**
 * The broker refused a message (basic.nack), e.g. a full queue with `x-overflow: reject-publish`.
 * Not every queue need have refused it: queues bound to the same route that accepted it keep it,
 * so a publish retried after this error can duplicate it there.
 */
export class PublishNackedError extends EventformError {
  readonly code = 'EF_PUBLISH_NACKED';
}

/** A publish was not confirmed by the broker within `publishTimeoutMs`; it may or may not be stored. */
export class PublishTimeoutError extends EventformError {
  readonly code = 'EF_PUBLISH_TIMEOUT';
}

/**
 * A mandatory message reached no queue although the topology says it must (an event with
 * declared consumers, or a retry/dead-letter copy): the broker resources are missing.
 */
export class UnroutableMessageError extends EventformError {
  readonly code = 'EF_UNROUTABLE';
}

/**
 * A resource exists on the broker with other properties than the topology asks for
 * (AMQP 406 PRECONDITION_FAILED). Run `eventform provision --dry-run` to see the differences.
 */
export class ResourceConflictError extends EventformError {
  readonly code = 'EF_RESOURCE_CONFLICT';
}

/** The AMQP reply code of a channel/connection error, when amqplib attached one. */
export function amqpErrorCode(err: unknown): number | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === 'number') return code;
  }
  return undefined;
}

/** 404 NOT_FOUND: a passive declare found nothing. */
export const NOT_FOUND = 404;
/** 406 PRECONDITION_FAILED: a declare with other arguments than the existing resource. */
export const PRECONDITION_FAILED = 406;

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
