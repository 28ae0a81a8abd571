/**
 * Every optional property of an exported interface or type in the published packages' sources says
 * `| undefined`, so a user whose tsconfig sets `exactOptionalPropertyTypes` can pass `undefined`
 * explicitly (`{ logger: maybeLogger }`) instead of spreading conditionally. `unknown` and `any`
 * already include it.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const REPO = path.resolve(import.meta.dirname, '../..');
const ROOTS = ['generator/src', ...fs.readdirSync(path.join(REPO, 'runtime')).map((p) => `runtime/${p}/src`)];

function sources(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => path.join(e.parentPath, e.name));
}

const isExported = (node: ts.Node): boolean =>
  (ts.getCombinedModifierFlags(node as ts.Declaration) & ts.ModifierFlags.Export) !== 0;

/** `file:line name` of each optional property in an exported declaration whose type lacks `undefined`. */
function offenders(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const out: string[] = [];
  const visit = (node: ts.Node, exported: boolean): void => {
    const inExported =
      exported || ((ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node)) && isExported(node));
    if (inExported && ts.isPropertySignature(node) && node.questionToken && node.type) {
      const type = node.type.getText(sf);
      if (!/\bundefined\b/.test(type) && !/^(unknown|any)$/.test(type)) {
        const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
        out.push(`${path.relative(REPO, file)}:${line} ${node.name.getText(sf)}`);
      }
    }
    ts.forEachChild(node, (child) => visit(child, inExported));
  };
  visit(sf, false);
  return out;
}

describe('optional properties of exported types', () => {
  it('say | undefined in every published package', () => {
    const files = ROOTS.flatMap((r) => sources(path.join(REPO, r)));
    expect(files.length).toBeGreaterThan(50);
    expect(files.flatMap(offenders)).toEqual([]);
  });

  it('finds one that does not', () => {
    const dir = fs.mkdtempSync(path.join(REPO, 'test/.tmp-optional-'));
    try {
      const file = path.join(dir, 'x.ts');
      fs.writeFileSync(
        file,
        'export interface A { a?: string; b?: string | undefined; c?: unknown; d: { e?: number } }\ninterface Private { f?: string }\n',
      );
      expect(offenders(file).map((o) => o.split(' ')[1])).toEqual(['a', 'e']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
