/**
 * The compile cache of `generate --watch` (generator/src/compile-cache.ts): a run reuses the
 * validators' and the payload types' compilation exactly when their input is unchanged, and its
 * output is, byte for byte, what a cold `generate` (no cache) gives. Counted, not timed: `stats`
 * counts the calls that reached ajv / json-schema-to-typescript.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CompileCache, serialize } from '../../generator/src/compile-cache.js';
import { generate, type FileMap } from '../../generator/src/generate.js';
import { generateCase, goldenCases, loadValid, REPO_ROOT } from './support/cases.js';

const SHOP = fs.readFileSync(path.join(REPO_ROOT, 'topology.yaml'), 'utf8');

/** One edit of the shop topology; each replaces text that must be there. */
const edit = (text: string, from: string, to: string): string => {
  expect(text, `edit: ${from}`).toContain(from);
  return text.replace(from, to);
};

const EDITS: {
  name: string;
  apply: (text: string) => string;
  types: 'reused' | 'computed';
  validators: 'reused' | 'computed';
}[] = [
  {
    name: 'an event description (types only)',
    apply: (t) =>
      edit(
        t,
        'description: A customer placed an order; payment and stock are still pending.',
        'description: An order was placed.',
      ),
    types: 'computed',
    validators: 'reused',
  },
  {
    name: 'a service description (neither)',
    apply: (t) => edit(t, 'description: Reserves and releases stock.', 'description: Holds stock.'),
    types: 'reused',
    validators: 'reused',
  },
  {
    name: 'a payload field (both)',
    apply: (t) =>
      edit(
        t,
        '        userId: { type: string }\n',
        '        userId: { type: string }\n        note: { type: string, maxLength: 80 }\n',
      ),
    types: 'computed',
    validators: 'computed',
  },
  {
    // forTypes drops `$comment`; ajv's document keeps it.
    name: 'a $comment in a payload (validators only)',
    apply: (t) =>
      edit(t, 'note: { type: string, maxLength: 80 }', "note: { type: string, maxLength: 80, $comment: 'free text' }"),
    types: 'reused',
    validators: 'computed',
  },
  {
    name: 'back to an earlier text (both computed again: only the last run is kept)',
    apply: () => SHOP,
    types: 'computed',
    validators: 'computed',
  },
];

async function cold(text: string): Promise<FileMap> {
  return (await generate(loadValid(path.join(REPO_ROOT, 'topology.yaml'), text), { cwd: REPO_ROOT })).files;
}

