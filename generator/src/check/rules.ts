/**
 * The rule table of `eventform check`: every finding the checks can produce, in one place.
 *
 * Ids are stable: a rule id is never reused for another rule, and docs/contract-checks.md lists
 * every row of this table (a test keeps the two in sync).
 *
 * EFC0xx the check itself · EFC1xx payload compatibility · EFC2xx topology changes ·
 * EFC3xx graph integrity · EFC4xx drift between topology and generated code.
 */

/** Which step of `eventform check` reports a rule. */
export type RuleStep = 'meta' | 'compatibility' | 'topology' | 'graph' | 'drift';

/**
 * What a payload rule breaks when it fires: `backward` = something valid under the old schema
 * is invalid under the new one; `forward` = something valid under the new schema was invalid
 * under the old one. Non-payload rules say `n/a`.
 */
export type RuleBreaks = 'backward' | 'forward' | 'both' | 'varies' | 'n/a';

export interface RuleInfo {
  name: string;
  step: RuleStep;
  breaks: RuleBreaks;
  /** One line, used by the docs. */
  description: string;
}

export const RULES = {
  EFC001: {
    name: 'old-topology-invalid',
    step: 'meta',
    breaks: 'n/a',
    description: 'the --against topology does not load, so it cannot be compared',
  },
  EFC002: {
    name: 'old-topology-missing',
    step: 'meta',
    breaks: 'n/a',
    description: 'the topology file does not exist at the --against ref (a new topology): nothing to compare',
  },

  EFC101: {
    name: 'required-added',
    step: 'compatibility',
    breaks: 'backward',
    description: 'a new property is required; old messages lack it',
  },
  EFC102: {
    name: 'required-removed',
    step: 'compatibility',
    breaks: 'forward',
    description: 'a required property was removed; old consumers still require it',
  },
  EFC103: {
    name: 'optional-to-required',
    step: 'compatibility',
    breaks: 'backward',
    description: 'an optional property became required; old messages may lack it',
  },
  EFC104: {
    name: 'required-to-optional',
    step: 'compatibility',
    breaks: 'forward',
    description: 'a required property became optional; new messages may lack it',
  },
  EFC105: {
    name: 'property-added-to-closed',
    step: 'compatibility',
    breaks: 'forward',
    description: 'a property was added to a closed object (additionalProperties: false); old consumers reject it',
  },
  EFC106: {
    name: 'property-removed-from-closed',
    step: 'compatibility',
    breaks: 'backward',
    description: 'a property was removed from a closed object; old messages that carry it are rejected',
  },
  EFC107: {
    name: 'object-closed',
    step: 'compatibility',
    breaks: 'backward',
    description: 'an object was closed (additionalProperties: false added); undeclared properties are rejected',
  },
  EFC108: {
    name: 'object-opened',
    step: 'compatibility',
    breaks: 'forward',
    description: 'a closed object was opened; old consumers reject undeclared properties',
  },
  EFC110: {
    name: 'type-narrowed',
    step: 'compatibility',
    breaks: 'backward',
    description: 'a type that was accepted no longer is (number → integer, string → integer, type added)',
  },
  EFC111: {
    name: 'type-widened',
    step: 'compatibility',
    breaks: 'forward',
    description: 'a type that was rejected is now accepted (integer → number, type removed)',
  },
  EFC112: {
    name: 'nullable-removed',
    step: 'compatibility',
    breaks: 'backward',
    description: 'null is no longer accepted',
  },
  EFC113: {
    name: 'nullable-added',
    step: 'compatibility',
    breaks: 'forward',
    description: 'null is now accepted',
  },
  EFC114: {
    name: 'schema-disabled',
    step: 'compatibility',
    breaks: 'backward',
    description: 'the new schema is `false`: nothing is valid any more',
  },
  EFC115: {
    name: 'schema-enabled',
    step: 'compatibility',
    breaks: 'forward',
    description: 'the old schema was `false`: anything the new one accepts was invalid before',
  },
  EFC120: {
    name: 'enum-value-removed',
    step: 'compatibility',
    breaks: 'backward',
    description: 'an enum value was removed',
  },
  EFC121: {
    name: 'enum-value-added',
    step: 'compatibility',
    breaks: 'forward',
    description: 'an enum value was added',
  },
  EFC122: {
    name: 'enum-added',
    step: 'compatibility',
    breaks: 'backward',
    description: 'an enum now restricts a value that was free',
  },
  EFC123: {
    name: 'enum-removed',
    step: 'compatibility',
    breaks: 'forward',
    description: 'an enum restriction was dropped',
  },
  EFC124: {
    name: 'const-added',
    step: 'compatibility',
    breaks: 'backward',
    description: 'a const now pins a value that was free',
  },
  EFC125: {
    name: 'const-removed',
    step: 'compatibility',
    breaks: 'forward',
    description: 'a const was dropped',
  },
  EFC126: {
    name: 'const-changed',
    step: 'compatibility',
    breaks: 'both',
    description: 'a const changed value',
  },
  EFC130: {
    name: 'range-narrowed',
    step: 'compatibility',
    breaks: 'backward',
    description: 'minimum/exclusiveMinimum raised, maximum/exclusiveMaximum lowered, or a bound added',
  },
  EFC131: {
    name: 'range-widened',
    step: 'compatibility',
    breaks: 'forward',
    description: 'minimum/exclusiveMinimum lowered, maximum/exclusiveMaximum raised, or a bound removed',
  },
  EFC132: {
    name: 'multiple-of-narrowed',
    step: 'compatibility',
    breaks: 'backward',
    description: 'multipleOf added, or changed to a value the old one is not a multiple of',
  },
  EFC133: {
    name: 'multiple-of-widened',
    step: 'compatibility',
    breaks: 'forward',
    description: 'multipleOf removed, or changed to a value that is not a multiple of the old one',
  },
  EFC134: {
    name: 'length-narrowed',
    step: 'compatibility',
    breaks: 'backward',
    description: 'minLength raised or maxLength lowered/added',
  },
  EFC135: {
    name: 'length-widened',
    step: 'compatibility',
    breaks: 'forward',
    description: 'minLength lowered or maxLength raised/removed',
  },
  EFC136: {
    name: 'pattern-added',
    step: 'compatibility',
    breaks: 'backward',
    description: 'a pattern now restricts a string',
  },
  EFC137: {
    name: 'pattern-removed',
    step: 'compatibility',
    breaks: 'forward',
    description: 'a pattern was dropped',
  },
  EFC138: {
    name: 'pattern-changed',
    step: 'compatibility',
    breaks: 'both',
    description: 'a pattern changed; regular expressions are not compared for inclusion, so both directions break',
  },
  EFC139: {
    name: 'format-added',
    step: 'compatibility',
    breaks: 'backward',
    description: 'a format (asserted by the generated validators) now restricts a value',
  },
  EFC140: {
    name: 'format-removed',
    step: 'compatibility',
    breaks: 'forward',
    description: 'a format was dropped',
  },
  EFC141: {
    name: 'format-changed',
    step: 'compatibility',
    breaks: 'both',
    description: 'a format changed',
  },
  EFC142: {
    name: 'item-count-narrowed',
    step: 'compatibility',
    breaks: 'backward',
    description: 'minItems raised or maxItems lowered/added',
  },
  EFC143: {
    name: 'item-count-widened',
    step: 'compatibility',
    breaks: 'forward',
    description: 'minItems lowered or maxItems raised/removed',
  },
  EFC144: {
    name: 'unique-items-added',
    step: 'compatibility',
    breaks: 'backward',
    description: 'uniqueItems: true added',
  },
  EFC145: {
    name: 'unique-items-removed',
    step: 'compatibility',
    breaks: 'forward',
    description: 'uniqueItems: true dropped',
  },
  EFC146: {
    name: 'property-count-narrowed',
    step: 'compatibility',
    breaks: 'backward',
    description: 'minProperties raised or maxProperties lowered/added',
  },
  EFC147: {
    name: 'property-count-widened',
    step: 'compatibility',
    breaks: 'forward',
    description: 'minProperties lowered or maxProperties raised/removed',
  },
  EFC150: {
    name: 'branch-added',
    step: 'compatibility',
    breaks: 'varies',
    description:
      'a oneOf/anyOf branch was added: forward break (unknown unless provably disjoint); for oneOf also backward unknown (overlap)',
  },
  EFC151: {
    name: 'branch-removed',
    step: 'compatibility',
    breaks: 'varies',
    description:
      'a oneOf/anyOf branch was removed: backward break (unknown unless provably disjoint); for oneOf also forward unknown',
  },
  EFC152: {
    name: 'combinator-added',
    step: 'compatibility',
    breaks: 'backward',
    description: 'allOf/anyOf/oneOf/not/if was added: it can only restrict, so backward is unknown',
  },
  EFC153: {
    name: 'combinator-removed',
    step: 'compatibility',
    breaks: 'forward',
    description: 'allOf/anyOf/oneOf/not/if was removed: it can only relax, so forward is unknown',
  },
  EFC160: {
    name: 'ref-unresolved',
    step: 'compatibility',
    breaks: 'both',
    description: 'a $ref could not be followed; compatibility is unknown',
  },
  EFC199: {
    name: 'unsupported-change',
    step: 'compatibility',
    breaks: 'both',
    description: 'a keyword the checker does not model changed (not, if/then/else, patternProperties, contains, …)',
  },

  EFC201: {
    name: 'event-removed',
    step: 'topology',
    breaks: 'n/a',
    description: 'an event was removed (an error when a consumer consumed it; its topic/binding goes with it)',
  },
  EFC202: {
    name: 'event-renamed',
    step: 'topology',
    breaks: 'n/a',
    description: 'an event looks renamed (removed + added with an identical payload): routing key and topic change',
  },
  EFC203: {
    name: 'key-changed',
    step: 'topology',
    breaks: 'n/a',
    description:
      "an event's ordering key changed or was removed (an error); added (a warning): per-key ordering breaks",
  },
  EFC204: {
    name: 'partitions-decreased',
    step: 'topology',
    breaks: 'n/a',
    description: 'Kafka partitions decreased; a topic cannot shrink',
  },
  EFC205: {
    name: 'partitions-increased',
    step: 'topology',
    breaks: 'n/a',
    description:
      'Kafka partitions increased; the key → partition mapping changes, so per-key order is not kept across it',
  },
  EFC206: {
    name: 'version-decreased',
    step: 'topology',
    breaks: 'n/a',
    description: "an event's (or the topology's) version decreased",
  },
  EFC207: {
    name: 'consumer-removed',
    step: 'topology',
    breaks: 'n/a',
    description:
      'a consumer was removed: its queue/group, retry queues and DLQ would be orphaned (the DLQ may hold messages)',
  },
  EFC208: {
    name: 'consumer-renamed',
    step: 'topology',
    breaks: 'n/a',
    description: 'a consumer looks renamed: it gets new queues and a new group; the old ones would be orphaned',
  },
  EFC209: {
    name: 'dead-letter-dropped',
    step: 'topology',
    breaks: 'n/a',
    description: "a consumer's dead-letter queue/topic would be dropped or renamed while it may hold messages",
  },
  EFC210: {
    name: 'retry-queue-dropped',
    step: 'topology',
    breaks: 'n/a',
    description: 'a retry queue/topic would be dropped while it may hold messages waiting for their retry',
  },
  EFC211: {
    name: 'consumer-resource-renamed',
    step: 'topology',
    breaks: 'n/a',
    description: "a consumer's queue or Kafka group id changed: the old queue is orphaned / committed offsets are lost",
  },
  EFC212: {
    name: 'queue-type-changed',
    step: 'topology',
    breaks: 'n/a',
    description: "a queue's type (quorum/classic) changed; RabbitMQ cannot convert a queue, it must be recreated",
  },
  EFC213: {
    name: 'event-resource-renamed',
    step: 'topology',
    breaks: 'n/a',
    description: "an event's Kafka topic or RabbitMQ exchange changed: retained/in-flight messages stay behind",
  },
  EFC214: {
    name: 'topology-renamed',
    step: 'topology',
    breaks: 'n/a',
    description: 'the topology name changed: every broker resource gets a new name',
  },
  EFC215: {
    name: 'subscription-removed',
    step: 'topology',
    breaks: 'n/a',
    description: 'a consumer stopped consuming an event: messages of it already in its queue would be dead-lettered',
  },
  EFC216: {
    name: 'compatibility-relaxed',
    step: 'topology',
    breaks: 'n/a',
    description: "an event's compatibility mode was relaxed (e.g. full → backward, anything → none)",
  },
  EFC217: {
    name: 'retention-shortened',
    step: 'topology',
    breaks: 'n/a',
    description:
      "an event's messages are kept for a shorter time: the broker drops stored ones older than the new limit",
  },

  EFC301: {
    name: 'consumed-never-produced',
    step: 'graph',
    breaks: 'n/a',
    description: 'an event is consumed but no service produces it (fails with --strict)',
  },
  EFC302: {
    name: 'produced-never-consumed',
    step: 'graph',
    breaks: 'n/a',
    description: 'an event is produced but no consumer consumes it (fails with --strict)',
  },
  EFC303: {
    name: 'event-unused',
    step: 'graph',
    breaks: 'n/a',
    description: 'an event is neither produced nor consumed (fails with --strict)',
  },

  EFC401: {
    name: 'generated-stale',
    step: 'drift',
    breaks: 'n/a',
    description: 'a generated file differs from what the topology generates',
  },
  EFC402: {
    name: 'generated-missing',
    step: 'drift',
    breaks: 'n/a',
    description: 'a file the topology generates is missing',
  },
  EFC403: {
    name: 'generated-extra',
    step: 'drift',
    breaks: 'n/a',
    description: 'the generated directory holds a generated file the topology no longer produces',
  },
  EFC404: {
    name: 'generate-failed',
    step: 'drift',
    breaks: 'n/a',
    description: 'the generator could not run, so drift could not be checked',
  },
} as const satisfies Record<string, RuleInfo>;

export type RuleId = keyof typeof RULES;

/** `EFC101 required-added`, the way findings are labelled in text output. */
export function ruleLabel(id: RuleId): string {
  return `${id} ${RULES[id].name}`;
}
