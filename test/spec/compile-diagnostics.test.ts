/**
 * The schema check predicts what compiling an example-less payload would report instead of
 * compiling it (generator/spec/compile-diagnostics.ts). It must be indistinguishable from
 * compiling: these tests run the check both ways over hand-picked and randomly generated
 * topologies and require identical diagnostics.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CompileDiagnostics } from '../../generator/src/spec/compile-diagnostics.js';
import { DiagnosticSink, type Diagnostic } from '../../generator/src/spec/diagnostics.js';
import { readTopology } from '../../generator/src/spec/read-topology.js';
import { checkSchemas } from '../../generator/src/spec/schema-check.js';
import { SchemaResolver, type ResolvedSchema } from '../../generator/src/spec/schema-refs.js';
import { parseYamlTree } from '../../generator/src/spec/yaml-tree.js';

const FILE = '/virtual/t.yaml';

/** The schema-check stage alone, with or without predictions. */
function check(text: string, predict: boolean): Diagnostic[] {
  const sink = new DiagnosticSink();
  const tree = parseYamlTree(FILE, text, sink);
  if (!tree) throw new Error(`bad YAML: ${JSON.stringify(sink.sorted())}`);
  const raw = readTopology(FILE, tree, sink);
  if (!raw) throw new Error(`bad topology: ${JSON.stringify(sink.sorted())}`);
  const resolver = new SchemaResolver(FILE, sink, new Set(raw.schemas.map((s) => s.name)), () => {
    throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
  });
  resolver.addInline(raw.schemas);
  const payloads = new Map<string, ResolvedSchema & { refs: string[] }>();
  for (const e of raw.events) {
    if (!e.payload) continue;
    const r = resolver.resolvePayload(e.payload);
    payloads.set(e.name, { ...r, refs: resolver.closure(r.deps) });
  }
  checkSchemas(raw, resolver, payloads, sink, { predict });
  return sink.sorted();
}

/** Diagnostics both ways, and how many payloads were answered by a prediction. */
function bothWays(text: string): { predicted: Diagnostic[]; compiled: Diagnostic[]; hits: number } {
  const spy = vi.spyOn(CompileDiagnostics.prototype, 'predict');
  const predicted = check(text, true);
  const hits = spy.mock.results.filter((r) => r.type === 'return' && r.value !== undefined).length;
  spy.mockRestore();
  return { predicted, compiled: check(text, false), hits };
}

function topology(
  schemas: Record<string, unknown>,
  events: Record<string, { payload: unknown; examples?: unknown[] }>,
) {
  const lines = ['topology: t'];
  if (Object.keys(schemas).length > 0) {
    lines.push('schemas:');
    for (const [name, s] of Object.entries(schemas)) lines.push(`  ${name}: ${JSON.stringify(s)}`);
  }
  lines.push('events:');
  for (const [name, e] of Object.entries(events)) lines.push(`  ${name}: ${JSON.stringify(e)}`);
  return lines.join('\n') + '\n';
}

afterEach(() => vi.restoreAllMocks());

