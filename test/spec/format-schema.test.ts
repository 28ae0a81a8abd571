/** generator/topology.schema.json (draft-07, for editors) agrees with the loader. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { SectionLevel } from '@eventform/runtime';
import { BROKER_SECTIONS } from '../../generator/src/spec/broker-sections.js';
import { FIELDS } from '../../generator/src/spec/read-topology.js';
import { RULES } from './rule-cases.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const formatSchema = JSON.parse(readFileSync(path.join(ROOT, 'generator/topology.schema.json'), 'utf8'));
const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
const validate = ajv.compile(formatSchema);

type Obj = { properties?: Record<string, Obj>; definitions?: Record<string, Obj>; $ref?: string; oneOf?: Obj[] };
const def = (name: string): Obj => (formatSchema as Obj).definitions![name]!;
const propsOf = (o: Obj | undefined): string[] => {
  if (!o) return [];
  if (o.$ref) return propsOf(def(o.$ref.replace('#/definitions/', '')));
  if (o.oneOf) return o.oneOf.flatMap(propsOf);
  return Object.keys(o.properties ?? {});
};

describe('topology.schema.json', () => {
  it('is a valid draft-07 schema under ajv strict mode', () => {
    expect(validate).toBeTypeOf('function');
  });

  it('accepts the root topology.yaml', () => {
    const doc = parse(readFileSync(path.join(ROOT, 'topology.yaml'), 'utf8'));
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
  });

  it('accepts the external-schema fixture', () => {
    const doc = parse(readFileSync(path.join(ROOT, 'test/fixtures/valid/external/topology.yaml'), 'utf8'));
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
  });

  it('accepts every rule case the loader accepts', () => {
    for (const c of RULES.filter((r) => r.expect.every((e) => e.startsWith('EF9')) && r.yaml.trim() !== '')) {
      expect(validate(parse(c.yaml)), `${c.name}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });

  it('rejects every rule case with a structural error', () => {
    const structural = /^EF(2001|2002|2004|2005|2006|3001|3002|3003|3004|3005|4002|6001) /;
    const cases = RULES.filter((r) => r.expect.some((e) => structural.test(e)));
    expect(cases.length).toBeGreaterThan(20);
    for (const c of cases) expect(validate(parse(c.yaml)), c.name).toBe(false);
  });

  it('rejects misspelt fields like the loader does', () => {
    const c = RULES.find((r) => r.name === 'misspelt consumer field')!;
    expect(validate(parse(c.yaml))).toBe(false);
  });

  it('describes exactly the fields the loader accepts', () => {
    const s = formatSchema as Obj;
    const topo = s.properties!;
    expect(Object.keys(topo).sort()).toEqual([...FIELDS.root].sort());
    expect(propsOf(topo.defaults).sort()).toEqual([...FIELDS.defaults].sort());
    expect(propsOf(def('retry')).sort()).toEqual([...FIELDS.retry].sort());
    expect(propsOf(def('idempotency')).sort()).toEqual([...FIELDS.idempotency].sort());
    expect(propsOf(def('event')).sort()).toEqual([...FIELDS.event].sort());
    expect(propsOf(def('service')).sort()).toEqual([...FIELDS.service].sort());
    expect(propsOf(def('consumer')).sort()).toEqual([...FIELDS.consumer].sort());
  });

  it("describes each broker section as its package's field specs do", () => {
    const topo = (formatSchema as Obj).properties!;
    const places = { root: topo, event: def('event').properties!, consumer: def('consumer').properties! };
    expect(BROKER_SECTIONS.map((b) => b.key)).toEqual(['rabbitmq', 'kafka', 'nats']);
    for (const section of BROKER_SECTIONS) {
      for (const [level, props] of Object.entries(places) as [SectionLevel, Record<string, Obj>][]) {
        const fields = section.fields[level];
        const where = `${section.key} at ${level}`;
        if (!fields) {
          expect(props[section.key], where).toBeUndefined();
          continue;
        }
        const schema = props[section.key] as Obj & { additionalProperties?: unknown };
        expect(schema.additionalProperties, where).toBe(false);
        expect(propsOf(schema).sort(), where).toEqual(Object.keys(fields).sort());
        for (const [name, spec] of Object.entries(fields)) {
          const p = schema.properties![name] as Record<string, unknown>;
          const at = `${where}: ${name}`;
          if (spec.type === 'int') expect([p.type, p.minimum, p.maximum], at).toEqual(['integer', spec.min, spec.max]);
          if (spec.type === 'oneOf') expect(p.enum, at).toEqual(spec.values);
          if (spec.type === 'name') expect(p.pattern, at).toBe(spec.pattern.source);
          if (spec.type === 'duration') expect(p.$ref, at).toBe('#/definitions/duration');
          if (spec.type === 'stringMap') expect(p.type, at).toBe('object');
        }
      }
    }
  });

  it('gives every field a description for editor hovers', () => {
    const missing: string[] = [];
    const walk = (o: unknown, at: string) => {
      if (!o || typeof o !== 'object') return;
      const obj = o as Record<string, unknown>;
      if (obj.properties && typeof obj.properties === 'object') {
        for (const [k, v] of Object.entries(obj.properties as Record<string, Record<string, unknown>>)) {
          const hasDoc = typeof v.description === 'string' || typeof v.$ref === 'string';
          if (!hasDoc) missing.push(`${at}.${k}`);
          walk(v, `${at}.${k}`);
        }
      }
      for (const k of ['definitions', 'additionalProperties']) if (obj[k]) walk(obj[k], `${at}.${k}`);
      if (obj.definitions) for (const [k, v] of Object.entries(obj.definitions as object)) walk(v, `#${k}`);
      if (Array.isArray(obj.oneOf)) obj.oneOf.forEach((x, i) => walk(x, `${at}.oneOf${i}`));
    };
    walk(formatSchema, '');
    expect(missing).toEqual([]);
  });

  it('is referenced by the modeline on the first line of topology.yaml', () => {
    const first = readFileSync(path.join(ROOT, 'topology.yaml'), 'utf8').split('\n')[0];
    expect(first).toBe('# yaml-language-server: $schema=./generator/topology.schema.json');
  });
});
