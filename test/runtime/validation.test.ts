import { describe, expect, it } from 'vitest';
import { assembleEventSchema, compileValidators, validatePayload } from '@eventform/runtime';
import { resolveValidators } from '../../runtime/core/src/validation.js';
import type { ValidateFn } from '@eventform/runtime';
import { topologyFromDocument } from '../../generator/src/spec/index.js';

const topology = topologyFromDocument({
  topology: 'validation-test',
  schemas: {
    Money: {
      type: 'object',
      required: ['amount', 'currency'],
      properties: { amount: { type: 'number', minimum: 0 }, currency: { $ref: '#/schemas/Currency' } },
    },
    Currency: { type: 'string', enum: ['EUR', 'USD'] },
  },
  events: {
    Paid: {
      payload: {
        type: 'object',
        required: ['total', 'at', 'email'],
        properties: {
          total: { $ref: '#/schemas/Money' },
          at: { type: 'string', format: 'date-time' },
          email: { type: 'string', format: 'email' },
        },
      },
    },
    Ping: { payload: true },
  },
  services: { s: { produces: ['Paid', 'Ping'] } },
});

describe('validation', () => {
  it('assembles a self-contained schema with $defs for every (transitive) reference', () => {
    const paid = topology.events.find((e) => e.name === 'Paid')!;
    expect(paid.refs).toEqual(['Currency', 'Money']);
    const schema = assembleEventSchema(topology, paid) as Record<string, unknown>;
    expect(Object.keys(schema['$defs'] as object).sort()).toEqual(['Currency', 'Money']);
  });

  const valid = { total: { amount: 1, currency: 'EUR' }, at: '2025-01-01T00:00:00Z', email: 'a@example.com' };
  it.each([
    ['valid', valid, null],
    ['nested shared schema', { ...valid, total: { amount: -1, currency: 'EUR' } }, ['/total/amount']],
    ['transitive shared schema', { ...valid, total: { amount: 1, currency: 'GBP' } }, ['/total/currency']],
    ['format date-time', { ...valid, at: 'tomorrow' }, ['/at']],
    ['format email', { ...valid, email: 'nope' }, ['/email']],
    ['all errors at once', { at: 'x' }, ['', '', '/at']],
  ])('%s', (_name, payload, paths) => {
    const issues = validatePayload(compileValidators(topology)['Paid']!, payload);
    if (paths === null) expect(issues).toBeNull();
    else expect(issues!.map((i) => i.instancePath).sort()).toEqual(paths);
  });

  it('compiles once per topology object', () => {
    expect(compileValidators(topology)).toBe(compileValidators(topology));
  });

  it('uses given validators and compiles only the missing ones', () => {
    const custom: ValidateFn = Object.assign(() => false, { errors: [{ instancePath: '/x', message: 'custom' }] });
    const merged = resolveValidators(topology, { Paid: custom });
    expect(merged['Paid']).toBe(custom);
    expect(validatePayload(merged['Ping']!, 42)).toBeNull();
    expect(validatePayload(merged['Paid']!, valid)).toEqual([{ instancePath: '/x', message: 'custom' }]);
  });
});