describe('predicted compile diagnostics', () => {
  it('match compiling, warnings in shared schemas included', () => {
    const text = topology(
      {
        Loose: {
          required: ['a'],
          properties: { a: { type: 'string', format: 'nope' }, n: { type: ['string', 'number'] } },
        },
        Tree: { type: 'object', properties: { kids: { type: 'array', items: { $ref: '#/schemas/Tree' } } } },
        Money: { type: 'object', properties: { amount: { type: 'number', minimum: 0 } } },
        Wrap: { allOf: [{ $ref: '#/schemas/Money' }], properties: { extra: { maximum: 3 } } },
        Alias: { $ref: '#/schemas/Loose' },
        Broken: { type: 'object', id: 'x' },
      },
      {
        APlaced: {
          payload: { type: 'object', properties: { l: { $ref: '#/schemas/Loose' }, w: { $ref: '#/schemas/Wrap' } } },
        },
        BPlaced: { payload: { $ref: '#/schemas/Alias' } },
        CPlaced: {
          payload: { type: 'object', properties: { t: { $ref: '#/schemas/Tree' }, m: { $ref: '#/schemas/Money' } } },
        },
        DPlaced: { payload: { type: 'object', properties: { b: { $ref: '#/schemas/Broken' } } } },
        EPlaced: { payload: { properties: { x: { type: 'string' } } } },
        FPlaced: {
          payload: { type: 'object', properties: { l: { $ref: '#/schemas/Loose' } } },
          examples: [{ l: { a: 1 } }],
        },
      },
    );
    const { predicted, compiled, hits } = bothWays(text);
    expect(predicted).toEqual(compiled);
    expect(hits).toBe(3); // A, B, C; D reaches a schema that does not compile, E is not quiet, F has examples
    expect(compiled.filter((d) => d.code === 'EF9012').length).toBeGreaterThan(8);
    expect(compiled.some((d) => d.code === 'EF5001' && d.message.includes("'DPlaced' does not compile"))).toBe(true);
  });

  it('match compiling for every construct ajv complains about, in an otherwise clean payload', () => {
    const odd: unknown[] = [
      { type: 'object', propertyNames: { type: 'number' } },
      { type: 'object', not: { type: 'string' } },
      { type: 'object', allOf: [{ type: 'string' }] },
      { type: 'object', anyOf: [{ minimum: 1 }] },
      { type: 'object', oneOf: [{ type: 'array' }] },
      { type: 'object', if: { minLength: 1 }, then: { required: ['x'] } },
      { type: 'object', dependentSchemas: { x: { type: 'string' } } },
      { type: 'object', unevaluatedProperties: { type: 'string', minimum: 1 } },
      { type: 'string', nullable: true },
      { nullable: true },
      { type: ['string', 'number'] },
      { type: 'string', id: 'legacy' },
      { type: 'string', format: 'not-a-format' },
      { type: 'object', format: 'email' },
      { properties: { x: { type: 'string' } } },
      { type: 'string', minimum: 1 },
      { type: 'integer', maxLength: 1 },
      { minContains: 1 },
      { type: 'object', contains: { type: 'string' } },
      { type: 'array', items: { required: ['x'] } },
      { type: 'object', patternProperties: { '^x': { minItems: 1 } } },
      { type: 'object', additionalProperties: { uniqueItems: true } },
      { type: 'array', prefixItems: [{ exclusiveMinimum: 1 }] },
      { $ref: '#/schemas/Quiet', maximum: 3 },
      { type: 'string', 'x-custom': 1 },
    ];
    const events: Record<string, { payload: unknown }> = {};
    odd.forEach((schema, i) => {
      events[`Event${i}Placed`] = { payload: { type: 'object', properties: { ok: { type: 'string' }, odd: schema } } };
    });
    const { predicted, compiled, hits } = bothWays(topology({ Quiet: { type: 'object' } }, events));
    expect(predicted).toEqual(compiled);
    // Nearly all are something ajv reports (a warning or an error); the two it accepts silently
    // are outside what predictions cover, so they are compiled too.
    const reported = new Set(compiled.map((d) => /event '(\w+)'/.exec(d.message)?.[1]));
    expect(odd.filter((_, i) => !reported.has(`Event${i}Placed`))).toEqual([
      { type: 'string', nullable: true },
      { type: 'string', 'x-custom': 1 },
    ]);
    expect(hits).toBe(0);
  });

  it('match compiling when the diagnostic cap is reached', () => {
    const events: Record<string, { payload: unknown }> = {};
    for (let i = 0; i < 220; i++) {
      events[`E${String(i).padStart(3, '0')}Placed`] = {
        payload: { type: 'object', properties: { l: { $ref: '#/schemas/Loose' } } },
      };
    }
    const text = topology({ Loose: { required: ['a'], properties: { a: { minLength: 1 } } } }, events);
    const { predicted, compiled, hits } = bothWays(text);
    expect(compiled.at(-1)?.code).toBe('EF9014');
    expect(predicted).toEqual(compiled);
    expect(hits).toBeGreaterThan(100);
  });

  it('match compiling on randomly generated topologies', () => {
    let hits = 0;
    for (let seed = 1; seed <= 120; seed++) {
      const text = randomTopology(seed);
      const r = bothWays(text);
      expect(r.predicted, `seed ${seed}:\n${text}`).toEqual(r.compiled);
      hits += r.hits;
    }
    expect(hits).toBeGreaterThan(100);
  });
});

