/**
 * The diagnostic code table. Codes are stable: a code is never reused for another problem and
 * never changes severity. docs/diagnostics.md documents each one (a test keeps them in sync).
 *
 * EF1xxx file and YAML · EF2xxx structure · EF3xxx names · EF4xxx references ·
 * EF5xxx schemas, keys and examples · EF6xxx delivery policies · EF9xxx warnings.
 */
export interface CodeInfo {
  severity: 'error' | 'warning';
  /** One line, used by the docs. */
  title: string;
}

export const CODES = {
  EF1001: { severity: 'error', title: 'file not found or unreadable' },
  EF1002: { severity: 'error', title: 'file too large' },
  EF1003: { severity: 'error', title: 'binary file or invalid UTF-8' },
  EF1004: { severity: 'error', title: 'empty file' },
  EF1005: { severity: 'error', title: 'YAML syntax error' },
  EF1006: { severity: 'error', title: 'duplicate key' },
  EF1007: { severity: 'error', title: 'tab used for indentation' },
  EF1008: { severity: 'error', title: 'alias expansion too large or recursive' },
  EF1009: { severity: 'error', title: 'nesting too deep' },
  EF1010: { severity: 'error', title: 'more than one YAML document' },
  EF1011: { severity: 'error', title: 'root is not a mapping' },
  EF1012: { severity: 'error', title: 'unsupported YAML construct' },
  EF2001: { severity: 'error', title: 'unknown field' },
  EF2002: { severity: 'error', title: 'wrong type' },
  EF2003: { severity: 'error', title: 'missing required field' },
  EF2004: { severity: 'error', title: 'value not allowed' },
  EF2005: { severity: 'error', title: 'number out of range' },
  EF2006: { severity: 'error', title: 'empty collection' },
  EF3001: { severity: 'error', title: 'topology name is not kebab-case' },
  EF3002: { severity: 'error', title: 'service name is not kebab-case' },
  EF3003: { severity: 'error', title: 'event name is not PascalCase' },
  EF3004: { severity: 'error', title: 'handler name is not camelCase' },
  EF3005: { severity: 'error', title: 'schema name is not PascalCase' },
  EF3006: { severity: 'error', title: 'names collide after case folding' },
  EF3007: { severity: 'error', title: 'a schema and an event share a name' },
  EF3008: { severity: 'error', title: 'service names collide as identifiers' },
  EF3009: { severity: 'error', title: 'broker resource name too long' },
  EF3010: { severity: 'error', title: 'broker resource names collide' },
  EF4001: { severity: 'error', title: 'unknown event' },
  EF4002: { severity: 'error', title: 'consumer has no events' },
  EF4003: { severity: 'error', title: 'unknown shared schema' },
  EF4004: { severity: 'error', title: 'duplicate handler' },
  EF4005: { severity: 'error', title: 'unsupported $ref' },
  EF4006: { severity: 'error', title: 'external schema file not found' },
  EF4007: { severity: 'error', title: 'external schema file is invalid' },
  EF4008: { severity: 'error', title: 'JSON pointer in an external $ref' },
  EF4009: { severity: 'error', title: 'external schema name collides' },
  EF5001: { severity: 'error', title: 'invalid JSON Schema' },
  EF5002: { severity: 'error', title: 'example does not match the payload' },
  EF5003: { severity: 'error', title: 'key is not a payload property' },
  EF5004: { severity: 'error', title: 'key is not a required property' },
  EF5005: { severity: 'error', title: 'key is not a string property' },
  EF5006: { severity: 'error', title: 'schema keyword not supported here' },
  EF5007: { severity: 'error', title: 'schema refers to itself without nesting' },
  EF6001: { severity: 'error', title: 'invalid duration' },
  EF6002: { severity: 'error', title: 'duration out of range' },
  EF6003: { severity: 'error', title: 'idempotency key is not a required field of a consumed event' },
  EF6004: { severity: 'error', title: 'Kafka replication settings are inconsistent' },
  EF6005: { severity: 'error', title: 'partitioned handler consumes an event without a key' },
  EF9001: { severity: 'warning', title: 'event name is not in the past tense' },
  EF9002: { severity: 'warning', title: 'event is not consumed' },
  EF9003: { severity: 'warning', title: 'consumed event is never produced' },
  EF9004: { severity: 'warning', title: 'dead-lettering disabled' },
  EF9005: { severity: 'warning', title: 'idempotency disabled' },
  EF9006: { severity: 'warning', title: 'service neither produces nor consumes' },
  EF9007: { severity: 'warning', title: 'delay exceeds maxDelay' },
  EF9008: { severity: 'warning', title: 'listed twice' },
  EF9009: { severity: 'warning', title: 'key cannot be verified' },
  EF9010: { severity: 'warning', title: 'name shadows a TypeScript global' },
  EF9011: { severity: 'warning', title: 'handler name is a reserved word or Object member' },
  EF9012: { severity: 'warning', title: 'JSON Schema strictness warning' },
  EF9013: { severity: 'warning', title: 'YAML warning' },
  EF9014: { severity: 'warning', title: 'too many problems' },
} as const satisfies Record<string, CodeInfo>;

export type DiagnosticCode = keyof typeof CODES;
