/**
 * Typed errors of the runtime. Each has a stable `code` so callers (and the CLI) can tell them apart
 * without parsing messages.
 */

/** One validation problem, as ajv reports it. */
export interface ValidationIssue {
  /** JSON Pointer to the offending value; `''` is the payload itself. */
  instancePath: string;
  message: string;
  keyword?: string | undefined;
  params?: unknown | undefined;
}

export abstract class EventformError extends Error {
  abstract readonly code: string;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** `publish` got a payload its event schema rejects; nothing was sent. */
export class PublishValidationError extends EventformError {
  readonly code = 'EF_PUBLISH_INVALID';
  constructor(
    readonly event: string,
    readonly errors: ValidationIssue[],
  ) {
    super(`Invalid payload for ${event}: ${formatIssues(errors)}`);
  }
}

/** `publish` named an event the service does not produce, or an unknown service/event. */
export class UndeclaredEventError extends EventformError {
  readonly code = 'EF_UNDECLARED_EVENT';
  constructor(
    readonly service: string,
    readonly event: string,
    readonly reason: 'unknown-service' | 'unknown-event' | 'not-produced',
  ) {
    super(
      reason === 'unknown-service'
        ? `Unknown service "${service}" (publishing ${event})`
        : reason === 'unknown-event'
          ? `Unknown event "${event}" (published by ${service})`
          : `Service "${service}" does not declare "${event}" in produces`,
    );
  }
}

/** A consumer id that the topology does not declare, or a handler registered twice / too late. */
export class ConsumerRegistrationError extends EventformError {
  readonly code = 'EF_CONSUMER_REGISTRATION';
}

/** Publish options that would overwrite envelope attributes. */
export class PublishOptionsError extends EventformError {
  readonly code = 'EF_PUBLISH_OPTIONS';
}

/** A lifecycle call in the wrong state (publishing after `stop()`, ...). */
export class RuntimeStateError extends EventformError {
  readonly code = 'EF_RUNTIME_STATE';
}

/**
 * Throw it from a handler when retrying cannot help (a business rule rejects the event): the
 * message goes straight to the dead-letter queue with reason `non-retryable`.
 */
export class NonRetryableError extends EventformError {
  readonly code = 'EF_NON_RETRYABLE';
}

export type EnvelopeProblem = 'missing' | 'invalid';

/** A delivery whose CloudEvents attributes are missing or malformed. */
export class EnvelopeError extends EventformError {
  readonly code = 'EF_INVALID_ENVELOPE';
  constructor(
    readonly attribute: string,
    readonly problem: EnvelopeProblem,
    detail?: string,
  ) {
    super(
      `${problem === 'missing' ? 'Missing' : 'Invalid'} CloudEvents attribute "${attribute}"${detail ? `: ${detail}` : ''}`,
    );
  }
}

/** A delivery whose body is not JSON, or JSON nested deeper than the consumer's `maxJsonDepth`. */
export class InvalidJsonError extends EventformError {
  readonly code = 'EF_INVALID_JSON';
}

/** A delivery whose body is larger than the consumer's `maxBodyBytes`. */
export class BodyTooLargeError extends EventformError {
  readonly code = 'EF_BODY_TOO_LARGE';
}

/** A delivery whose body is not valid UTF-8 (JSON text must be). */
export class InvalidEncodingError extends EventformError {
  readonly code = 'EF_INVALID_ENCODING';
}

/** A message given to `readDeadLetter` that carries no dead-letter record. */
export class NotADeadLetterError extends EventformError {
  readonly code = 'EF_NOT_A_DEAD_LETTER';
}

/** `a/b must be >= 0; /c must be string` — short enough for a log line or a header. */
export function formatIssues(errors: readonly ValidationIssue[]): string {
  if (errors.length === 0) return 'schema validation failed';
  return errors.map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ');
}

/**
 * Provisioning failed part-way (e.g. the broker refused a declaration after others succeeded):
 * `completed` names what was created before the failure, so nobody has to guess what is left over.
 */
export class ProvisioningIncompleteError extends EventformError {
  readonly code = 'EF_PROVISIONING_INCOMPLETE';
  constructor(
    message: string,
    readonly completed: readonly string[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
