/**
 * One row per validation rule: a topology written inline and the exact diagnostics it must
 * produce (`[file ]CODE line:col message`), errors and warnings alike, in output order. The
 * topology is loaded as `/virtual/t.yaml`; its file name is omitted, other files are named
 * relative to `/virtual/`. The YAML starts on line 1 right after the opening backtick-newline.
 */
export interface RuleCase {
  name: string;
  yaml: string;
  expect: string[];
  /** `did you mean` hints that must appear, in order. */
  hints?: string[];
  /** Extra files for external `$ref`s, by absolute path. */
  files?: Record<string, string>;
}

/** Strips the first newline so line 1 is the line after the backtick. */
const y = (s: TemplateStringsArray, ...v: unknown[]) => String.raw({ raw: s }, ...v).replace(/^\n/, '');

/** A valid topology with no warnings; most cases change one thing in it. */
export const BASE = y`
topology: t
events:
  OrderCreated:
    key: orderId
    payload:
      type: object
      required: [orderId]
      properties:
        orderId: { type: string }
services:
  orders:
    produces: [OrderCreated]
    consumes:
      onCreated: { event: OrderCreated }
`;

export const RULES: RuleCase[] = [
  { name: 'the base topology is clean', yaml: BASE, expect: [] },

  // ---- EF1xxx: file and YAML ----------------------------------------------------------------
  { name: 'empty file', yaml: '', expect: ['EF1004 1:1 file is empty'] },
  { name: 'comments only', yaml: '# nothing here\n\n# still nothing\n', expect: ['EF1004 1:1 file is empty'] },
  {
    name: 'YAML syntax error',
    yaml: y`
topology: t
events: [OrderCreated
services: {}
`,
    expect: ['EF1005 3:1 flow sequence in block collection must be sufficiently indented and end with a ]'],
  },
  {
    name: 'duplicate key',
    yaml: y`
topology: t
topology: u
events:
  OrderCreated: { payload: { type: object } }
`,
    expect: ["EF1006 2:1 duplicate key 'topology'", "EF9002 4:3 event 'OrderCreated' is not consumed by any service"],
  },
  {
    name: 'duplicate event',
    yaml: y`
topology: t
events:
  OrderCreated: { payload: { type: object } }
  OrderCreated: { payload: { type: object } }
`,
    expect: [
      "EF9002 3:3 event 'OrderCreated' is not consumed by any service",
      "EF1006 4:3 event 'OrderCreated' is declared twice",
    ],
  },
  {
    name: 'tab indentation',
    yaml: 'topology: t\nevents:\n\tOrderCreated: {}\n',
    expect: ['EF1007 3:1 tabs are not allowed as indentation'],
  },
  {
    name: 'recursive alias',
    yaml: y`
topology: t
events: &e
  OrderCreated: { payload: *e }
`,
    expect: ['EF1008 3:28 alias *e refers to a node that contains it'],
  },
  {
    name: 'two documents',
    yaml: y`
topology: t
events: { OrderCreated: { payload: true } }
---
topology: u
`,
    expect: ['EF1010 3:1 file holds more than one YAML document; a topology is exactly one'],
  },
  { name: 'root is a list', yaml: '- topology: t\n', expect: ['EF1011 1:1 a topology must be a mapping, got a list'] },
  {
    name: 'root is a scalar',
    yaml: 'hello\n',
    expect: ['EF1011 1:1 a topology must be a mapping, got the string "hello"'],
  },
  {
    name: 'merge keys are not supported',
    yaml: y`
topology: t
x: &x { payload: { type: object } }
events:
  OrderCreated: { <<: *x }
`,
    expect: ['EF1012 4:19 YAML merge keys (`<<`) are not supported'],
  },
  {
    name: 'complex keys are not supported',
    yaml: y`
topology: t
? [a, b]
: c
events: { OrderCreated: { payload: true } }
`,
    expect: ['EF1012 2:3 keys must be plain strings'],
  },
  {
    name: 'non-JSON number',
    yaml: y`
topology: t
events:
  OrderCreated:
    payload: { type: number, maximum: .inf }
`,
    expect: ['EF1012 4:39 Infinity is not allowed; values must be valid JSON'],
  },

  // ---- EF2xxx: structure ----------------------------------------------------------------------
  {
    name: 'missing topology and events',
    yaml: 'version: 1\n',
    expect: [
      "EF2003 1:1 the topology is missing the required field 'events'",
      "EF2003 1:1 the topology is missing the required field 'topology'",
    ],
  },
  {
    name: 'unknown top-level field with suggestion',
    yaml: BASE.replace('topology: t', 'topology: t\nservice: {}'),
    expect: ["EF2001 2:1 unknown field 'service' in the topology"],
    hints: ["did you mean 'services'?"],
  },
  {
    name: 'misspelt consumer field',
    yaml: BASE.replace('{ event: OrderCreated }', '{ event: OrderCreated, retries: { attempts: 2 } }'),
    expect: ["EF2001 14:41 unknown field 'retries' in handler 'orders.onCreated'"],
    hints: ["did you mean 'retry'?"],
  },
  {
    name: 'misspelt retry field',
    yaml: BASE.replace('{ event: OrderCreated }', '{ event: OrderCreated, retry: { atempts: 2 } }'),
    expect: ["EF2001 14:50 unknown field 'atempts' in 'retry' of handler 'orders.onCreated'"],
    hints: ["did you mean 'attempts'?"],
  },
  {
    name: 'version must be a positive integer',
    yaml: 'version: 0\n' + BASE,
    expect: ["EF2005 1:10 'version' must be a positive integer, got 0"],
  },
  {
    name: 'version as a string',
    yaml: 'version: "1"\n' + BASE,
    expect: ['EF2002 1:10 \'version\' must be a positive integer, got the string "1"'],
  },
  {
    name: 'events must be a mapping',
    yaml: y`
topology: t
events: [OrderCreated]
`,
    expect: ["EF2002 2:9 'events' must be a mapping, got a list"],
  },
  {
    name: 'events must not be empty',
    yaml: y`
topology: t
events: {}
`,
    expect: ["EF2006 2:9 'events' is empty; a topology declares at least one event"],
  },
  {
    name: 'event without payload',
    yaml: y`
topology: t
events:
  OrderCreated:
    key: orderId
`,
    expect: [
      "EF2003 3:3 event 'OrderCreated' is missing the required field 'payload'",
      "EF9002 3:3 event 'OrderCreated' is not consumed by any service",
    ],
  },
  {
    name: 'payload must be a schema',
    yaml: y`
topology: t
events:
  OrderCreated:
    payload: [orderId]
`,
    expect: [
      "EF9002 3:3 event 'OrderCreated' is not consumed by any service",
      "EF2002 4:14 'payload' of event 'OrderCreated' must be a JSON Schema (a mapping), got a list",
    ],
  },
  {
    name: 'produces must be a list of names',
    yaml: BASE.replace('produces: [OrderCreated]', 'produces: { OrderCreated: true }'),
    expect: [
      "EF2002 12:15 'produces' of service 'orders' must be a list, got a mapping",
      "EF9003 14:27 handler 'orders.onCreated' consumes 'OrderCreated', which no service produces",
    ],
  },
  {
    name: 'consumer without event',
    yaml: BASE.replace('{ event: OrderCreated }', '{ concurrency: 2 }'),
    expect: [
      "EF9002 3:3 event 'OrderCreated' is not consumed by any service",
      "EF2003 14:7 handler 'orders.onCreated' is missing the required field 'event'",
    ],
  },
  {
    name: 'consumer event of the wrong type',
    yaml: BASE.replace('{ event: OrderCreated }', '{ event: 42 }'),
    expect: [
      "EF9002 3:3 event 'OrderCreated' is not consumed by any service",
      "EF2002 14:27 'event' of handler 'orders.onCreated' must be an event name or a list of event names, got the number 42",
    ],
  },
  {
    name: 'backoff enum',
    yaml: BASE.replace('{ event: OrderCreated }', '{ event: OrderCreated, retry: { backoff: linear } }'),
    expect: [
      "EF2004 14:59 'retry.backoff' of handler 'orders.onCreated' must be one of fixed, exponential; got 'linear'",
    ],
  },
  {
    name: 'compatibility enum',
    yaml: BASE.replace('    key: orderId', '    key: orderId\n    compatibility: backwards'),
    expect: [
      "EF2004 5:20 'compatibility' of event 'OrderCreated' must be one of backward, forward, full, none; got 'backwards'",
    ],
    hints: ["did you mean 'backward'?"],
  },
  {
    name: 'contentMode enum on an event',
    yaml: BASE.replace('    key: orderId', '    key: orderId\n    contentMode: structure'),
    expect: ["EF2004 5:18 'contentMode' of event 'OrderCreated' must be one of binary, structured; got 'structure'"],
    hints: ["did you mean 'structured'?"],
  },
  {
    name: 'contentMode enum in defaults',
    yaml: 'defaults: { contentMode: json }\n' + BASE,
    expect: ["EF2004 1:26 'defaults.contentMode' must be one of binary, structured; got 'json'"],
  },
  {
    name: 'contentMode in defaults and on an event',
    yaml:
      'defaults: { contentMode: structured }\n' +
      BASE.replace('    key: orderId', '    key: orderId\n    contentMode: binary'),
    expect: [],
  },
  {
    name: 'queueType enum',
    yaml: 'rabbitmq: { queueType: lazy }\n' + BASE,
    expect: ["EF2004 1:24 'rabbitmq.queueType' must be one of quorum, classic; got 'lazy'"],
  },
  {
    name: 'attempts must be >= 1',
    yaml: BASE.replace('{ event: OrderCreated }', '{ event: OrderCreated, retry: { attempts: 0 } }'),
    expect: ["EF2005 14:60 'retry.attempts' of handler 'orders.onCreated' must be an integer from 1 to 100, got 0"],
  },
  {
    name: 'attempts must be an integer',
    yaml: BASE.replace('{ event: OrderCreated }', '{ event: OrderCreated, retry: { attempts: 2.5 } }'),
    expect: ["EF2005 14:60 'retry.attempts' of handler 'orders.onCreated' must be an integer from 1 to 100, got 2.5"],
  },
  {
    name: 'jitter range',
    yaml: BASE.replace('{ event: OrderCreated }', '{ event: OrderCreated, retry: { jitter: 1.5 } }'),
    expect: ["EF2005 14:58 'retry.jitter' of handler 'orders.onCreated' must be between 0 and 1, got 1.5"],
  },
  {
    name: 'concurrency range',
    yaml: BASE.replace('{ event: OrderCreated }', '{ event: OrderCreated, concurrency: 5000 }'),
    expect: ["EF2005 14:54 'concurrency' of handler 'orders.onCreated' must be an integer from 1 to 1000, got 5000"],
  },
  {
    name: 'deadLetter must be boolean',
    yaml: BASE.replace('{ event: OrderCreated }', '{ event: OrderCreated, deadLetter: "no" }'),
    expect: [
      "EF2002 14:53 'deadLetter' of handler 'orders.onCreated' must be `true` or `false`, got the string \"no\"",
    ],
  },
  {
    name: 'kafka partitions range',
    yaml: 'kafka: { partitions: 0 }\n' + BASE,
    expect: ["EF2005 1:22 'kafka.partitions' must be an integer from 1 to 10000, got 0"],
  },
  {
    name: 'kafka topic override charset',
    yaml: BASE.replace('    key: orderId', '    key: orderId\n    kafka: { topic: "orders/created" }'),
    expect: [
      "EF2004 5:21 'kafka.topic' of event 'OrderCreated' 'orders/created' may only contain letters, digits and '.', '_', '-'",
    ],
  },
  {
    name: 'nats replicas range',
    yaml: 'nats: { replicas: 6 }\n' + BASE,
    expect: ["EF2005 1:19 'nats.replicas' must be an integer from 1 to 5, got 6"],
  },
  {
    name: 'nats maxAge of an event is a duration',
    yaml: BASE.replace('    key: orderId', '    key: orderId\n    nats: { maxAge: 7 }'),
    expect: ["EF6001 5:21 'nats.maxAge' of event 'OrderCreated' must be a duration string, got the number 7"],
  },
  {
    name: 'nats maxAge range',
    yaml: 'nats: { maxAge: 3651d }\n' + BASE,
    expect: ["EF6002 1:17 'nats.maxAge' must be at least 0ms and at most 3650d, got '3651d'"],
  },
  {
    name: 'nats section of a handler',
    yaml: BASE.replace('{ event: OrderCreated }', '{ event: OrderCreated, nats: {} }'),
    expect: ["EF2001 14:41 unknown field 'nats' in handler 'orders.onCreated'"],
  },

  // ---- EF3xxx: names --------------------------------------------------------------------------
  {
    name: 'topology name not kebab-case',
    yaml: BASE.replace('topology: t', 'topology: MyShop'),
    expect: ["EF3001 1:11 topology name 'MyShop' must be kebab-case (lower-case words joined by '-')"],
    hints: ["did you mean 'my-shop'?"],
  },
  {
    name: 'service name not kebab-case',
    yaml: BASE.replace('  orders:', '  orderService:'),
    expect: ["EF3002 11:3 service name 'orderService' must be kebab-case (lower-case words joined by '-')"],
    hints: ["did you mean 'order-service'?"],
  },
  {
    name: 'event name not PascalCase',
    yaml: BASE.replace(/OrderCreated/g, 'order_created'),
    expect: ["EF3003 3:3 event name 'order_created' must be PascalCase"],
    hints: ["did you mean 'OrderCreated'?"],
  },
  {
    name: 'handler name not camelCase',
    yaml: BASE.replace('onCreated', 'OnCreated'),
    expect: ["EF3004 14:7 handler name 'OnCreated' must be camelCase"],
    hints: ["did you mean 'onCreated'?"],
  },
  {
    name: 'schema name not PascalCase',
    yaml: BASE + 'schemas:\n  money: { type: number }\n',
    expect: ["EF3005 16:3 schema name 'money' must be PascalCase"],
    hints: ["did you mean 'Money'?"],
  },
  {
    name: 'events collide after case folding',
    yaml: BASE.replace('services:', '  Ordercreated: { payload: true }\nservices:'),
    expect: [
      "EF3006 10:3 event 'Ordercreated' differs from event 'OrderCreated' only in letter case",
      "EF9002 10:3 event 'Ordercreated' is not consumed by any service",
    ],
  },
  {
    name: 'schema and event with the same name',
    yaml: BASE + 'schemas:\n  OrderCreated: { type: object }\n',
    expect: ["EF3007 3:3 event 'OrderCreated' has the same name as schema 'OrderCreated'"],
  },
  {
    name: 'handlers collide after case folding',
    yaml: BASE.replace(
      '      onCreated: { event: OrderCreated }',
      '      onCreated: { event: OrderCreated }\n      oncreated: { event: OrderCreated }',
    ),
    expect: [
      "EF3006 15:7 handler 'oncreated' of service 'orders' differs from handler 'onCreated' only in letter case",
    ],
  },
  {
    name: 'services collide as identifiers',
    yaml:
      BASE +
      '  a-b1: { consumes: { h: { event: OrderCreated } } }\n  a-b-1: { consumes: { h: { event: OrderCreated } } }\n',
    expect: ["EF3008 16:3 service 'a-b-1' and service 'a-b1' map to the same identifier 'AB1'"],
  },
  {
    name: 'Kafka name too long',
    yaml: BASE.replace('topology: t', `topology: ${'x'.repeat(240)}`),
    expect: [
      "EF3009 3:3 Kafka topic name 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…' is 253 characters; the limit is 249",
      "EF3009 14:7 Kafka consumer group name 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…' is 257 characters; the limit is 249",
      "EF3009 14:7 RabbitMQ queue name 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…' is 257 characters; the limit is 255",
    ],
  },
  {
    name: 'queue override collision',
    yaml: BASE.replace(
      '      onCreated: { event: OrderCreated }',
      '      onCreated: { event: OrderCreated, rabbitmq: { queue: q } }\n      again: { event: OrderCreated, rabbitmq: { queue: q } }',
    ),
    expect: ["EF3010 15:56 RabbitMQ queue 'q' of handler 'orders.again' is also used by handler 'orders.onCreated'"],
  },
  {
    name: 'TS global name warning',
    yaml: BASE.replace(/OrderCreated/g, 'Promise'),
    expect: [
      "EF9001 3:3 event 'Promise' does not look like past tense",
      "EF9010 3:3 event 'Promise' shadows the TypeScript global 'Promise'",
    ],
  },
  {
    name: 'risky handler name warning',
    yaml: BASE.replace('onCreated', 'constructor'),
    expect: ["EF9011 14:7 handler name 'constructor' is a JavaScript keyword or Object member"],
  },

  // ---- EF4xxx: references ---------------------------------------------------------------------
  {
    name: 'unknown produced event with suggestion',
    yaml: BASE.replace('produces: [OrderCreated]', 'produces: [OrderCreated, OrderCreatd]'),
    expect: ["EF4001 12:30 'produces' of service 'orders' refers to unknown event 'OrderCreatd'"],
    hints: ["did you mean 'OrderCreated'?"],
  },
  {
    name: 'unknown consumed event',
    yaml: BASE.replace('{ event: OrderCreated }', '{ event: [OrderCreated, PaymentFailed] }'),
    expect: ["EF4001 14:42 handler 'orders.onCreated' refers to unknown event 'PaymentFailed'"],
  },
  {
    name: 'empty event list',
    yaml: BASE.replace('{ event: OrderCreated }', '{ event: [] }'),
    expect: [
      "EF9002 3:3 event 'OrderCreated' is not consumed by any service",
      "EF4002 14:27 handler 'orders.onCreated' consumes no events",
    ],
  },
  {
    name: 'duplicate handler',
    yaml: BASE.replace(
      '      onCreated: { event: OrderCreated }',
      '      onCreated: { event: OrderCreated }\n      onCreated: { event: OrderCreated }',
    ),
    expect: ["EF4004 15:7 service 'orders' declares handler 'onCreated' twice"],
  },
  {
    name: 'unknown shared schema',
    yaml:
      BASE.replace(
        'orderId: { type: string }',
        'orderId: { type: string }\n        total: { $ref: "#/schemas/Mony" }',
      ) + 'schemas:\n  Money: { type: number }\n',
    expect: ["EF4003 10:24 '$ref: #/schemas/Mony' points at no schema under 'schemas:'"],
    hints: ["did you mean 'Money'?"],
  },
  {
    name: 'definitions ref',
    yaml: BASE.replace('orderId: { type: string }', 'orderId: { $ref: "#/definitions/Id" }'),
    expect: ["EF4005 9:26 '$ref: #/definitions/Id' is not supported"],
  },
  {
    name: 'http ref',
    yaml: BASE.replace('orderId: { type: string }', 'orderId: { $ref: "https://example.com/id.json" }'),
    expect: ["EF4005 9:26 '$ref: https://example.com/id.json' points outside the repository"],
  },
  {
    name: 'missing external file',
    yaml: BASE.replace(
      'orderId: { type: string }',
      'orderId: { type: string }\n        total: { $ref: ./schemas/missing.json }',
    ),
    expect: ["EF4006 10:24 schema file './schemas/missing.json' does not exist"],
  },
  {
    name: 'pointer into an external file, not at a definition',
    yaml: BASE.replace(
      'orderId: { type: string }',
      'orderId: { type: string }\n        total: { $ref: "./schemas/money.json#/properties/amount" }',
    ),
    expect: [
      "EF4008 10:24 '$ref: ./schemas/money.json#/properties/amount' points inside a file, but not at one of its definitions",
    ],
  },
  {
    name: "a schema file's definitions: its own #/definitions refs, and another file's #/$defs",
    yaml: BASE.replace(
      'orderId: { type: string }',
      'orderId: { type: string }\n        total: { $ref: "./pay.json#/definitions/Money" }\n        at: { $ref: "./common.json#/$defs/At" }',
    ),
    files: {
      '/virtual/pay.json':
        '{ "definitions": { "Money": { "type": "object", "properties": { "currency": { "$ref": "#/definitions/Currency" }, "at": { "$ref": "common.json#/$defs/At" } } }, "Currency": { "enum": ["EUR"] } } }',
      '/virtual/common.json': '{ "$defs": { "At": { "type": "string", "format": "date-time" } } }',
    },
    expect: [],
  },
  {
    name: 'a definition a file does not have',
    yaml: BASE.replace(
      'orderId: { type: string }',
      'orderId: { type: string }\n        total: { $ref: "./pay.json#/definitions/Mony" }',
    ),
    files: { '/virtual/pay.json': '{ "definitions": { "Money": { "type": "number" } } }' },
    expect: ["EF4003 10:24 '$ref: ./pay.json#/definitions/Mony' points at no definition of ./pay.json"],
    hints: ["did you mean 'Money'?"],
  },
  {
    name: 'a definition ref inside the topology',
    yaml: BASE.replace(
      'orderId: { type: string }',
      'orderId: { type: string }\n        total: { $ref: "#/$defs/Money" }',
    ),
    expect: ["EF4005 10:24 '$ref: #/$defs/Money' is not supported"],
  },
  {
    name: 'definitions nested below the root of a schema file',
    yaml: BASE.replace('orderId: { type: string }', 'orderId: { type: string }\n        total: { $ref: ./pay.json }'),
    files: { '/virtual/pay.json': '{ "type": "object", "properties": { "x": { "$defs": { "Y": {} } } } }' },
    expect: ["pay.json EF5006 1:44 '$defs' is not supported in topology schemas"],
  },
  {
    name: 'a definition name that cannot become a type name',
    yaml: BASE.replace('orderId: { type: string }', 'orderId: { type: string }\n        total: { $ref: ./pay.json }'),
    files: { '/virtual/pay.json': '{ "$defs": { "9 lives": { "type": "number" } } }' },
    expect: ["pay.json EF4009 1:14 definition '9 lives' of ./pay.json has no name eventform can turn into a type name"],
  },
  {
    name: 'external file that does not parse',
    yaml: BASE.replace('orderId: { type: string }', 'orderId: { type: string }\n        total: { $ref: ./bad.json }'),
    files: { '/virtual/bad.json': '{ "type": "object", }}' },
    expect: [
      'bad.json EF1005 1:22 unexpected flow-map-end token in YAML stream: "}"',
      "EF4007 10:24 schema file './bad.json' could not be loaded; see the errors in /virtual/bad.json",
    ],
  },
  {
    name: 'external schema name clash',
    yaml:
      BASE.replace('orderId: { type: string }', 'orderId: { type: string }\n        total: { $ref: ./money.json }') +
      'schemas:\n  Money: { type: number }\n',
    files: { '/virtual/money.json': '{ "type": "number" }' },
    expect: ["EF4009 10:24 schema file './money.json' is named 'Money', like the inline schema"],
  },

  // ---- EF5xxx: schemas, keys, examples --------------------------------------------------------
  {
    name: 'invalid payload schema',
    yaml: BASE.replace('orderId: { type: string }', 'orderId: { type: strin }'),
    expect: [
      "EF5001 9:26 the payload of event 'OrderCreated' is not valid JSON Schema: '/properties/orderId/type' must be equal to one of the allowed values",
    ],
    hints: ["did you mean 'string'?"],
  },
  {
    name: 'pattern that is not a regular expression',
    yaml: BASE.replace('orderId: { type: string }', 'orderId: { type: string, pattern: "(" }'),
    expect: ["EF5001 9:43 '(' is not a valid regular expression: Unterminated group"],
  },
  {
    name: 'invalid shared schema',
    yaml: BASE + 'schemas:\n  Money: { type: number, minimum: "0" }\n',
    expect: ["EF5001 16:35 schema 'Money' is not valid JSON Schema: '/minimum' must be number"],
  },
  {
    name: 'example does not match',
    yaml: BASE.replace('services:', '    examples:\n      - { orderId: 42 }\n      - { orderId: ok }\nservices:'),
    expect: ["EF5002 11:20 example 1 of event 'OrderCreated' does not match the payload: '/orderId' must be string"],
  },
  {
    name: 'example misses a required field',
    yaml: BASE.replace('services:', '    examples:\n      - { id: x }\nservices:'),
    expect: [
      "EF5002 11:9 example 1 of event 'OrderCreated' does not match the payload: the example must have required property 'orderId'",
    ],
  },
  {
    name: 'key is not a property',
    yaml: BASE.replace('key: orderId', 'key: orderID'),
    expect: ["EF5003 4:10 key 'orderID' is not a property of the payload of event 'OrderCreated'"],
    hints: ["did you mean 'orderId'?"],
  },
  {
    name: 'key is not required',
    yaml: BASE.replace('required: [orderId]', 'required: []'),
    expect: ["EF5004 4:10 key 'orderId' of event 'OrderCreated' must be a required property"],
  },
  {
    name: 'key is not a string',
    yaml: BASE.replace('orderId: { type: string }', 'orderId: { type: integer }'),
    expect: ["EF5005 4:10 key 'orderId' of event 'OrderCreated' must be a string property; it is integer"],
  },
  {
    name: 'key through a shared schema',
    yaml:
      BASE.replace(/ {4}payload:\n(.|\n)*?services:/, '    payload: { $ref: "#/schemas/Order" }\nservices:') +
      'schemas:\n  Order:\n    type: object\n    required: [orderId]\n    properties: { orderId: { type: number } }\n',
    expect: ["EF5005 4:10 key 'orderId' of event 'OrderCreated' must be a string property; it is number"],
  },
  {
    name: 'key behind oneOf cannot be verified',
    yaml: BASE.replace(
      / {4}payload:\n(.|\n)*?services:/,
      '    payload: { oneOf: [{ type: object }, { type: object }] }\nservices:',
    ),
    expect: [
      "EF9009 4:10 cannot verify that key 'orderId' is a property of event 'OrderCreated': the payload uses anyOf/oneOf/if",
    ],
  },
  {
    name: '$defs is not supported',
    yaml: BASE.replace('      type: object\n', '      type: object\n      $defs: { Id: { type: string } }\n'),
    expect: ["EF5006 7:7 '$defs' is not supported in topology schemas"],
  },
  {
    name: 'schema looping through refs',
    yaml: BASE + 'schemas:\n  A: { $ref: "#/schemas/B" }\n  B: { allOf: [{ $ref: "#/schemas/A" }] }\n',
    expect: [
      "EF5007 16:3 schema 'A' refers back to itself without descending into a property or item",
      "EF5007 17:3 schema 'B' refers back to itself without descending into a property or item",
    ],
  },
  {
    name: 'recursive schema through properties is fine',
    yaml:
      BASE.replace(
        'orderId: { type: string }',
        'orderId: { type: string }\n        tree: { $ref: "#/schemas/TreeNode" }',
      ) +
      'schemas:\n  TreeNode:\n    type: object\n    properties: { children: { type: array, items: { $ref: "#/schemas/TreeNode" } } }\n',
    expect: [],
  },

  // ---- EF6xxx: policies -----------------------------------------------------------------------
  {
    name: 'bad duration',
    yaml: BASE.replace('{ event: OrderCreated }', '{ event: OrderCreated, retry: { delay: 5 seconds } }'),
    expect: ["EF6001 14:57 'retry.delay' of handler 'orders.onCreated': '5 seconds' is not a duration"],
  },
  {
    name: 'duration without unit',
    yaml: BASE.replace('{ event: OrderCreated }', '{ event: OrderCreated, retry: { delay: 500 } }'),
    expect: ["EF6001 14:57 'retry.delay' of handler 'orders.onCreated' must be a duration string, got the number 500"],
  },
  {
    name: 'duration too long',
    yaml: BASE.replace('{ event: OrderCreated }', '{ event: OrderCreated, retry: { maxDelay: 30d } }'),
    expect: [
      "EF6002 14:60 'retry.maxDelay' of handler 'orders.onCreated' must be at least 0ms and at most 24d, got '30d'",
    ],
  },
  {
    name: 'zero idempotency window',
    yaml: BASE.replace('{ event: OrderCreated }', '{ event: OrderCreated, idempotency: { window: 0s } }'),
    expect: [
      "EF6002 14:64 'idempotency.window' of handler 'orders.onCreated' must be more than 0 and at most 3650d, got '0s'",
    ],
  },
  {
    name: 'idempotency key not in every consumed event',
    yaml: BASE.replace(
      'services:',
      '  OrderPaid:\n    payload: { type: object, properties: { paymentId: { type: string } } }\nservices:',
    )
      .replace('produces: [OrderCreated]', 'produces: [OrderCreated, OrderPaid]')
      .replace('{ event: OrderCreated }', '{ event: [OrderCreated, OrderPaid], idempotency: { key: orderId } }'),
    expect: [
      "EF6003 16:74 idempotency key 'orderId' of handler 'orders.onCreated' is not a property of the payload of 'OrderPaid'",
    ],
  },
  {
    name: 'idempotency key from defaults',
    yaml: 'defaults: { idempotency: { key: customerId } }\n' + BASE,
    expect: [
      "EF6003 1:33 idempotency key 'customerId' of handler 'orders.onCreated' is not a property of the payload of 'OrderCreated'",
    ],
  },
  {
    name: 'minInsyncReplicas above replicationFactor',
    yaml: 'kafka: { replicationFactor: 1 }\n' + BASE,
    expect: ['EF6004 1:29 kafka.minInsyncReplicas (2) cannot exceed kafka.replicationFactor (1)'],
  },
  {
    name: 'rabbitmq.partitions on a handler of an event without a key',
    yaml: y`
topology: t
events:
  OrderCreated: { payload: { type: object } }
services:
  orders: { produces: [OrderCreated], consumes: { onCreated: { event: OrderCreated, rabbitmq: { partitions: 2 } } } }
`,
    expect: [
      "EF6005 5:109 handler 'orders.onCreated' keeps per-key order over 2 partitions, but event 'OrderCreated' declares no key",
    ],
  },

  // ---- EF9xxx: warnings -----------------------------------------------------------------------
  {
    name: 'not past tense',
    yaml: BASE.replace(/OrderCreated/g, 'CreateOrder'),
    expect: ["EF9001 3:3 event 'CreateOrder' does not look like past tense"],
  },
  { name: 'irregular past participle is past tense', yaml: BASE.replace(/OrderCreated/g, 'EmailSent'), expect: [] },
  {
    name: 'event nobody consumes',
    yaml: BASE.replace('services:', '  OrderPaid: { payload: true }\nservices:').replace(
      'produces: [OrderCreated]',
      'produces: [OrderCreated, OrderPaid]',
    ),
    expect: ["EF9002 10:3 event 'OrderPaid' is not consumed by any service"],
  },
  {
    name: 'consumed event nobody produces',
    yaml: BASE.replace('    produces: [OrderCreated]\n', ''),
    expect: ["EF9003 13:27 handler 'orders.onCreated' consumes 'OrderCreated', which no service produces"],
  },
  {
    name: 'deadLetter false',
    yaml: BASE.replace('{ event: OrderCreated }', '{ event: OrderCreated, deadLetter: false }'),
    expect: ["EF9004 14:53 handler 'orders.onCreated' drops messages whose attempts are spent (deadLetter: false)"],
  },
  {
    name: 'deadLetter false in defaults',
    yaml: 'defaults: { deadLetter: false }\n' + BASE,
    expect: ['EF9004 1:25 dead-lettering is off by default: spent messages are logged and dropped'],
  },
  {
    name: 'idempotency disabled',
    yaml: BASE.replace('{ event: OrderCreated }', '{ event: OrderCreated, idempotency: false }'),
    expect: ["EF9005 14:54 handler 'orders.onCreated' has idempotency disabled"],
  },
  {
    name: 'service that does nothing',
    yaml: BASE + '  idle: {}\n',
    expect: ["EF9006 15:3 service 'idle' neither produces nor consumes any event"],
  },
  {
    name: 'delay above maxDelay',
    yaml: BASE.replace('{ event: OrderCreated }', '{ event: OrderCreated, retry: { delay: 10s, maxDelay: 1s } }'),
    expect: ["EF9007 14:57 retry delay 10s exceeds maxDelay 1s for handler 'orders.onCreated'; every retry waits 1s"],
  },
  {
    name: 'event listed twice',
    yaml: BASE.replace('produces: [OrderCreated]', 'produces: [OrderCreated, OrderCreated]'),
    expect: ["EF9008 12:30 'produces' of service 'orders' lists 'OrderCreated' twice"],
  },
  {
    name: 'strictTypes warning',
    yaml: BASE.replace('      type: object\n', ''),
    expect: [
      'EF9012 6:7 payload of event \'OrderCreated\': strict mode: missing type "object" for keyword "properties" at "#" (strictTypes)',
      'EF9012 6:7 payload of event \'OrderCreated\': strict mode: missing type "object" for keyword "required" at "#" (strictTypes)',
    ],
  },
];
