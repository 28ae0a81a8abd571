/**
 * JSON Schema `$ref` resolution for payloads and shared schemas. The ref forms: `#/schemas/Name`,
 * relative files (`./schemas/x.json`, JSON or YAML), and the definitions a file keeps under its
 * root `$defs` or `definitions` — `#/$defs/X` inside that file, `./x.json#/$defs/X` (or
 * `#/definitions/X`) from anywhere. Each becomes `#/$defs/<Name>` so a caller can assemble a
 * self-contained schema from the shared ones: a file is the shared schema named after it, each of
 * its definitions the shared schema `<FileName>.<definition>` (the generator's naming module turns
 * that into a readable type name). External files are loaded once each (cycles between files and
 * definitions are fine: everything of a file is registered before it is walked), and go through
 * the same hostile-input guards as the topology.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { JsonSchema } from '@eventform/runtime';
import { LIMITS } from './defaults.js';
import type { DiagnosticSink, Span } from './diagnostics.js';
import { PASCAL, pascalCase } from './naming.js';
import { didYouMean } from './suggest.js';
import { decodeSource, parseYamlTree, setOwn, toPlain, type YNode } from './yaml-tree.js';

export interface SharedSchema {
  name: string;
  /** Rewritten schema. */
  schema: JsonSchema;
  /** `inline`, or the file path relative to the topology (`./schemas/x.json`). */
  origin: string;
  /** The declaration (inline) or the file start (external). */
  loc: Span;
  /** The source tree, to map ajv's error paths back to positions. */
  node: YNode;
  /** Shared schemas referenced directly. */
  deps: Set<string>;
  /** False when its refs or keywords were rejected, or it is not valid JSON Schema. */
  ok: boolean;
}

export interface ResolvedSchema {
  schema: JsonSchema;
  deps: Set<string>;
  /** False when a `$ref` could not be resolved or a keyword was rejected (already reported). */
  ok: boolean;
}

/** Keywords whose value is a schema. */
const SCHEMA_VALUED = new Set([
  'items',
  'additionalItems',
  'additionalProperties',
  'not',
  'if',
  'then',
  'else',
  'contains',
  'propertyNames',
  'unevaluatedItems',
  'unevaluatedProperties',
  'contentSchema',
]);
/** Keywords whose value is a list of schemas. */
const SCHEMA_LIST = new Set(['allOf', 'anyOf', 'oneOf', 'prefixItems']);
/** Keywords whose value maps names to schemas. */
const SCHEMA_MAP = new Set(['properties', 'patternProperties', 'dependentSchemas']);
/** Keywords whose value is instance data, never walked for refs. */
const DATA_VALUED = new Set(['const', 'enum', 'default', 'examples']);
/** Keywords that would change how refs resolve inside an assembled schema. */
const REJECTED: Record<string, string> = {
  $id: 'schemas are identified by their name under `schemas:`',
  $schema: 'schemas use the JSON Schema 2020-12 vocabulary; remove `$schema`',
  $defs:
    'declare shared definitions under the top-level `schemas:` (or at the root of a schema file) and use `$ref: "#/schemas/Name"`',
  definitions:
    'declare shared definitions under the top-level `schemas:` (or at the root of a schema file) and use `$ref: "#/schemas/Name"`',
  $anchor: 'refer to shared schemas by name: `$ref: "#/schemas/Name"`',
  $dynamicRef: 'dynamic references are not supported',
  $dynamicAnchor: 'dynamic references are not supported',
  $recursiveRef: 'use `$ref: "#/schemas/Name"` for recursive schemas',
  $recursiveAnchor: 'use `$ref: "#/schemas/Name"` for recursive schemas',
};

interface ExternalFile {
  name: string;
  origin: string;
  text: string;
  /** The file's definitions: `$defs/X` or `definitions/X` (as a pointer spells it) → shared schema name. */
  defs: Map<string, string>;
}

interface Ctx {
  /** File the schema is written in (for diagnostics). */
  file: string;
  /** Directory relative refs resolve against. */
  baseDir: string;
  /** The external file the schema is part of, for its `#/$defs/X` refs; undefined in the topology. */
  external?: ExternalFile | undefined;
}

