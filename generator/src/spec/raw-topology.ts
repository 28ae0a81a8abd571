/**
 * The topology as written, after structural checks: typed fields with their source spans and no
 * defaults applied yet. `read-topology.ts` produces it; the semantic checks and the IR builder
 * consume it.
 */
import type { BackoffKind, Compatibility, ContentMode, IdempotencyStoreKind, QueueType } from '@eventform/runtime';
import type { Span } from './diagnostics.js';
import type { YNode } from './yaml-tree.js';

/** A value and where it was written. */
export interface Located<T> {
  value: T;
  span: Span;
}

export interface RawRetry {
  span: Span;
  /** `retry: false`: one attempt, no retry. */
  disabled: boolean;
  attempts?: Located<number> | undefined;
  backoff?: Located<BackoffKind> | undefined;
  delayMs?: Located<number> | undefined;
  maxDelayMs?: Located<number> | undefined;
  jitter?: Located<number> | undefined;
}

export interface RawIdempotency {
  span: Span;
  enabled?: Located<boolean> | undefined;
  /** `null` written explicitly means "the event id". */
  key?: Located<string | null> | undefined;
  windowMs?: Located<number> | undefined;
}

export interface RawPolicies {
  retry?: RawRetry | undefined;
  deadLetter?: Located<boolean> | undefined;
  idempotency?: RawIdempotency | undefined;
  concurrency?: Located<number> | undefined;
}

export interface RawDefaults extends RawPolicies {
  compatibility?: Located<Compatibility> | undefined;
  contentMode?: Located<ContentMode> | undefined;
}

export interface RawSchemaDecl {
  name: string;
  nameSpan: Span;
  node: YNode;
}

export interface RawEvent {
  name: string;
  nameSpan: Span;
  description?: string | undefined;
  version?: Located<number> | undefined;
  key?: Located<string> | undefined;
  payload?: YNode | undefined;
  examples: YNode[];
  compatibility?: Located<Compatibility> | undefined;
  contentMode?: Located<ContentMode> | undefined;
  kafka: {
    partitions?: Located<number> | undefined;
    topic?: Located<string> | undefined;
    configs: Record<string, string>;
  };
}

export interface RawConsumer {
  service: string;
  handler: string;
  handlerSpan: Span;
  /** The `event:` value's span, for "no events" problems. */
  eventSpan: Span;
  events: Located<string>[];
  policies: RawPolicies;
  rabbitmq: {
    queueType?: Located<QueueType> | undefined;
    queue?: Located<string> | undefined;
    partitions?: Located<number> | undefined;
  };
  kafka: { groupId?: Located<string> | undefined };
}

export interface RawService {
  name: string;
  nameSpan: Span;
  description?: string | undefined;
  store?: Located<IdempotencyStoreKind> | undefined;
  produces: Located<string>[];
  consumers: RawConsumer[];
}

export interface RawTopology {
  file: string;
  rootSpan: Span;
  name?: Located<string> | undefined;
  version?: Located<number> | undefined;
  description?: string | undefined;
  defaults: RawDefaults;
  schemas: RawSchemaDecl[];
  events: RawEvent[];
  services: RawService[];
  rabbitmq: { queueType?: Located<QueueType> | undefined; exchange?: Located<string> | undefined };
  kafka: {
    partitions?: Located<number> | undefined;
    replicationFactor?: Located<number> | undefined;
    minInsyncReplicas?: Located<number> | undefined;
  };
}
