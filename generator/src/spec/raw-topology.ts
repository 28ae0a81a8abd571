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
  attempts?: Located<number>;
  backoff?: Located<BackoffKind>;
  delayMs?: Located<number>;
  maxDelayMs?: Located<number>;
  jitter?: Located<number>;
}

export interface RawIdempotency {
  span: Span;
  enabled?: Located<boolean>;
  /** `null` written explicitly means "the event id". */
  key?: Located<string | null>;
  windowMs?: Located<number>;
}

export interface RawPolicies {
  retry?: RawRetry;
  deadLetter?: Located<boolean>;
  idempotency?: RawIdempotency;
  concurrency?: Located<number>;
}

export interface RawDefaults extends RawPolicies {
  compatibility?: Located<Compatibility>;
  contentMode?: Located<ContentMode>;
}

export interface RawSchemaDecl {
  name: string;
  nameSpan: Span;
  node: YNode;
}

export interface RawEvent {
  name: string;
  nameSpan: Span;
  description?: string;
  version?: Located<number>;
  key?: Located<string>;
  payload?: YNode;
  examples: YNode[];
  compatibility?: Located<Compatibility>;
  contentMode?: Located<ContentMode>;
  kafka: { partitions?: Located<number>; topic?: Located<string>; configs: Record<string, string> };
}

export interface RawConsumer {
  service: string;
  handler: string;
  handlerSpan: Span;
  /** The `event:` value's span, for "no events" problems. */
  eventSpan: Span;
  events: Located<string>[];
  policies: RawPolicies;
  rabbitmq: { queueType?: Located<QueueType>; queue?: Located<string>; partitions?: Located<number> };
  kafka: { groupId?: Located<string> };
}

export interface RawService {
  name: string;
  nameSpan: Span;
  description?: string;
  store?: Located<IdempotencyStoreKind>;
  produces: Located<string>[];
  consumers: RawConsumer[];
}

export interface RawTopology {
  file: string;
  rootSpan: Span;
  name?: Located<string>;
  version?: Located<number>;
  description?: string;
  defaults: RawDefaults;
  schemas: RawSchemaDecl[];
  events: RawEvent[];
  services: RawService[];
  rabbitmq: { queueType?: Located<QueueType>; exchange?: Located<string> };
  kafka: {
    partitions?: Located<number>;
    replicationFactor?: Located<number>;
    minInsyncReplicas?: Located<number>;
  };
}