/** The root keywords whose entries are a schema file's own definitions. */
const DEFINITION_KEYWORDS = ['$defs', 'definitions'] as const;

/** A definition name usable in a shared schema name and, through the naming module, in a type name. */
const DEFINITION_NAME = /^[A-Za-z_$][A-Za-z0-9_$.-]*$/;

/** `#/$defs/X` or `#/definitions/X` (pointer-decoded) → `$defs/X`, else undefined. */
function definitionPointer(fragment: string): string | undefined {
  const m = /^\/(\$defs|definitions)\/([^/]+)$/.exec(fragment);
  if (!m) return undefined;
  let name: string;
  try {
    name = decodeURIComponent(m[2]!).replace(/~1/g, '/').replace(/~0/g, '~');
  } catch {
    return undefined;
  }
  return `${m[1]}/${name}`;
}

export class SchemaResolver {
  /** Shared schemas by name: inline ones first, external ones as they are found. */
  readonly shared = new Map<string, SharedSchema>();
  private readonly externalsByPath = new Map<string, ExternalFile | null>();
  private readonly topologyDir: string;
  /** Absolute folder every external file must be inside. */
  private readonly root: string;
  private readonly realpath: ((p: string) => string) | undefined;
  private readonly onRead: ((absPath: string) => void) | undefined;
  private realRoot: string | undefined;

  constructor(
    private readonly topologyFile: string,
    private readonly sink: DiagnosticSink,
    private readonly inlineNames: ReadonlySet<string>,
    private readonly readFile: (absPath: string) => string,
    confinement: {
      root?: string | undefined;
      realpath?: ((p: string) => string) | undefined;
      /** Told the absolute path of every external file about to be read (inside the root only). */
      onRead?: ((absPath: string) => void) | undefined;
    } = {},
  ) {
    this.topologyDir = path.dirname(topologyFile);
    this.root = path.resolve(confinement.root ?? this.topologyDir);
    this.realpath = confinement.realpath;
    this.onRead = confinement.onRead;
  }

  /**
   * Why `abs` may not be read, or undefined when it may: it must lie inside the root folder, as
   * written and (on the file system) with every symlink resolved. Nothing outside is ever opened,
   * so nothing of it can reach a diagnostic or the generated code.
   */
  private outsideRoot(abs: string): string | undefined {
    if (!inside(this.root, abs)) return "is outside the topology's folder";
    if (!this.realpath) return undefined;
    let real: string;
    try {
      real = this.realpath(abs);
    } catch {
      return undefined; // missing: reported as such when it is read
    }
    try {
      this.realRoot ??= this.realpath(this.root);
    } catch {
      this.realRoot = this.root;
    }
    return inside(this.realRoot, real) ? undefined : "is a link to a file outside the topology's folder";
  }

  /** Resolves every inline shared schema. Call once, before payloads. */
  addInline(decls: { name: string; nameSpan: Span; node: YNode }[]): void {
    for (const d of decls) {
      const r = this.resolve(d.node, { file: this.topologyFile, baseDir: this.topologyDir });
      this.shared.set(d.name, {
        name: d.name,
        schema: r.schema,
        origin: 'inline',
        loc: d.nameSpan,
        node: d.node,
        deps: r.deps,
        ok: r.ok,
      });
    }
  }

  /** Rewrites refs in one schema written in the topology. */
  resolvePayload(node: YNode): ResolvedSchema {
    return this.resolve(node, { file: this.topologyFile, baseDir: this.topologyDir });
  }

  /** Topology text plus every external file, hashed in a stable order. */
  sourceHash(topologyText: string): string {
    const h = createHash('sha256');
    h.update(topologyText);
    const files = [...this.externalsByPath.values()].filter((f): f is ExternalFile => f !== null);
    files.sort((a, b) => (a.origin < b.origin ? -1 : a.origin > b.origin ? 1 : 0));
    for (const f of files) h.update(`\u0000${f.origin}\u0000`).update(f.text);
    return h.digest('hex');
  }

  /** Names of shared schemas reachable from `deps`, sorted. */
  closure(deps: Iterable<string>): string[] {
    const seen = new Set<string>();
    const stack = [...deps];
    while (stack.length > 0) {
      const n = stack.pop()!;
      if (seen.has(n)) continue;
      seen.add(n);
      for (const d of this.shared.get(n)?.deps ?? []) stack.push(d);
    }
    return [...seen].sort();
  }

