/**
 * The topology as written, after structural checks: typed fields with their source spans and no
 * defaults applied yet. `read-topology.ts` produces it; the semantic checks and the IR builder
 * consume it.
 */
import type { BackoffKind, Compatibility, ContentMode, IdempotencyStoreKind } from '@eventform/runtime';
import type { Span } from './diagnostics.js';
import type { YNode } from './yaml-tree.js';

/** A value and where it was written. */
export interface Located<T> {
  value: T;
  span: Span;
}

/**
 * A broker's section (`kafka:`) at one place, as written: the fields that passed their checks
 * (`TopologySection.fields`), by name.
 */
export interface RawSection {
  span: Span;
  values: Record<string, Located<unknown>>;
}

/** The broker sections written at one place, by section key; a section not written is absent. */
export type RawSections = Record<string, RawSection>;

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
  sections: RawSections;
}

export interface RawConsumer {
  service: string;
  handler: string;
  handlerSpan: Span;
  /** The `event:` value's span, for "no events" problems. */
  eventSpan: Span;
  events: Located<string>[];
  policies: RawPolicies;
  sections: RawSections;
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
  sections: RawSections;
}
