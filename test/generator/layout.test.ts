/** The layout pass over json-schema-to-typescript output, and the schema walk feeding it. */
import { describe, expect, it } from 'vitest';
import { layoutDeclarations } from '../../generator/src/emit/ts-layout.js';
import { mapSchema } from '../../generator/src/emit/schema-walk.js';
import { printLiteral } from '../../generator/src/emit/code.js';

describe('layoutDeclarations', () => {
  it('indents by nesting, adds semicolons, single-quotes plain strings', () => {
    const [decl] = layoutDeclarations(
      ['export interface A {', 'b: "x" | "it\'s"', 'c?: {', '"d-e": (string)[]', '}', '}'].join('\n'),
    );
    expect(decl).toEqual({
      name: 'A',
      kind: 'interface',
      text: ['export interface A {', `  b: 'x' | "it's";`, '  c?: {', "    'd-e': string[];", '  };', '}'].join('\n'),
    });
  });

  it('ignores brackets inside strings and comments', () => {
    const [decl] = layoutDeclarations(
      ['/**', ' * braces { ( [ in a comment', ' */', 'export interface A {', 'b: "{[("', '}'].join('\n'),
    );
    expect(decl!.text).toBe(
      ['/**', ' * braces { ( [ in a comment', ' */', 'export interface A {', "  b: '{[(';", '}'].join('\n'),
    );
  });

  it('unwraps parentheses around a whole member or alias type, and only then', () => {
    const decls = layoutDeclarations(
      [
        'export type U = ("a" | "b")',
        'export type V = (A | B)[]',
        'export interface W {',
        'x: (A | {',
        'y: string',
        '})',
        'z: (A) | (B)',
        '}',
      ].join('\n'),
    );
    expect(decls.map((d) => d.text)).toEqual([
      "export type U = 'a' | 'b';",
      'export type V = (A | B)[];',
      ['export interface W {', '  x: A | {', '    y: string;', '  };', '  z: (A) | (B);', '}'].join('\n'),
    ]);
  });

  it('splits declarations and keeps each one’s JSDoc', () => {
    const decls = layoutDeclarations(
      ['/**', ' * One.', ' */', 'export interface One {', '}', 'export type Two = One'].join('\n'),
    );
    expect(decls.map((d) => [d.name, d.kind, d.text])).toEqual([
      ['One', 'interface', '/**\n * One.\n */\nexport interface One {}'],
      ['Two', 'type', 'export type Two = One;'],
    ]);
  });
});

describe('mapSchema', () => {
  it('rewrites keywords, never properties or data that share their names', () => {
    const schema = {
      title: 'Root',
      properties: { title: { type: 'string', title: 'Nested' }, enum: { const: { title: 'data' } } },
      items: [{ title: 'tuple' }],
      examples: [{ title: 'kept' }],
    };
    const out = mapSchema(schema, (node) => {
      delete node['title'];
      return node;
    });
    expect(out).toEqual({
      properties: { title: { type: 'string' }, enum: { const: { title: 'data' } } },
      items: [{}],
      examples: [{ title: 'kept' }],
    });
    expect(schema.title).toBe('Root');
  });
});

describe('printLiteral', () => {
  it('prints data as a TS literal, one line when it fits', () => {
    expect(printLiteral({ a: 1, 'b-c': ['x', null, true], d: {} })).toBe("{ a: 1, 'b-c': ['x', null, true], d: {} }");
    const long = printLiteral({ key: 'v'.repeat(60), other: 'w'.repeat(60) });
    expect(long).toBe(`{\n  key: '${'v'.repeat(60)}',\n  other: '${'w'.repeat(60)}',\n}`);
  });
});