  private resolve(node: YNode, ctx: Ctx): ResolvedSchema {
    const deps = new Set<string>();
    const before = this.sink.errorCount;
    const schema = this.walk(node, ctx, deps) as JsonSchema;
    return { schema, deps, ok: this.sink.errorCount === before };
  }

  private walk(node: YNode, ctx: Ctx, deps: Set<string>): unknown {
    if (node.kind !== 'map') return toPlain(node);
    const out: Record<string, unknown> = {};
    for (const e of node.entries) {
      const v = e.value;
      if (e.key in REJECTED) {
        this.sink.report('EF5006', e.keySpan, `'${e.key}' is not supported in topology schemas`, REJECTED[e.key]);
        continue;
      }
      if (e.key === '$ref') {
        if (v.kind === 'scalar' && typeof v.value === 'string') {
          const target = this.ref(v.value, v.span, ctx);
          if (target !== undefined) deps.add(target);
          setOwn(out, '$ref', target === undefined ? v.value : `#/$defs/${target}`);
        } else {
          this.sink.report('EF2002', v.span, `'$ref' must be a string`);
        }
      } else if (e.key === 'pattern' && v.kind === 'scalar' && typeof v.value === 'string') {
        this.checkRegExp(v.value, v.span);
        setOwn(out, e.key, v.value);
      } else if (DATA_VALUED.has(e.key)) {
        setOwn(out, e.key, toPlain(v));
      } else if (SCHEMA_VALUED.has(e.key)) {
        setOwn(out, e.key, v.kind === 'seq' ? v.items.map((i) => this.walk(i, ctx, deps)) : this.walk(v, ctx, deps));
      } else if (SCHEMA_LIST.has(e.key) && v.kind === 'seq') {
        setOwn(
          out,
          e.key,
          v.items.map((i) => this.walk(i, ctx, deps)),
        );
      } else if (SCHEMA_MAP.has(e.key) && v.kind === 'map') {
        const m: Record<string, unknown> = {};
        for (const p of v.entries) {
          if (e.key === 'patternProperties') this.checkRegExp(p.key, p.keySpan);
          setOwn(m, p.key, this.walk(p.value, ctx, deps));
        }
        setOwn(out, e.key, m);
      } else {
        setOwn(out, e.key, toPlain(v));
      }
    }
    return out;
  }

  /** ajv compiles patterns with the `u` flag; report a bad one where it is written. */
  private checkRegExp(pattern: string, at: Span): void {
    try {
      new RegExp(pattern, 'u');
    } catch (err) {
      this.sink.report(
        'EF5001',
        at,
        `'${pattern}' is not a valid regular expression: ${(err as Error).message.replace(/^Invalid regular expression: \/.*\/u: /, '')}`,
        'patterns use JavaScript regular expression syntax with the `u` flag',
      );
    }
  }

