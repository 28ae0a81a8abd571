/**
 * Correlation and causation without handler code: while a handler runs, an AsyncLocalStorage
 * scope holds the event being handled, and `publish` reads it to continue the flow.
 *
 * The storage is module-wide (not per runtime) so an event published through a second runtime
 * in the same process — another service's producer — still joins the flow.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { EventEnvelope } from './api.js';

export interface CorrelationScope {
  /** Correlation id every event published in this scope inherits. */
  correlationId: string;
  /** Causation id of events published in this scope: the handled event's id, or `null`. */
  causationId: string | null;
  traceparent?: string | undefined;
  /** The event being handled, when the scope belongs to a handler invocation. */
  event?: EventEnvelope | undefined;
  /** The consumer (`service.handler`) handling it. */
  consumer?: string | undefined;
}

const storage = new AsyncLocalStorage<CorrelationScope>();

/** The scope of the current async context, if any. */
export function currentScope(): CorrelationScope | undefined {
  return storage.getStore();
}

/** The event whose handler is running in the current async context, if any. */
export function currentEvent(): EventEnvelope | undefined {
  return storage.getStore()?.event;
}

/** Run `fn` in the scope of handling `event` by `consumer`. */
export function runInHandlerScope<T>(event: EventEnvelope, consumer: string, fn: () => T): T {
  return storage.run(handlerScope(event, consumer), fn);
}

export function handlerScope(event: EventEnvelope, consumer: string): CorrelationScope {
  const scope: CorrelationScope = { correlationId: event.correlationId, causationId: event.id, event, consumer };
  if (event.traceparent !== undefined) scope.traceparent = event.traceparent;
  return scope;
}

/**
 * Run `fn` with a correlation id that every event it publishes inherits, e.g. the id of the HTTP
 * request that started a flow.
 *
 * @example
 * await withCorrelation({ correlationId: req.headers['x-correlation-id'] }, () => orders.publishOrderCreated(order));
 */
export function withCorrelation<T>(
  scope: { correlationId: string; causationId?: string | null; traceparent?: string },
  fn: () => T,
): T {
  const full: CorrelationScope = { correlationId: scope.correlationId, causationId: scope.causationId ?? null };
  if (scope.traceparent !== undefined) full.traceparent = scope.traceparent;
  return storage.run(full, fn);
}

/** Run `fn` in the given scope (or none). */
export function runInScope<T>(scope: CorrelationScope | undefined, fn: () => T): T {
  return scope ? storage.run(scope, fn) : storage.exit(fn);
}