/** mulberry32 */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomTopology(seed: number): string {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const chance = (p: number) => r() < p;
  const sharedNames = Array.from({ length: 1 + Math.floor(r() * 5) }, (_, i) => `S${i}`);

  // Mostly well-typed schemas (the common case, which predictions answer) with every kind of
  // ajv complaint mixed in: missing or union types, unknown formats, context types, keywords
  // ajv rejects, in-place applicators, aliases and recursion through shared schemas.
  const gen = (depth: number): unknown => {
    const leaf = depth >= 3;
    const kind = pick(
      leaf
        ? ['string', 'number', 'enum', 'ref', 'bool']
        : ['object', 'object', 'string', 'number', 'array', 'ref', 'ref', 'refSiblings', 'odd', 'applicator'],
    );
    const typed = (t: string) => (chance(0.9) ? { type: t } : {});
    switch (kind) {
      case 'object': {
        const props: Record<string, unknown> = {};
        for (let i = 0; i < 1 + Math.floor(r() * 3); i++) props[`p${i}`] = gen(depth + 1);
        const s: Record<string, unknown> = { ...typed('object'), properties: props };
        if (chance(0.5)) s.required = ['p0'];
        if (chance(0.2)) s.additionalProperties = chance(0.5) ? false : gen(depth + 1);
        if (chance(0.1)) s.patternProperties = { '^x-': gen(depth + 1) };
        if (chance(0.1)) s.propertyNames = pick([{ type: 'string' }, { type: 'number' }, { maxLength: 3 }]);
        if (chance(0.05)) s.unevaluatedProperties = false;
        return s;
      }
      case 'string': {
        const s: Record<string, unknown> = typed('string');
        if (chance(0.4)) s.format = pick(['date-time', 'email', 'uuid', 'uri', 'not-a-format']);
        if (chance(0.3)) s.pattern = '^[a-z]+$';
        if (chance(0.3)) s.minLength = 1;
        if (chance(0.05)) s.minimum = 1;
        return s;
      }
      case 'number':
        return {
          ...(chance(0.9) ? { type: pick(['number', 'integer']) } : {}),
          ...(chance(0.5) ? { minimum: 0 } : {}),
        };
      case 'array': {
        const s: Record<string, unknown> = { ...typed('array'), items: gen(depth + 1) };
        if (chance(0.3)) s.minItems = 1;
        if (chance(0.15)) s.prefixItems = [gen(depth + 1)];
        if (chance(0.1)) Object.assign(s, { contains: gen(depth + 1), minContains: 1 });
        return s;
      }
      case 'enum':
        return chance(0.5) ? { enum: ['a', 'b'] } : { const: 1 };
      case 'bool':
        return chance(0.5);
      case 'ref':
        return { $ref: `#/schemas/${pick(sharedNames)}` };
      case 'refSiblings':
        return {
          $ref: `#/schemas/${pick(sharedNames)}`,
          ...pick([{ description: 'd' }, { maximum: 3 }, { type: 'object' }]),
        };
      case 'odd':
        return pick([
          { type: ['string', 'number'] },
          { type: ['string', 'null'] },
          { type: 'string', nullable: true },
          { nullable: true },
          { id: 'legacy' },
          { 'x-extension': 1, type: 'string' },
          { properties: { a: { type: 'string' } } },
          { type: 'object', minLength: 2 },
        ]);
      default:
        return pick([
          { allOf: [gen(depth + 1), gen(depth + 1)] },
          { oneOf: [{ type: 'string' }, gen(depth + 1)] },
          { anyOf: [{ type: 'object' }, { type: 'string' }] },
          { not: { type: 'string' } },
          { if: { properties: { p0: { const: 1 } } }, then: { required: ['p0'] } },
          { type: 'object', dependentSchemas: { p0: { required: ['p1'] } } },
        ]);
    }
  };

  const schemas: Record<string, unknown> = {};
  for (const name of sharedNames) schemas[name] = chance(0.1) ? { $ref: `#/schemas/${pick(sharedNames)}` } : gen(1);
  const events: Record<string, { payload: unknown; examples?: unknown[] }> = {};
  for (let i = 0; i < 3 + Math.floor(r() * 8); i++) {
    const payload = chance(0.7) ? { type: 'object', properties: { a: gen(1), b: gen(1) } } : gen(0);
    events[`Event${i}Placed`] = chance(0.15) ? { payload, examples: [{ a: 'x' }] } : { payload };
  }
  return topology(schemas, events);
}