  /** The shared schema name a ref points at, or undefined (reported). */
  private ref(ref: string, at: Span, ctx: Ctx): string | undefined {
    const shared = /^#\/schemas\/([^/]+)$/.exec(ref);
    if (shared) {
      const name = decodeURIComponent(shared[1]!);
      if (this.inlineNames.has(name)) return name;
      const known = [...this.inlineNames];
      this.sink.report(
        'EF4003',
        at,
        `'$ref: ${ref}' points at no schema under 'schemas:'`,
        didYouMean(name, known) ??
          (known.length ? `known schemas: ${known.sort().join(', ')}` : 'declare it under a top-level `schemas:`'),
      );
      return undefined;
    }
    if (ref.startsWith('#')) {
      const pointer = definitionPointer(ref.slice(1));
      if (pointer !== undefined && ctx.external) return this.definition(ctx.external, pointer, ref, at);
      this.sink.report(
        'EF4005',
        at,
        `'$ref: ${ref}' is not supported`,
        pointer !== undefined
          ? "'#/$defs/X' and '#/definitions/X' work inside a schema file; in the topology refer to shared schemas as '#/schemas/Name'"
          : "refer to shared schemas as '#/schemas/Name' and declare them under 'schemas:'",
      );
      return undefined;
    }
    if (/^[a-z][a-z0-9+.-]*:/i.test(ref) || ref.startsWith('//')) {
      this.sink.report(
        'EF4005',
        at,
        `'$ref: ${ref}' points outside the repository`,
        'download the schema next to the topology and refer to it as ./schemas/<file>.json',
      );
      return undefined;
    }
    if (path.isAbsolute(ref)) {
      this.sink.report(
        'EF4005',
        at,
        `'$ref: ${ref}' is an absolute path`,
        'use a path relative to the file that contains the $ref, e.g. ./schemas/x.json',
      );
      return undefined;
    }
    const hash = ref.indexOf('#');
    const fragment = hash >= 0 ? ref.slice(hash + 1) : '';
    const pointer = fragment === '' ? undefined : definitionPointer(fragment);
    if (fragment !== '' && pointer === undefined) {
      this.sink.report(
        'EF4008',
        at,
        `'$ref: ${ref}' points inside a file, but not at one of its definitions`,
        "refer to a whole file, or to a definition at its root: './x.json#/$defs/Name' or './x.json#/definitions/Name'",
      );
      return undefined;
    }
    const name = this.external(hash >= 0 ? ref.slice(0, hash) : ref, at, ctx);
    if (name === undefined || pointer === undefined) return name;
    const file = [...this.externalsByPath.values()].find((f) => f?.name === name);
    return file ? this.definition(file, pointer, ref, at) : undefined;
  }

  /** The shared schema name of definition `pointer` (`$defs/X`) of `file`, or undefined (reported). */
  private definition(file: ExternalFile, pointer: string, ref: string, at: Span): string | undefined {
    const name = file.defs.get(pointer);
    if (name !== undefined) return name;
    const known = [...file.defs.keys()].filter((k) => k.startsWith(pointer.slice(0, pointer.indexOf('/') + 1)));
    const wanted = pointer.slice(pointer.indexOf('/') + 1);
    this.sink.report(
      'EF4003',
      at,
      `'$ref: ${ref}' points at no definition of ${file.origin}`,
      didYouMean(
        wanted,
        known.map((k) => k.slice(k.indexOf('/') + 1)),
      ) ??
        (file.defs.size > 0
          ? `its definitions: ${[...file.defs.keys()].sort().join(', ')}`
          : `${file.origin} has no $defs or definitions`),
    );
    return undefined;
  }

