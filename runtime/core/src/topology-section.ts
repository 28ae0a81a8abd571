/**
 * A broker's section of `topology.yaml` (`rabbitmq:`, `kafka:`, ... at the root, under an
 * event, under a handler), as its package describes it to the generator: which fields each level
 * takes and how they are checked, the defaults, how the written values become that broker's part of
 * the IR, the problems only that broker knows, the names its resources take, and the changes
 * between two topologies that break or strand something on it.
 *
 * A broker package exports one value named `topologySection` from its `/resources` entry point
 * (pure, no client loaded), next to `provisioningDocument`; the generator finds it through
 * `BROKER_PACKAGES`. Everything here is plain data or a pure function. The generator keeps what is
 * common to every broker: reading the YAML with its positions, the diagnostics (codes, spans, code
 * frames), and the IR's broker-neutral part. So a section never sees a span: its problems name the
 * field they concern, and the generator points at it.
 */
import type { ConsumerIR, EventIR, RetryPolicyIR, TopologyIR } from './ir.js';

/** Where a section is written: the topology's root, an event, or a handler. */
export type SectionLevel = 'root' | 'event' | 'consumer';

/**
 * How one field is read and checked. A value that fails is reported by the generator (EF2002 for a
 * wrong type, EF2004 for a bad name or choice, EF2005 for an integer out of range, EF6001/EF6002 for
 * a bad duration) and then left out, as if it were not written.
 */
export type SectionFieldSpec =
  /** An integer from `min` to `max`. */
  | { readonly type: 'int'; readonly min: number; readonly max: number }
  /** One of a few strings. */
  | { readonly type: 'oneOf'; readonly values: readonly string[] }
  /**
   * A broker resource name: a string matching `pattern`; `allowed` says in words which characters
   * besides letters and digits it may hold (`'.', '_', '-'`).
   */
  | { readonly type: 'name'; readonly pattern: RegExp; readonly allowed: string }
  /** A duration (`250ms`, `7d`), read as milliseconds, from `minMs` (0 or more) to `maxMs`. */
  | { readonly type: 'duration'; readonly minMs: number; readonly maxMs: number }
  /**
   * A mapping of names to scalars, each read as a string (Kafka topic configs); `entry` names one
   * entry in messages (`Kafka config`).
   */
  | { readonly type: 'stringMap'; readonly entry: string };

/** The fields of one level, in the order they are documented. */
export type SectionFields = Readonly<Record<string, SectionFieldSpec>>;

/**
 * The fields written at one place, after their checks: numbers for `int` and `duration` (ms),
 * strings for `oneOf` and `name`, `Record<string, string>` for `stringMap`. Absent: not written.
 */
export type SectionValues = Readonly<Record<string, unknown>>;

export interface SectionEventInput {
  name: string;
  /** The event's ordering key, `null` without one. */
  key: string | null;
  values: SectionValues;
}

export interface SectionConsumerInput {
  /** `<service>.<handler>`. */
  id: string;
  service: string;
  handler: string;
  /** Consumed event names, sorted, no duplicates. */
  events: readonly string[];
  /** The effective retry policy (defaults applied). */
  retry: RetryPolicyIR;
  deadLetter: boolean;
  values: SectionValues;
}

/** What a section's `build`, `check` and `names` see: the topology with this broker's sections. */
export interface SectionInput {
  /** The topology's kebab-case name. */
  topology: string;
  /** The root section's values (empty when not written). */
  values: SectionValues;
  /** Every event, in the order written. */
  events: readonly SectionEventInput[];
  /** Every handler, sorted by id. */
  consumers: readonly SectionConsumerInput[];
}

/** This broker's part of the IR; a part left `undefined` is not written into the IR at all. */
export interface SectionIR {
  root: unknown;
  /** By event name. */
  events: ReadonlyMap<string, unknown>;
  /** By consumer id. */
  consumers: ReadonlyMap<string, unknown>;
}

