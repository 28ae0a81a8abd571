/**
 * Table-driven tests for every payload compatibility rule. Each row gives an old and a new schema
 * and the exact findings expected per direction, as `RULE pointer` (a trailing `?` marks severity
 * `unknown`). The verdict per mode follows from them and is asserted through `violations()`:
 * backward ok ⇔ no backward finding, forward ok ⇔ no forward finding, full ok ⇔ both, none always.
 * Every row is also run mirrored (new → old): by definition, backward(old, new) and
 * forward(new, old) are the same question, so the verdicts must swap.
 */
import { describe, expect, it } from 'vitest';
import type { JsonSchema } from '../../runtime/core/src/ir.js';
import {
  compareSchemas,
  resolverFromIR,
  violations,
  type Resolvers,
  type SchemaFinding,
} from '../../generator/src/check/schema-compat.js';
import { RULES, type RuleId } from '../../generator/src/check/rules.js';

interface Row {
  name: string;
  old: JsonSchema;
  new: JsonSchema;
  backward: string[];
  forward: string[];
  /** Shared schemas (`#/$defs/<Name>`) of each side. */
  oldDefs?: Record<string, JsonSchema>;
  newDefs?: Record<string, JsonSchema>;
  /** Skip the mirror check (heuristic rules that are deliberately asymmetric). */
  noMirror?: boolean;
}

const obj = (properties: Record<string, JsonSchema>, extra: Record<string, unknown> = {}): JsonSchema => ({
  type: 'object',
  properties,
  ...extra,
});
const S = { type: 'string' } as const;
const node = (properties: Record<string, JsonSchema>): JsonSchema => obj(properties, { additionalProperties: false });
const card = obj({ kind: { const: 'card' }, last4: S }, { required: ['kind', 'last4'] });
const bank = obj({ kind: { const: 'bank' }, iban: S }, { required: ['kind', 'iban'] });
const money = (currencies: string[]): JsonSchema =>
  obj(
    { amount: { type: 'number', minimum: 0 }, currency: { type: 'string', enum: currencies } },
    { required: ['amount', 'currency'] },
  );
const tree = (extra: Record<string, unknown> = {}): JsonSchema =>
  obj({ label: S, children: { type: 'array', items: { $ref: '#/$defs/Tree' } } }, extra);

