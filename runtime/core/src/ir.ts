/**
 * The topology IR: a plain, fully defaulted, sorted data model of a valid topology.
 *
 * The generator builds it from `topology.yaml` (generator/spec) and emits it as data into
 * `generated/topology.ts`; the runtime and the transports read it. It holds no functions and no
 * class instances, so it survives `JSON.stringify` unchanged. Every collection is sorted by name so
 * the same topology always yields the same bytes.
 */

/** A JSON Schema document (draft 2020-12 vocabulary as accepted by ajv). */
export type JsonSchema = { [keyword: string]: unknown } | boolean;

/** Where a node came from in the source: 1-based line and column. */
export interface SourceLocation {
  file: string;
  line: number;
  col: number;
}

/** How a new schema version must relate to the previous one (checked by `eventform check`). */
export type Compatibility = 'backward' | 'forward' | 'full' | 'none';

export type BackoffKind = 'fixed' | 'exponential';

/**
 * How an event travels as a CloudEvent (the CloudEvents protocol bindings' content modes):
 * `binary` — the payload is the message body and the attributes are headers (`content-type` for
 * `datacontenttype`); `structured` — the whole event as JSON (`application/cloudevents+json`) in
 * the body, with one header. Receivers accept both, whatever the event declares.
 */
export type ContentMode = 'binary' | 'structured';

export interface RetryPolicyIR {
  /** Total attempts, the first delivery included. `1` means no retry. */
  attempts: number;
  backoff: BackoffKind;
  /** Delay before the second attempt, in milliseconds. */
  delayMs: number;
  /** Upper bound for any delay, in milliseconds. */
  maxDelayMs: number;
  /** Random spread applied to each delay, as a fraction of it (0 = none, 0.2 = ±20%). */
  jitter: number;
  /**
   * The delay before attempt n+2, for n = 0 .. attempts-2, already capped by maxDelayMs and
   * without jitter. Its length is `attempts - 1`. Transports with per-queue delays use it to
   * size their retry tiers.
   */
  delaysMs: number[];
}

export interface IdempotencyIR {
  enabled: boolean;
  /** The payload field whose value is the dedupe key; `null` means the event id. */
  key: string | null;
  /** How long a processed key is remembered, in milliseconds. */
  windowMs: number;
}

export interface SchemaIR {
  /** PascalCase name under `schemas:`, or one derived from an external file. */
  name: string;
  /** The schema, with every `$ref` to a shared schema rewritten to `#/$defs/<Name>`. */
  schema: JsonSchema;
  /** `inline` for `schemas:` entries, otherwise the external file path relative to the topology. */
  origin: 'inline' | string;
  loc: SourceLocation;
}

/**
 * Broker parts of the IR, by section key (`rabbitmq`, `kafka`, ...), built by each broker package's
 * topology section (topology-section.ts): open, so the package gives its part a type by declaration
 * merging (`declare module '@eventform/runtime' { interface EventBrokerParts { kafka: KafkaEventIR }
 * }`, in its ir.ts) while an IR with a part whose package a program does not load still
 * type-checks. A part is absent when its package's `build` leaves it out. In the JSON, each part
 * sits after the broker-neutral fields (before `loc`), in `BROKER_PACKAGES` order.
 */
export interface TopologyBrokerParts {
  [section: string]: unknown;
}
/** An event's broker parts (see {@link TopologyBrokerParts}). */
export interface EventBrokerParts {
  [section: string]: unknown;
}
/** A consumer's broker parts (see {@link TopologyBrokerParts}). */
export interface ConsumerBrokerParts {
  [section: string]: unknown;
}

export interface EventIR extends EventBrokerParts {
  name: string;
  description: string | null;
  version: number;
  /** Payload field used as ordering/partition key; `null` when the event declares none. */
  key: string | null;
  /**
   * The payload schema with shared-schema `$ref`s rewritten to `#/$defs/<Name>`. It has no
   * `$defs` of its own: `refs` lists the shared schemas it needs, transitively, so a caller can
   * assemble a self-contained schema from `TopologyIR.schemas`.
   */
  payload: JsonSchema;
  refs: string[];
  examples: unknown[];
  compatibility: Compatibility;
  /** How producers send it (receivers accept either mode). */
  contentMode: ContentMode;
  /** Services that declare this event in `produces`, sorted. */
  producers: string[];
  /** Consumer ids (`service.handler`) that consume it, sorted. */
  consumers: string[];
  loc: SourceLocation;
}

export interface ConsumerIR extends ConsumerBrokerParts {
  /** `<service>.<handler>`; unique within the topology. */
  id: string;
  service: string;
  handler: string;
  /** Consumed event names, sorted; never empty. */
  events: string[];
  retry: RetryPolicyIR;
  deadLetter: boolean;
  idempotency: IdempotencyIR;
  /** Maximum handler invocations in flight for this consumer in one process. */
  concurrency: number;
  loc: SourceLocation;
}

/** Where a service's runtime remembers processed events: `memory` (one process, forgotten on restart) or `postgres`. */
export type IdempotencyStoreKind = 'memory' | 'postgres';

export interface ServiceIR {
  /** kebab-case. */
  name: string;
  description: string | null;
  /** The idempotency store the service's entry point wires (scaffold). */
  store: IdempotencyStoreKind;
  /** Produced event names, sorted. */
  produces: string[];
  /** Consumer ids of this service, sorted by handler name. */
  consumers: string[];
  loc: SourceLocation;
}

export interface TopologyIR extends TopologyBrokerParts {
  irVersion: 1;
  /** kebab-case topology name; prefixes every broker resource. */
  name: string;
  version: number;
  /** Path of the topology file as given to the loader. */
  sourceFile: string;
  /** sha256 (hex) of the topology file and every external schema file it references. */
  sourceHash: string;
  schemas: SchemaIR[];
  events: EventIR[];
  services: ServiceIR[];
  consumers: ConsumerIR[];
}

/**
 * A `topology.yaml` document as plain data, in the format's own field names and spellings
 * (durations as `'100ms'`): JSON is YAML, so the generator's loader reads it as it reads a file.
 * The generator's `topologyFromDocument` turns one into a {@link TopologyIR}; tests and the
 * conformance suite describe their topologies this way.
 */
export interface TopologyDocument {
  /** The topology's kebab-case name. */
  topology: string;
  [field: string]: unknown;
}