/** Which written field a problem is about; the generator points at the first one written, else at the owner. */
export interface SectionPlace {
  level: SectionLevel;
  /** The event name (level `event`) or consumer id (level `consumer`); absent at the root. */
  owner?: string | undefined;
  /** Field names in order of preference. */
  fields: readonly string[];
}

/**
 * A problem only this broker knows. The generator gives each kind its code: `inconsistent`
 * (settings contradict each other, EF6004), `needs-key` (a setting needs the event to declare a
 * key, EF6005), `name-too-long` (EF3009).
 */
export interface SectionProblem {
  kind: 'inconsistent' | 'needs-key' | 'name-too-long';
  at: SectionPlace;
  message: string;
  hint?: string | undefined;
}

/**
 * A resource name one owner takes on the broker. The generator reports a name longer than
 * `maxLength` (EF3009) and a name two owners take in the same `pool` (EF3010), once per owner.
 */
export interface ResourceNameClaim {
  /** Names in one pool must be distinct (`queue`, `topic`, `consumer group`). */
  pool: string;
  /** What it is, in messages: `queue`, `topic`, `consumer group`. */
  kind: string;
  name: string;
  maxLength: number;
  at: SectionPlace & { level: 'event' | 'consumer'; owner: string };
}

/** A change between two topologies that matters on this broker (`eventform check`). */
export interface SectionChange {
  /**
   * `partitions-decreased` (EFC204, an error), `partitions-increased` (EFC205), `event-moved`
   * (EFC213), `consumer-moved` (EFC211), `queue-type-changed` (EFC212), `retention-shortened`
   * (EFC217: the broker will drop stored messages older than the new limit).
   */
  kind:
    | 'partitions-decreased'
    | 'partitions-increased'
    | 'event-moved'
    | 'consumer-moved'
    | 'queue-type-changed'
    | 'retention-shortened';
  /** The event name, for changes to an event. */
  event?: string | undefined;
  /** The consumer id, for changes to a consumer. */
  consumer?: string | undefined;
  message: string;
}

/** What an event or consumer leaves behind on this broker when it is removed or renamed. */
export interface SectionLeftovers {
  /** Of a removed event, as a phrase: `its Kafka topic shop.OrderPlaced`. */
  event(event: EventIR): string | undefined;
  /** Of a removed consumer, as a phrase: `Kafka group g, g.retry, g.dlq`. */
  consumer(consumer: ConsumerIR): string | undefined;
  /** The consumer's dead-letter resources, by name. */
  deadLetters(consumer: ConsumerIR): string[];
  /** The consumer's retry resources, by name. */
  retries(consumer: ConsumerIR): string[];
  /** Where the consumer's messages wait (its queue), for messages about them; absent on a broker without one. */
  waiting?(consumer: ConsumerIR): string | undefined;
}

export interface TopologySection {
  /** The key in `topology.yaml`: `kafka`. */
  readonly key: string;
  /** How messages name the broker: `Kafka`. */
  readonly title: string;
  /** The fields per level; a level without fields takes no section. */
  readonly fields: Readonly<Partial<Record<SectionLevel, SectionFields>>>;
  /** The values a field takes when not written, by level and field (documented in docs/topology-format.md). */
  readonly defaults: Readonly<Partial<Record<SectionLevel, Readonly<Record<string, unknown>>>>>;
  /** This broker's part of the IR: defaults applied, names derived. Pure. */
  build(input: SectionInput): SectionIR;
  /** Problems only this broker knows (contradicting settings, names over its limits). Pure. */
  check(input: SectionInput): SectionProblem[];
  /** The resource names every event and consumer takes, in a stable order. Pure. */
  names(input: SectionInput): ResourceNameClaim[];
  /**
   * What breaks or is stranded on this broker between two topologies, for events and consumers in
   * both. Pure. (After a topology rename every name changes: the generator then drops `*-moved`.)
   */
  compat(before: TopologyIR, after: TopologyIR): SectionChange[];
  /** What a removed event or consumer leaves behind on this broker. */
  readonly leftovers: SectionLeftovers;
}