const ROWS: Row[] = [
  // required / optional
  {
    name: 'required field added',
    old: obj({ a: S }),
    new: obj({ a: S, b: S }, { required: ['b'] }),
    backward: ['EFC101 /properties/b'],
    forward: [],
  },
  {
    name: 'required field removed',
    old: obj({ a: S, b: S }, { required: ['b'] }),
    new: obj({ a: S }),
    backward: [],
    forward: ['EFC102 /properties/b'],
  },
  {
    name: 'optional → required',
    old: obj({ a: S }),
    new: obj({ a: S }, { required: ['a'] }),
    backward: ['EFC103 /properties/a'],
    forward: [],
  },
  {
    name: 'required → optional',
    old: obj({ a: S }, { required: ['a'] }),
    new: obj({ a: S }),
    backward: [],
    forward: ['EFC104 /properties/a'],
  },
  // open and closed objects
  {
    name: 'optional field added to an open object',
    old: obj({ a: S }),
    new: obj({ a: S, b: S }),
    backward: [],
    forward: [],
  },
  {
    name: 'optional field removed from an open object',
    old: obj({ a: S, b: S }),
    new: obj({ a: S }),
    backward: [],
    forward: [],
  },
  {
    name: 'optional field added to a closed object',
    old: obj({ a: S }, { additionalProperties: false }),
    new: obj({ a: S, b: S }, { additionalProperties: false }),
    backward: [],
    forward: ['EFC105 /properties/b'],
  },
  {
    name: 'required field added to a closed object',
    old: obj({ a: S }, { additionalProperties: false }),
    new: obj({ a: S, b: S }, { additionalProperties: false, required: ['b'] }),
    backward: ['EFC101 /properties/b'],
    forward: ['EFC105 /properties/b'],
  },
  {
    name: 'property removed from a closed object',
    old: obj({ a: S, b: S }, { additionalProperties: false }),
    new: obj({ a: S }, { additionalProperties: false }),
    backward: ['EFC106 /properties/b'],
    forward: [],
  },
  {
    name: 'object closed',
    old: obj({ a: S }),
    new: obj({ a: S }, { additionalProperties: false }),
    backward: ['EFC107 /additionalProperties'],
    forward: [],
  },
  {
    name: 'object opened',
    old: obj({ a: S }, { additionalProperties: false }),
    new: obj({ a: S }),
    backward: [],
    forward: ['EFC108 /additionalProperties'],
  },
  {
    name: 'object closed with unevaluatedProperties',
    old: obj({ a: S }),
    new: obj({ a: S }, { unevaluatedProperties: false }),
    backward: ['EFC107 /unevaluatedProperties'],
    forward: [],
  },
  {
    name: 'additionalProperties schema changed',
    old: { type: 'object', additionalProperties: { type: 'string' } },
    new: { type: 'object', additionalProperties: { type: 'integer' } },
    backward: ['EFC110 /additionalProperties/type'],
    forward: ['EFC111 /additionalProperties/type'],
  },
  {
    name: 'declared property must still fit what additionalProperties allowed',
    old: { type: 'object', additionalProperties: { type: 'string' } },
    new: { type: 'object', properties: { b: { type: 'integer' } }, additionalProperties: { type: 'string' } },
    backward: ['EFC110 /properties/b/type'],
    forward: ['EFC111 /properties/b/type'],
  },
  {
    name: 'minProperties raised, maxProperties added',
    old: { type: 'object' },
    new: { type: 'object', minProperties: 1, maxProperties: 5 },
    backward: ['EFC146 /maxProperties', 'EFC146 /minProperties'],
    forward: [],
  },
  {
    name: 'maxProperties removed',
    old: { type: 'object', maxProperties: 5 },
    new: { type: 'object' },
    backward: [],
    forward: ['EFC147 /maxProperties'],
  },
  // types
  {
    name: 'integer → number widens',
    old: { type: 'integer' },
    new: { type: 'number' },
    backward: [],
    forward: ['EFC111 /type'],
  },
  {
    name: 'number → integer narrows',
    old: { type: 'number' },
    new: { type: 'integer' },
    backward: ['EFC110 /type'],
    forward: [],
  },
  {
    name: 'string → integer changes both ways',
    old: { type: 'string' },
    new: { type: 'integer' },
    backward: ['EFC110 /type'],
    forward: ['EFC111 /type'],
  },
  // Any type includes null, so restricting to a type also drops null (and lifting it adds null).
  { name: 'type added', old: {}, new: { type: 'string' }, backward: ['EFC110 /type', 'EFC112 /type'], forward: [] },
  { name: 'type removed', old: { type: 'string' }, new: {}, backward: [], forward: ['EFC111 /type', 'EFC113 /type'] },
  {
    name: 'type array gains a member',
    old: { type: ['string', 'integer'] },
    new: { type: ['string', 'integer', 'boolean'] },
    backward: [],
    forward: ['EFC111 /type'],
  },
  {
    name: 'nullable added via a type array',
    old: { type: 'string' },
    new: { type: ['string', 'null'] },
    backward: [],
    forward: ['EFC113 /type'],
  },
  {
    name: 'nullable removed via a type array',
    old: { type: ['string', 'null'] },
    new: { type: 'string' },
    backward: ['EFC112 /type'],
    forward: [],
  },
  {
    name: 'nullable added via anyOf',
    old: { type: 'string' },
    new: { anyOf: [{ type: 'string' }, { type: 'null' }] },
    backward: [],
    forward: ['EFC113 /anyOf/1'],
  },
  {
    name: 'nullable removed via anyOf',
    old: { anyOf: [{ type: 'string' }, { type: 'null' }] },
    new: { type: 'string' },
    backward: ['EFC112 /anyOf/1'],
    forward: [],
  },
  { name: 'schema became false', old: { type: 'string' }, new: false, backward: ['EFC114 '], forward: [] },
  { name: 'schema was false', old: false, new: { type: 'string' }, backward: [], forward: ['EFC115 '] },
  { name: 'true and {} are the same schema', old: true, new: {}, backward: [], forward: [] },
  // enum and const
  {
    name: 'enum value added',
    old: { type: 'string', enum: ['EUR', 'USD'] },
    new: { type: 'string', enum: ['EUR', 'USD', 'CNY'] },
    backward: [],
    forward: ['EFC121 /enum'],
  },
  {
    name: 'enum value removed',
    old: { type: 'string', enum: ['EUR', 'USD', 'CNY'] },
    new: { type: 'string', enum: ['EUR', 'USD'] },
    backward: ['EFC120 /enum'],
    forward: [],
  },
  {
    name: 'enum reordered',
    old: { enum: ['a', 'b', { x: 1, y: 2 }] },
    new: { enum: [{ y: 2, x: 1 }, 'b', 'a'] },
    backward: [],
    forward: [],
  },
  {
    name: 'enum value swapped',
    old: { type: 'string', enum: ['a', 'b'] },
    new: { type: 'string', enum: ['a', 'c'] },
    backward: ['EFC120 /enum'],
    forward: ['EFC121 /enum'],
  },
  {
    name: 'enum added',
    old: { type: 'string' },
    new: { type: 'string', enum: ['a'] },
    backward: ['EFC122 /enum'],
    forward: [],
  },
  {
    name: 'enum removed',
    old: { type: 'string', enum: ['a'] },
    new: { type: 'string' },
    backward: [],
    forward: ['EFC123 /enum'],
  },
  {
    name: 'const added',
    old: { type: 'string' },
    new: { type: 'string', const: 'a' },
    backward: ['EFC124 /const'],
    forward: [],
  },
  {
    name: 'const removed',
    old: { type: 'string', const: 'a' },
    new: { type: 'string' },
    backward: [],
    forward: ['EFC125 /const'],
  },
  {
    name: 'const changed',
    old: { const: 'a' },
    new: { const: 'b' },
    backward: ['EFC126 /const'],
    forward: ['EFC126 /const'],
  },
  {
    name: 'const → enum that contains it',
    old: { const: 'a' },
    new: { enum: ['a', 'b'] },
    backward: [],
    forward: ['EFC121 /enum'],
  },
  // numbers
  {
    name: 'minimum raised',
    old: { type: 'number', minimum: 0 },
    new: { type: 'number', minimum: 1 },
    backward: ['EFC130 /minimum'],
    forward: [],
  },
  {
    name: 'minimum lowered',
    old: { type: 'number', minimum: 1 },
    new: { type: 'number', minimum: 0 },
    backward: [],
    forward: ['EFC131 /minimum'],
  },
  {
    name: 'minimum added',
    old: { type: 'number' },
    new: { type: 'number', minimum: 0 },
    backward: ['EFC130 /minimum'],
    forward: [],
  },
  {
    name: 'minimum removed',
    old: { type: 'number', minimum: 0 },
    new: { type: 'number' },
    backward: [],
    forward: ['EFC131 /minimum'],
  },
  {
    name: 'maximum lowered',
    old: { type: 'number', maximum: 10 },
    new: { type: 'number', maximum: 9 },
    backward: ['EFC130 /maximum'],
    forward: [],
  },
  {
    name: 'maximum raised',
    old: { type: 'number', maximum: 9 },
    new: { type: 'number', maximum: 10 },
    backward: [],
    forward: ['EFC131 /maximum'],
  },
  {
    name: 'minimum → exclusiveMinimum at the same value tightens',
    old: { type: 'number', minimum: 0 },
    new: { type: 'number', exclusiveMinimum: 0 },
    backward: ['EFC130 /exclusiveMinimum'],
    forward: [],
  },
  {
    name: 'exclusiveMaximum → maximum at the same value loosens',
    old: { type: 'number', exclusiveMaximum: 10 },
    new: { type: 'number', maximum: 10 },
    backward: [],
    forward: ['EFC131 /maximum'],
  },
  {
    name: 'integer exclusiveMinimum 0 ≡ minimum 1',
    old: { type: 'integer', exclusiveMinimum: 0 },
    new: { type: 'integer', minimum: 1 },
    backward: [],
    forward: [],
  },
  {
    name: 'number exclusiveMinimum 0 ≢ minimum 1',
    old: { type: 'number', exclusiveMinimum: 0 },
    new: { type: 'number', minimum: 1 },
    backward: ['EFC130 /minimum'],
    forward: [],
  },
  {
    name: 'range shifted: narrowed below, widened above',
    old: { type: 'number', minimum: 0, maximum: 10 },
    new: { type: 'number', minimum: 5, maximum: 20 },
    backward: ['EFC130 /minimum'],
    forward: ['EFC131 /maximum'],
  },
  {
    name: 'multipleOf added',
    old: { type: 'number' },
    new: { type: 'number', multipleOf: 2 },
    backward: ['EFC132 /multipleOf'],
    forward: [],
  },
  {
    name: 'multipleOf removed',
    old: { type: 'number', multipleOf: 2 },
    new: { type: 'number' },
    backward: [],
    forward: ['EFC133 /multipleOf'],
  },
  {
    name: 'multipleOf 2 → 4 narrows',
    old: { type: 'number', multipleOf: 2 },
    new: { type: 'number', multipleOf: 4 },
    backward: ['EFC132 /multipleOf'],
    forward: [],
  },
  {
    name: 'multipleOf 0.01 → 0.005 widens',
    old: { type: 'number', multipleOf: 0.01 },
    new: { type: 'number', multipleOf: 0.005 },
    backward: [],
    forward: ['EFC133 /multipleOf'],
  },
  {
    name: 'multipleOf 2 → 3 changes both ways',
    old: { type: 'number', multipleOf: 2 },
    new: { type: 'number', multipleOf: 3 },
    backward: ['EFC132 /multipleOf'],
    forward: ['EFC133 /multipleOf'],
  },
  // strings
  {
    name: 'minLength raised',
    old: { type: 'string' },
    new: { type: 'string', minLength: 1 },
    backward: ['EFC134 /minLength'],
    forward: [],
  },
  {
    name: 'minLength lowered',
    old: { type: 'string', minLength: 2 },
    new: { type: 'string', minLength: 1 },
    backward: [],
    forward: ['EFC135 /minLength'],
  },
  {
    name: 'maxLength added',
    old: { type: 'string' },
    new: { type: 'string', maxLength: 64 },
    backward: ['EFC134 /maxLength'],
    forward: [],
  },
  {
    name: 'maxLength raised',
    old: { type: 'string', maxLength: 64 },
    new: { type: 'string', maxLength: 128 },
    backward: [],
    forward: ['EFC135 /maxLength'],
  },
  {
    name: 'pattern added',
    old: { type: 'string' },
    new: { type: 'string', pattern: '^[A-Z]+$' },
    backward: ['EFC136 /pattern'],
    forward: [],
  },
  {
    name: 'pattern removed',
    old: { type: 'string', pattern: '^[A-Z]+$' },
    new: { type: 'string' },
    backward: [],
    forward: ['EFC137 /pattern'],
  },
  {
    name: 'pattern changed',
    old: { type: 'string', pattern: '^[A-Z]+$' },
    new: { type: 'string', pattern: '^[A-Z0-9]+$' },
    backward: ['EFC138 /pattern'],
    forward: ['EFC138 /pattern'],
  },
  {
    name: 'format added',
    old: { type: 'string' },
    new: { type: 'string', format: 'email' },
    backward: ['EFC139 /format'],
    forward: [],
  },
  {
    name: 'format removed',
    old: { type: 'string', format: 'email' },
    new: { type: 'string' },
    backward: [],
    forward: ['EFC140 /format'],
  },
  {
    name: 'format changed',
    old: { type: 'string', format: 'date' },
    new: { type: 'string', format: 'date-time' },
    backward: ['EFC141 /format'],
    forward: ['EFC141 /format'],
  },
  {
    name: 'string keywords do not matter once strings are gone',
    old: { type: ['string', 'integer'], minLength: 3 },
    new: { type: 'integer' },
    backward: ['EFC110 /type'],
    forward: [],
  },
  // arrays
  {
    name: 'array items type widened',
    old: { type: 'array', items: { type: 'integer' } },
    new: { type: 'array', items: { type: 'number' } },
    backward: [],
    forward: ['EFC111 /items/type'],
  },
  {
    name: 'array items gain a required field',
    old: { type: 'array', items: obj({ sku: S }) },
    new: { type: 'array', items: obj({ sku: S, qty: { type: 'integer' } }, { required: ['qty'] }) },
    backward: ['EFC101 /items/properties/qty'],
    forward: [],
  },
  {
    name: 'minItems raised',
    old: { type: 'array' },
    new: { type: 'array', minItems: 1 },
    backward: ['EFC142 /minItems'],
    forward: [],
  },
  {
    name: 'minItems lowered',
    old: { type: 'array', minItems: 1 },
    new: { type: 'array' },
    backward: [],
    forward: ['EFC143 /minItems'],
  },
  {
    name: 'maxItems lowered',
    old: { type: 'array', maxItems: 10 },
    new: { type: 'array', maxItems: 5 },
    backward: ['EFC142 /maxItems'],
    forward: [],
  },
  {
    name: 'maxItems removed',
    old: { type: 'array', maxItems: 10 },
    new: { type: 'array' },
    backward: [],
    forward: ['EFC143 /maxItems'],
  },
  {
    name: 'uniqueItems added',
    old: { type: 'array' },
    new: { type: 'array', uniqueItems: true },
    backward: ['EFC144 /uniqueItems'],
    forward: [],
  },
  {
    name: 'uniqueItems removed',
    old: { type: 'array', uniqueItems: true },
    new: { type: 'array' },
    backward: [],
    forward: ['EFC145 /uniqueItems'],
  },
  {
    name: 'tuple position changed (prefixItems)',
    old: { type: 'array', prefixItems: [S, { type: 'integer' }], items: false },
    new: { type: 'array', prefixItems: [S, { type: 'number' }], items: false },
    backward: [],
    forward: ['EFC111 /prefixItems/1/type'],
  },
  {
    name: 'tuple grew into a closed rest',
    old: { type: 'array', prefixItems: [S], items: false },
    new: { type: 'array', prefixItems: [S, S], items: false },
    backward: [],
    forward: ['EFC115 /prefixItems/1'],
  },
  // nesting and $ref
  {
    name: 'nested objects',
    old: obj({ total: obj({ currency: { type: 'string', enum: ['EUR', 'USD'] } }) }),
    new: obj({ total: obj({ currency: { type: 'string', enum: ['EUR'] } }) }),
    backward: ['EFC120 /properties/total/properties/currency/enum'],
    forward: [],
  },
  {
    name: '$ref followed into shared schemas on both sides',
    old: obj({ total: { $ref: '#/$defs/Money' } }),
    new: obj({ total: { $ref: '#/$defs/Money' } }),
    oldDefs: { Money: money(['EUR', 'USD', 'CNY']) },
    newDefs: { Money: money(['EUR', 'USD']) },
    backward: ['EFC120 /properties/total/properties/currency/enum'],
    forward: [],
  },
  {
    name: 'inline schema moved into a shared schema',
    old: obj({ total: money(['EUR']) }),
    new: obj({ total: { $ref: '#/$defs/Price' } }),
    newDefs: { Price: money(['EUR']) },
    backward: [],
    forward: [],
  },
  {
    name: 'ref chain to a renamed shared schema',
    old: obj({ total: { $ref: '#/$defs/Money' } }),
    new: obj({ total: { $ref: '#/$defs/Amount' } }),
    oldDefs: { Money: money(['EUR']) },
    newDefs: { Amount: { $ref: '#/$defs/Money' }, Money: money(['EUR', 'USD']) },
    backward: [],
    forward: ['EFC121 /properties/total/properties/currency/enum'],
  },
  {
    name: 'recursive schema (cycle protection)',
    old: { $ref: '#/$defs/Tree' },
    new: { $ref: '#/$defs/Tree' },
    oldDefs: { Tree: tree() },
    newDefs: { Tree: tree({ required: ['label'] }) },
    backward: ['EFC103 /properties/label'],
    forward: [],
  },
  {
    name: 'unchanged recursive schema',
    old: { $ref: '#/$defs/Tree' },
    new: { $ref: '#/$defs/Tree' },
    oldDefs: { Tree: tree() },
    newDefs: { Tree: tree() },
    backward: [],
    forward: [],
  },
  {
    name: 'recursive anyOf with closed branches (bounded nested proofs)',
    old: { $ref: '#/$defs/T' },
    new: { $ref: '#/$defs/T' },
    oldDefs: { T: { anyOf: [{ type: 'null' }, node({ kids: { type: 'array', items: { $ref: '#/$defs/T' } } })] } },
    newDefs: {
      T: {
        anyOf: [
          { type: 'null' },
          node({ kids: { type: 'array', items: { $ref: '#/$defs/T' } }, x: S }),
          node({ next: { $ref: '#/$defs/T' } }),
        ],
      },
    },
    backward: [],
    forward: ['EFC150 /anyOf/1?', 'EFC150 /anyOf/2?'],
  },
  {
    name: 'unresolvable $ref',
    old: obj({ a: { $ref: '#/$defs/Gone' } }),
    new: obj({ a: { $ref: '#/$defs/Gone' } }),
    backward: ['EFC160 /properties/a/$ref?'],
    forward: ['EFC160 /properties/a/$ref?'],
  },
  {
    name: 'allOf composition folds into its parent',
    old: obj({ id: S, at: S }, { required: ['id', 'at'] }),
    new: { allOf: [{ $ref: '#/$defs/Base' }, obj({ at: S }, { required: ['at'] })] },
    newDefs: { Base: obj({ id: S }, { required: ['id'] }) },
    backward: [],
    forward: [],
  },
  // oneOf / anyOf
  {
    name: 'oneOf branch added (disjoint discriminator)',
    old: { oneOf: [card] },
    new: { oneOf: [card, bank] },
    backward: [],
    forward: ['EFC150 /oneOf/1'],
  },
  {
    name: 'oneOf branch removed (disjoint discriminator)',
    old: { oneOf: [card, bank] },
    new: { oneOf: [card] },
    backward: ['EFC151 /oneOf/1'],
    forward: [],
  },
  {
    name: 'oneOf branch changed in place',
    old: { oneOf: [card, bank] },
    new: {
      oneOf: [obj({ kind: { const: 'card' }, last4: S, brand: S }, { required: ['kind', 'last4', 'brand'] }), bank],
    },
    backward: ['EFC101 /oneOf/0/properties/brand'],
    forward: [],
  },
  {
    name: 'oneOf branches reordered',
    old: { oneOf: [card, bank] },
    new: { oneOf: [bank, card] },
    backward: [],
    forward: [],
  },
  {
    name: 'anyOf branch added that may overlap',
    old: { anyOf: [{ type: 'string', maxLength: 5 }] },
    new: {
      anyOf: [
        { type: 'string', maxLength: 5 },
        { type: 'string', pattern: '^a' },
      ],
    },
    backward: [],
    forward: ['EFC150 /anyOf/1?'],
  },
  {
    name: 'anyOf branch added that is subsumed',
    old: { anyOf: [{ type: 'string' }, { type: 'integer' }] },
    new: { anyOf: [{ type: 'string' }, { type: 'integer' }, { type: 'string', maxLength: 3 }] },
    backward: [],
    forward: [],
  },
  {
    name: 'oneOf branch added that may overlap',
    old: { oneOf: [{ type: 'string', maxLength: 5 }, { type: 'integer' }] },
    new: { oneOf: [{ type: 'string', maxLength: 5 }, { type: 'integer' }, { type: 'string', pattern: '^a' }] },
    backward: ['EFC150 /oneOf/2?'],
    forward: ['EFC150 /oneOf/2?'],
  },
  {
    name: 'anyOf branch removed that may overlap',
    old: {
      anyOf: [
        { type: 'string', maxLength: 5 },
        { type: 'string', pattern: '^a' },
      ],
    },
    new: { anyOf: [{ type: 'string', maxLength: 5 }] },
    backward: ['EFC151 /anyOf/1?'],
    forward: [],
  },
  {
    name: 'anyOf added to a plain schema (only restricts)',
    old: { type: 'object' },
    new: { type: 'object', anyOf: [{ required: ['a'] }, { required: ['b'] }] },
    backward: ['EFC152 /anyOf?'],
    forward: [],
  },
  {
    name: 'oneOf removed (only relaxes)',
    old: { type: 'object', oneOf: [{ required: ['a'] }, { required: ['b'] }] },
    new: { type: 'object' },
    backward: [],
    forward: ['EFC153 /oneOf?'],
  },
  {
    name: 'allOf member added that cannot fold',
    old: { allOf: [obj({ a: S }, { additionalProperties: false })] },
    new: { allOf: [obj({ a: S }, { additionalProperties: false }), { required: ['a'] }] },
    backward: ['EFC152 /allOf/1?'],
    forward: [],
  },
  // keywords compared only for equality
  {
    name: 'not added',
    old: { type: 'string' },
    new: { type: 'string', not: { const: 'x' } },
    backward: ['EFC152 /not?'],
    forward: [],
  },
  {
    name: 'not removed',
    old: { type: 'string', not: { const: 'x' } },
    new: { type: 'string' },
    backward: [],
    forward: ['EFC153 /not?'],
  },
  {
    name: 'not changed',
    old: { type: 'string', not: { const: 'x' } },
    new: { type: 'string', not: { const: 'y' } },
    backward: ['EFC199 /not?'],
    forward: ['EFC199 /not?'],
  },
  {
    name: 'if/then added',
    old: obj({ a: S }),
    new: obj({ a: S }, { if: { required: ['a'] }, then: { required: ['b'] } }),
    backward: ['EFC152 /if?'],
    forward: [],
  },
  {
    name: 'unmodelled keyword changed',
    old: { type: 'object', patternProperties: { '^x-': S } },
    new: { type: 'object', patternProperties: { '^x-': { type: 'integer' } } },
    backward: ['EFC199 /patternProperties?'],
    forward: ['EFC199 /patternProperties?'],
  },
  {
    name: 'annotations never matter',
    old: { type: 'string', description: 'a', title: 'A', examples: ['x'], default: 'x', deprecated: false },
    new: { type: 'string', description: 'b', title: 'B', examples: ['y'], default: 'y', deprecated: true },
    backward: [],
    forward: [],
  },
];

