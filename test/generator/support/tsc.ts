/**
 * Type-checks files with the TypeScript compiler API and the repository's tsconfig options
 * plus the strictest flags a user's project may set (exactOptionalPropertyTypes,
 * noPropertyAccessFromIndexSignature, ...); `@eventform/runtime` resolves to its sources through
 * the tsconfig's paths, exactly as in `npm run typecheck`. Extra files can be served from
 * memory (used to check variants of the type tests without writing them to disk).
 */
import path from 'node:path';
import ts from 'typescript';
import { REPO_ROOT } from './cases.js';

export interface TypeError {
  file: string;
  /** 1-based. */
  line: number;
  code: number;
  message: string;
}

let cachedOptions: ts.CompilerOptions | undefined;

function compilerOptions(): ts.CompilerOptions {
  if (cachedOptions) return cachedOptions;
  const configFile = path.join(REPO_ROOT, 'tsconfig.json');
  const { config, error } = ts.readConfigFile(configFile, ts.sys.readFile);
  if (error) throw new Error(ts.flattenDiagnosticMessageText(error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(config, ts.sys, REPO_ROOT);
  // Generated code must compile under the strictest settings a user's project may have.
  cachedOptions = {
    ...parsed.options,
    noEmit: true,
    strict: true,
    exactOptionalPropertyTypes: true,
    noPropertyAccessFromIndexSignature: true,
    noUncheckedIndexedAccess: true,
    verbatimModuleSyntax: true,
  };
  return cachedOptions;
}

/**
 * Diagnostics for `rootFiles` (absolute paths), reported only for files under one of `reportUnder`
 * (absolute directories or files): other people's half-written modules do not fail these tests.
 */
export function typecheck(
  rootFiles: string[],
  reportUnder: string[],
  memoryFiles = new Map<string, string>(),
): TypeError[] {
  const options = compilerOptions();
  const host = ts.createCompilerHost(options, true);
  const readFile = host.readFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.readFile = (f) => memoryFiles.get(path.resolve(f)) ?? readFile(f);
  host.fileExists = (f) => memoryFiles.has(path.resolve(f)) || fileExists(f);
  host.getSourceFile = (f, lang, onError, create) => {
    const text = memoryFiles.get(path.resolve(f));
    return text !== undefined ? ts.createSourceFile(f, text, lang, true) : getSourceFile(f, lang, onError, create);
  };
  const program = ts.createProgram({ rootNames: [...rootFiles, ...memoryFiles.keys()], options, host });
  const diagnostics = [...program.getSyntacticDiagnostics(), ...program.getSemanticDiagnostics()];
  const out: TypeError[] = [];
  for (const d of diagnostics) {
    if (!d.file) {
      out.push({ file: '', line: 0, code: d.code, message: ts.flattenDiagnosticMessageText(d.messageText, '\n') });
      continue;
    }
    const file = path.resolve(d.file.fileName);
    if (!reportUnder.some((root) => file === root || file.startsWith(root + path.sep))) continue;
    const { line } = d.file.getLineAndCharacterOfPosition(d.start ?? 0);
    out.push({ file, line: line + 1, code: d.code, message: ts.flattenDiagnosticMessageText(d.messageText, '\n') });
  }
  return out;
}

export function formatTypeErrors(errors: TypeError[]): string {
  return errors.map((e) => `${path.relative(REPO_ROOT, e.file)}:${e.line} TS${e.code} ${e.message}`).join('\n');
}

/**
 * Compiles every `.ts` file of `dir` into `outDir` (ESM `.js` and `.d.ts`) with the same strict
 * options, resolving packages as installed (node_modules, the built `dist/`), as a user's `tsc`
 * would; returns the diagnostics as text.
 */
export function compileTo(dir: string, outDir: string): string[] {
  const { paths: _paths, noEmit: _noEmit, ...strict } = compilerOptions();
  const options: ts.CompilerOptions = { ...strict, rootDir: dir, outDir, declaration: true, skipLibCheck: false };
  const rootNames = ts.sys.readDirectory(dir, ['.ts'], ['**/*.d.ts']);
  const program = ts.createProgram({ rootNames, options });
  const result = program.emit();
  return [...ts.getPreEmitDiagnostics(program), ...result.diagnostics].map((d) =>
    ts.formatDiagnostic(d, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => dir, getNewLine: () => '\n' }),
  );
}