  private external(rel: string, at: Span, ctx: Ctx): string | undefined {
    const displayPath = path.join(ctx.baseDir, rel);
    const abs = path.resolve(displayPath);
    const cached = this.externalsByPath.get(abs);
    if (cached !== undefined) return cached?.name;
    if (this.externalsByPath.size >= LIMITS.maxExternalSchemas) {
      this.sink.report('EF4007', at, `more than ${LIMITS.maxExternalSchemas} external schema files`);
      this.externalsByPath.set(abs, null);
      return undefined;
    }
    this.externalsByPath.set(abs, null); // a failed or in-progress load is not retried

    const outside = this.outsideRoot(abs);
    if (outside) {
      this.sink.report(
        'EF4005',
        at,
        `schema file '${rel}' ${outside}; it is not read`,
        `keep schema files in the topology's folder or below (${path.relative(process.cwd(), this.root) || '.'}), or widen it with --schema-root`,
      );
      return undefined;
    }

    this.onRead?.(abs);
    let data: string;
    try {
      data = this.readFile(abs);
    } catch (err) {
      const reason =
        (err as NodeJS.ErrnoException).code === 'ENOENT'
          ? 'does not exist'
          : `cannot be read (${(err as Error).message})`;
      this.sink.report(
        'EF4006',
        at,
        `schema file '${rel}' ${reason}`,
        `paths are relative to ${ctx.file === this.topologyFile ? 'the topology file' : ctx.file}`,
      );
      return undefined;
    }
    const text = decodeSource(displayPath, data, this.sink);
    const tree = text === undefined ? null : parseYamlTree(displayPath, text, this.sink);
    if (text === undefined || tree === null) {
      this.sink.report('EF4007', at, `schema file '${rel}' could not be loaded; see the errors in ${displayPath}`);
      return undefined;
    }
    if (tree.kind !== 'map') {
      this.sink.report('EF4007', tree.span, `schema file must hold a JSON Schema object`);
      this.sink.report('EF4007', at, `schema file '${rel}' is not a JSON Schema object`);
      return undefined;
    }
    const title = tree.entries.find((e) => e.key === 'title')?.value;
    const fromTitle =
      title?.kind === 'scalar' && typeof title.value === 'string' && PASCAL.test(title.value) ? title.value : undefined;
    const base = path
      .basename(rel)
      .replace(/\.(json|ya?ml)$/i, '')
      .replace(/\.schema$/i, '');
    const name = fromTitle ?? pascalCase(base);
    const relFromTopology = path.relative(this.topologyDir, abs).split(path.sep).join('/');
    const origin = relFromTopology.startsWith('../') ? relFromTopology : `./${relFromTopology}`;

    if (!PASCAL.test(name)) {
      this.sink.report('EF4009', at, `cannot derive a schema name from '${rel}'`, 'give the file a PascalCase `title`');
      return undefined;
    }
    const clash = this.inlineNames.has(name)
      ? 'the inline schema'
      : this.shared.has(name)
        ? `the schema from ${this.shared.get(name)!.origin}`
        : undefined;
    if (clash) {
      this.sink.report(
        'EF4009',
        at,
        `schema file '${rel}' is named '${name}', like ${clash}`,
        'give the file a different PascalCase `title`',
      );
      return undefined;
    }
    const file: ExternalFile = { name, origin, text, defs: new Map() };
    this.externalsByPath.set(abs, file);
    // Strip the identity keywords a standalone file usually carries; they would break ref
    // resolution once the schema is embedded under $defs. Its definitions become shared schemas
    // of their own.
    const body: YNode = {
      ...tree,
      entries: tree.entries.filter(
        (e) => e.key !== '$schema' && e.key !== '$id' && !(DEFINITION_KEYWORDS as readonly string[]).includes(e.key),
      ),
    };
    const loc: Span = { file: displayPath, line: 1, col: 1, endLine: 1, endCol: 1 };
    // Everything of the file is registered before anything is walked, so cycles terminate.
    const pending: [SharedSchema, YNode][] = [];
    const entry: SharedSchema = { name, schema: {}, origin, loc, node: body, deps: new Set(), ok: true };
    this.shared.set(name, entry);
    pending.push([entry, body]);
    const defNames = new Map<string, string>(); // shared name → the pointer that claimed it
    for (const keyword of DEFINITION_KEYWORDS) {
      const defs = tree.entries.find((e) => e.key === keyword);
      if (!defs) continue;
      if (defs.value.kind !== 'map') {
        this.sink.report('EF2002', defs.value.span, `'${keyword}' must map definition names to schemas`);
        continue;
      }
      for (const d of defs.value.entries) {
        if (!DEFINITION_NAME.test(d.key)) {
          this.sink.report(
            'EF4009',
            d.keySpan,
            `definition '${d.key}' of ${origin} has no name eventform can turn into a type name`,
            'use letters, digits, `_`, `-` or `.`, starting with a letter',
          );
          continue;
        }
        const defName = `${name}.${d.key}`;
        const claimed = defNames.get(defName);
        if (claimed !== undefined) {
          this.sink.report(
            'EF4009',
            d.keySpan,
            `definition '${d.key}' of ${origin} is declared under both '${claimed}' and '${keyword}'`,
            'keep one of them',
          );
          continue;
        }
        defNames.set(defName, keyword);
        file.defs.set(`${keyword}/${d.key}`, defName);
        const def: SharedSchema = {
          name: defName,
          schema: {},
          origin,
          loc: d.keySpan,
          node: d.value,
          deps: new Set(),
          ok: true,
        };
        this.shared.set(defName, def);
        pending.push([def, d.value]);
      }
    }
    for (const [shared, node] of pending) {
      const r = this.resolve(node, { file: displayPath, baseDir: path.dirname(displayPath), external: file });
      shared.schema = r.schema;
      shared.deps = r.deps;
      shared.ok = r.ok;
    }
    return name;
  }
}

/** Whether `target` is `dir` itself or below it (both absolute). */
function inside(dir: string, target: string): boolean {
  const rel = path.relative(dir, target);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}