function resolvers(row: Pick<Row, 'oldDefs' | 'newDefs'>): Resolvers {
  const side = (defs: Record<string, JsonSchema> = {}) =>
    resolverFromIR({
      schemas: Object.entries(defs).map(([name, schema]) => ({
        name,
        schema,
        origin: 'inline',
        loc: { file: 't.yaml', line: 1, col: 1 },
      })),
    });
  return { old: side(row.oldDefs), new: side(row.newDefs) };
}

const label = (f: SchemaFinding): string => `${f.rule} ${f.pointer}${f.severity === 'unknown' ? '?' : ''}`;
const labels = (fs: SchemaFinding[]): string[] => fs.map(label).sort();

describe('payload compatibility rules', () => {
  it.each(ROWS)('$name', (row) => {
    const findings = compareSchemas(row.old, row.new, resolvers(row));
    expect(labels(findings.filter((f) => f.direction === 'backward'))).toEqual([...row.backward].sort());
    expect(labels(findings.filter((f) => f.direction === 'forward'))).toEqual([...row.forward].sort());

    const backwardOk = row.backward.length === 0;
    const forwardOk = row.forward.length === 0;
    expect(violations(findings, 'backward').length === 0).toBe(backwardOk);
    expect(violations(findings, 'forward').length === 0).toBe(forwardOk);
    expect(violations(findings, 'full').length === 0).toBe(backwardOk && forwardOk);
    expect(violations(findings, 'none')).toEqual([]);

    for (const f of findings) {
      expect(f.name).toBe(RULES[f.rule].name);
      expect(f.message).toMatch(
        f.direction === 'backward' ? /new consumers would reject/ : /old consumers would reject/,
      );
    }
  });

  it.each(ROWS.filter((r) => !r.noMirror))('mirrored: $name', (row) => {
    const mirrored = compareSchemas(row.new, row.old, resolvers({ oldDefs: row.newDefs, newDefs: row.oldDefs }));
    expect(violations(mirrored, 'backward').length === 0).toBe(row.forward.length === 0);
    expect(violations(mirrored, 'forward').length === 0).toBe(row.backward.length === 0);
  });

  it('covers every payload rule with at least one row', () => {
    const seen = new Set<string>();
    for (const row of ROWS) for (const l of [...row.backward, ...row.forward]) seen.add(l.split(' ')[0]!);
    const payloadRules = (Object.keys(RULES) as RuleId[]).filter((id) => RULES[id].step === 'compatibility');
    expect(payloadRules.filter((id) => !seen.has(id))).toEqual([]);
  });

  it('names the shared schema a change sits in', () => {
    const row = ROWS.find((r) => r.name.startsWith('$ref followed'))!;
    const [f] = compareSchemas(row.old, row.new, resolvers(row));
    expect(f?.sharedSchema).toBe('Money');
    expect(f?.message).toContain("'CNY'".replace(/'/g, '"'));
  });

  it('states directions per the documented definitions', () => {
    const [f] = compareSchemas({ type: 'integer' }, { type: 'number' }, resolvers({}));
    expect(f).toMatchObject({ direction: 'forward', severity: 'break', name: 'type-widened' });
    expect(f?.message).toContain('non-integer numbers are now accepted');
  });
});