describe('compile cache', () => {
  it('reuses exactly what an edit left unchanged, and the output equals a cold generate after every edit', async () => {
    const cache = new CompileCache();
    const file = path.join(REPO_ROOT, 'topology.yaml');
    const warm = async (text: string) => (await generate(loadValid(file, text), { cwd: REPO_ROOT, cache })).files;

    let text = SHOP;
    expect(await warm(text)).toEqual(await cold(text));
    expect(cache.stats('types')).toEqual({ computed: 1, reused: 0 });
    expect(cache.stats('validators')).toEqual({ computed: 1, reused: 0 });

    // The same text again: nothing compiled.
    expect(await warm(text)).toEqual(await cold(text));
    expect(cache.stats('types')).toEqual({ computed: 1, reused: 1 });
    expect(cache.stats('validators')).toEqual({ computed: 1, reused: 1 });

    for (const e of EDITS) {
      const before = { types: cache.stats('types'), validators: cache.stats('validators') };
      const previous = await cold(text);
      text = e.apply(text);
      const files = await warm(text);
      const expected = await cold(text);
      // Compare file by file for a readable failure, then the whole map (order included).
      for (const [name, contents] of expected) expect(files.get(name), `${e.name}: ${name}`).toBe(contents);
      expect([...files.keys()], e.name).toEqual([...expected.keys()]);
      expect(files.get('types.ts') === previous.get('types.ts'), e.name).toBe(false); // banner at least
      for (const slot of ['types', 'validators'] as const) {
        const after = cache.stats(slot);
        const delta = { computed: after.computed - before[slot].computed, reused: after.reused - before[slot].reused };
        expect(delta, `${e.name}: ${slot}`).toEqual(
          e[slot] === 'computed' ? { computed: 1, reused: 0 } : { computed: 0, reused: 1 },
        );
      }
      // Bounded: what this run used, nothing older.
      expect(cache.size, e.name).toBe(2);
    }
  });

  it('the changed schema shows in the reused run: a new payload field is in types.ts and validators.ts', async () => {
    const cache = new CompileCache();
    const file = path.join(REPO_ROOT, 'topology.yaml');
    const first = (await generate(loadValid(file, SHOP), { cwd: REPO_ROOT, cache })).files;
    expect(first.get('types.ts')).not.toContain('shippingNote');
    const changed = edit(
      SHOP,
      '        userId: { type: string }\n',
      '        userId: { type: string }\n        shippingNote: { type: string }\n',
    );
    const second = (await generate(loadValid(file, changed), { cwd: REPO_ROOT, cache })).files;
    expect(second.get('types.ts')).toContain('shippingNote?: string;');
    expect(second.get('validators.ts')).toContain('shippingNote');
  });

  it('one cache shared by every golden topology in turn, twice, gives each its cold output', async () => {
    const cache = new CompileCache();
    const cases = goldenCases();
    expect(cases.length).toBeGreaterThan(1);
    for (let round = 1; round <= 2; round++) {
      for (const c of cases) {
        const warm = await generate(loadValid(c.topology), { cwd: REPO_ROOT, cache });
        expect(warm.files, `${c.name}, round ${round}`).toEqual((await generateCase(c)).files);
      }
    }
    // Consecutive topologies differ, so every run compiled anew and kept only its own results.
    expect(cache.stats('validators').computed).toBe(cases.length * 2);
    expect(cache.size).toBeLessThanOrEqual(2);
  });

  it('a compile that throws caches nothing', async () => {
    const cache = new CompileCache();
    await expect(cache.memo('types', { a: 1 }, () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await cache.memo('types', { a: 1 }, () => 'ok')).toBe('ok');
    expect(cache.stats('types')).toEqual({ computed: 2, reused: 0 });
  });

  it('an input it cannot serialize is computed every time', async () => {
    const cache = new CompileCache();
    const input = { f: () => 1 };
    await cache.memo('types', input, () => 'x');
    await cache.memo('types', input, () => 'x');
    expect(cache.stats('types')).toEqual({ computed: 2, reused: 0 });
    expect(cache.size).toBe(0);
  });
});

describe('serialize (the cache key)', () => {
  it.each([
    ['key order', { a: 1, b: 2 }, { b: 2, a: 1 }],
    ['0 and -0', { m: 0 }, { m: -0 }],
    ['Infinity and null', { m: Infinity }, { m: null }],
    ['NaN and null', [NaN], [null]],
    ['-Infinity and Infinity', [-Infinity], [Infinity]],
    ['undefined and absent', { a: undefined }, {}],
    ['undefined and null', [undefined], [null]],
    ['a number and its string', [1], ['1']],
    ['an array and an object', [], {}],
    ['an array and an object with index keys', ['x'], { 0: 'x' }],
    ['true and "true"', [true], ['true']],
    ['a key containing quote and colon', { 'a":"b': 1 }, { a: 'b', b: 1 }],
    ['nested vs flat', [[1, 2]], [1, 2]],
  ])('tells apart %s', (_name, a, b) => {
    const sa = serialize(a);
    const sb = serialize(b);
    expect(sa).toBeDefined();
    expect(sb).toBeDefined();
    expect(sa).not.toBe(sb);
  });

  it('is the same for equal trees, and refuses a node shared by two parents (identity changes the output)', () => {
    expect(serialize({ a: { type: 'string' }, b: { type: 'string' } })).toBe(
      serialize({ a: { type: 'string' }, b: { type: 'string' } }),
    );
    const shared = { type: 'string' };
    expect(serialize({ a: shared, b: shared })).toBeUndefined();
  });

  it.each([
    ['a function', { f: () => 1 }],
    ['a class instance', { d: new Date(0) }],
    ['a Map', [new Map()]],
    ['a symbol', [Symbol('s')]],
    ['a bigint', [1n]],
  ])('refuses %s', (_name, value) => {
    expect(serialize(value)).toBeUndefined();
  });

  it('refuses a cycle', () => {
    const a: Record<string, unknown> = {};
    a['self'] = a;
    expect(serialize(a)).toBeUndefined();
  });
});
