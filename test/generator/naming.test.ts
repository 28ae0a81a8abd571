/** The naming module: conversions, escaping, renames and collisions (table-driven). */
import { describe, expect, it } from 'vitest';
import {
  assignNames,
  camelCase,
  escapeComment,
  escapeLineComment,
  GenerateError,
  isSafeIdentifier,
  pascalCase,
  propertyKey,
  quote,
} from '../../generator/src/naming.js';
import { loadValid } from './support/cases.js';

describe('case conversion', () => {
  it.each([
    ['order-service', 'OrderService', 'orderService'],
    ['cancelOrder', 'CancelOrder', 'cancelOrder'],
    ['OrderCreated', 'OrderCreated', 'orderCreated'],
    ['event-map', 'EventMap', 'eventMap'],
    ['order_line.v2', 'OrderLineV2', 'orderLineV2'],
    ['a1-b2', 'A1B2', 'a1B2'],
  ])('%s → %s / %s', (input, pascal, camel) => {
    expect(pascalCase(input)).toBe(pascal);
    expect(camelCase(input)).toBe(camel);
  });
});

describe('escaping', () => {
  it.each([
    ['closes */ a comment', 'closes *\\/ a comment'],
    ['a\r\nb', 'a\nb'],
    ['trailing   \nspace', 'trailing\nspace'],
    ['bell\u0007 and \u2028 separator', 'bell and  separator'],
    ['`backticks` and ${template}', '`backticks` and ${template}'],
  ])('escapeComment(%j)', (input, expected) => {
    expect(escapeComment(input)).toBe(expected);
  });

  it('escapeLineComment keeps one line', () => {
    expect(escapeLineComment('one\ntwo */')).toBe('one two *\\/');
  });

  it.each([
    ["it's", '"it\'s"'],
    [`'"'`, String.raw`"'\"'"`],
    ['back\\slash', "'back\\\\slash'"],
    ['line\nbreak', "'line\\nbreak'"],
    ['\u2028', "'\\u2028'"],
    ['${x} `y`', "'${x} `y`'"],
  ])('quote(%j) is a valid literal for the same string', (input, expected) => {
    expect(quote(input)).toBe(expected);
    expect(new Function(`return ${quote(input)};`)()).toBe(input);
  });

  it.each([
    ['delete', 'delete'],
    ['content-type', "'content-type'"],
    ['__proto__', "'__proto__'"],
    ['a b', "'a b'"],
  ])('propertyKey(%j) = %s', (input, expected) => {
    expect(propertyKey(input)).toBe(expected);
  });

  it.each([
    ['OrderCreated', true],
    ['default', false],
    ['class', false],
    ['unknown', false],
    ['1abc', false],
    ['a-b', false],
  ])('isSafeIdentifier(%j) = %s', (input, expected) => {
    expect(isSafeIdentifier(input)).toBe(expected);
  });
});

const topology = (events: string[], services: string, schemas = ''): string =>
  [
    'topology: naming',
    'version: 1',
    schemas ? `schemas:\n${schemas}` : '',
    'events:',
    ...events.map((e) => `  ${e}: { payload: { type: object } }`),
    'services:',
    services,
    '',
  ]
    .filter((l) => l !== '')
    .join('\n');

describe('assignNames', () => {
  it("names a schema file's definitions after themselves, qualified by the file only when the name is wanted twice", () => {
    const names = assignNames(loadValid('test/fixtures/generator/partner/topology.yaml'));
    expect(Object.fromEntries(names.schemaType)).toEqual({
      Common: 'Common',
      'Common.Timestamp': 'Timestamp',
      Money: 'Money', // the topology's own keeps its name
      Payment: 'Payment',
      'Payment.Category': 'Category',
      'Payment.Currency': 'Currency',
      'Payment.Money': 'PaymentMoney', // wanted by the inline Money too
      'Payment.line-item': 'LineItem',
    });
    expect(names.renames.filter((r) => r.kind === 'schema').map((r) => [r.from, r.to])).toEqual([
      ['Payment.Money', 'PaymentMoney'],
      ['Payment.line-item', 'LineItem'],
    ]);
  });

  it('renames events and schemas that shadow globals or generated names, and records why', () => {
    const ir = loadValid(
      'naming.yaml',
      topology(
        ['Record', 'Promise', 'EventMap', 'Runtime', 'OrderCreated'],
        '  event-map: { produces: [Record, Promise, EventMap, Runtime, OrderCreated] }',
        '  Date: { type: string }\n  Money: { type: number }',
      ),
    );
    const names = assignNames(ir);
    expect(Object.fromEntries(names.eventType)).toEqual({
      EventMap: 'EventMapEvent',
      OrderCreated: 'OrderCreated',
      Promise: 'PromiseEvent',
      Record: 'RecordEvent',
      Runtime: 'RuntimeEvent',
    });
    expect(Object.fromEntries(names.schemaType)).toEqual({ Date: 'DateSchema', Money: 'Money' });
    expect(names.renames).toEqual(
      expect.arrayContaining([
        { kind: 'event', from: 'Record', to: 'RecordEvent', reason: 'it would shadow the global `Record`' },
        { kind: 'event', from: 'EventMap', to: 'EventMapEvent', reason: '`EventMap` is a name eventform generates' },
        { kind: 'schema', from: 'Date', to: 'DateSchema', reason: 'it would shadow the global `Date`' },
      ]),
    );
    const svc = names.services.get('event-map')!;
    expect([svc.produces, svc.handlers, svc.context, svc.createProducer, svc.register, svc.start]).toEqual([
      'EventMapProduces',
      'EventMapHandlers',
      'EventMapContext',
      'createEventMapProducer',
      'registerEventMap',
      'startEventMap',
    ]);
    expect(names.runtimeFactory).toBe('createNamingRuntime');
  });

  it('keeps producer methods clear of the producer’s own members', () => {
    const ir = loadValid(
      'naming.yaml',
      topology(
        ['Publish', 'Service', 'Then', 'Constructor'],
        '  svc: { produces: [Publish, Service, Then, Constructor] }',
      ),
    );
    expect(Object.fromEntries(assignNames(ir).eventMethod)).toEqual({
      Constructor: 'constructorEvent',
      Publish: 'publishEvent',
      Service: 'serviceEvent',
      Then: 'thenEvent',
    });
  });

  it.each([
    [
      'an event renamed onto another event',
      topology(['Record', 'RecordEvent'], '  svc: { produces: [Record, RecordEvent] }'),
      /event RecordEvent and event Record \(naming\.yaml:\d+:\d+\) would both be generated as `RecordEvent`/,
    ],
    [
      'an event named like a per-service identifier',
      topology(['OrderServiceProduces'], '  order-service: { produces: [OrderServiceProduces] }'),
      /the produced-events union of service order-service and event OrderServiceProduces .* would both be generated as `OrderServiceProduces`/,
    ],
    [
      'a handler envelope type named like an event',
      topology(
        ['OrderShippedEvent'],
        '  order: { produces: [OrderShippedEvent], consumes: { shipped: { event: OrderShippedEvent } } }',
      ),
      /the envelope type of handler order\.shipped and event OrderShippedEvent .* would both be generated as `OrderShippedEvent`/,
    ],
  ])('throws EF8002 for %s, with the source location', (_label, text, message) => {
    let error: unknown;
    try {
      assignNames(loadValid('naming.yaml', text));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(GenerateError);
    const e = error as GenerateError;
    expect(e.code).toBe('EF8002');
    expect(e.loc?.file).toBe('naming.yaml');
    expect(e.message).toMatch(message);
  });
});
