/**
 * Payload compatibility: compares an old and a new JSON Schema and reports, per direction, what a
 * message could do that one side accepts and the other rejects. Pure: no I/O, no ajv.
 *
 * The definitions are the ones `eventform check` documents (docs/contract-checks.md):
 * - backward: everything valid under the old schema stays valid under the new one. A finding in
 *   this direction means new consumers would reject messages written with the old schema (old
 *   producers, and messages already queued, retrying or dead-lettered);
 * - forward: everything valid under the new schema was valid under the old one. A finding in this
 *   direction means old consumers would reject messages from upgraded producers;
 * - full: both; none: neither is checked.
 *
 * The comparison is structural, keyword by keyword, walking both schemas in parallel and following
 * `$ref`s on each side through its own resolver. It is sound for the keywords it models; anything
 * it cannot decide (oneOf overlap, `not`, `if`, keywords it does not model) becomes a finding with
 * severity `unknown`, never a silent "compatible". One deliberate assumption, documented: the
 * undeclared properties of an open object are treated as absent in practice, so adding an optional
 * property to an open object, or removing one from it, is not a break (closed objects are exact).
 */
import type { Compatibility, JsonSchema, TopologyIR } from '@eventform/runtime';
import { canonical, deepEqual, isObject, pointerSegment, show, type JsonObject } from './json-values.js';
import { RULES, type RuleId } from './rules.js';

export type Direction = 'backward' | 'forward';
export const DIRECTIONS: readonly Direction[] = ['backward', 'forward'];

/** `break`: proven to break that direction. `unknown`: the checker could not prove it does not. */
export type SchemaFindingSeverity = 'break' | 'unknown';

export interface SchemaFinding {
  rule: RuleId;
  /** The rule's name, e.g. `required-added`. */
  name: string;
  direction: Direction;
  severity: SchemaFindingSeverity;
  /**
   * JSON pointer into the payload schema, `$ref`s followed transparently (a change inside a
   * shared schema reads `/properties/total/properties/currency/enum`). For something that exists
   * only in the old schema, the pointer is where it was.
   */
  pointer: string;
  /** What changed, and who would break. */
  message: string;
  /** The innermost shared schema the pointer runs through, when the change sits in one. */
  sharedSchema?: string | undefined;
}

/** Looks up a `$ref` target. Returns `undefined` for a ref it cannot follow. */
export interface SchemaResolver {
  resolve(ref: string): { name: string; schema: JsonSchema } | undefined;
}

export interface Resolvers {
  old: SchemaResolver;
  new: SchemaResolver;
}

/** Who would break, per direction; every finding's message ends with one of these. */
const IMPACT: Record<Direction, string> = {
  backward:
    'new consumers would reject messages valid under the old schema (from producers not yet upgraded, or already queued, retrying or dead-lettered)',
  forward: 'old consumers would reject messages from upgraded producers',
};

/** A resolver for an IR: `#/$defs/<Name>` (and the source spelling `#/schemas/<Name>`). */
export function resolverFromIR(ir: Pick<TopologyIR, 'schemas'>): SchemaResolver {
  const byName = new Map(ir.schemas.map((s) => [s.name, s.schema] as const));
  return {
    resolve(ref) {
      const m = /^#\/(?:\$defs|definitions|schemas)\/([^/]+)$/.exec(ref);
      if (!m?.[1]) return undefined;
      let name = m[1].replace(/~1/g, '/').replace(/~0/g, '~');
      try {
        name = decodeURIComponent(name);
      } catch {
        // Not percent-encoded: use as is.
      }
      const schema = byName.get(name);
      return schema === undefined ? undefined : { name, schema };
    },
  };
}

/** A resolver that follows nothing; for self-contained schemas. */
export const NO_REFS: SchemaResolver = { resolve: () => undefined };

/**
 * Compares two payload schemas. Returns every finding in both directions, sorted by pointer;
 * use {@link violations} to keep the ones a compatibility mode cares about.
 */
export function compareSchemas(oldSchema: JsonSchema, newSchema: JsonSchema, resolvers: Resolvers): SchemaFinding[] {
  const c = new Comparer(resolvers);
  c.compare(oldSchema, newSchema, '', undefined);
  return sortFindings(c.findings);
}

/** The findings that break the given mode: backward → backward ones, forward → forward, full → all. */
export function violations(findings: readonly SchemaFinding[], mode: Compatibility): SchemaFinding[] {
  if (mode === 'none') return [];
  if (mode === 'full') return [...findings];
  return findings.filter((f) => f.direction === mode);
}

export interface EventPayloadCompat {
  event: string;
  /** The mode of the new topology's event (a changed mode applies to the change that makes it). */
  mode: Compatibility;
  /** Every finding, both directions. */
  findings: SchemaFinding[];
  /** The findings that break `mode`. */
  violations: SchemaFinding[];
}

/** Compares the payload of every event present in both topologies, sorted by event name. */
export function comparePayloads(oldIr: TopologyIR, newIr: TopologyIR): EventPayloadCompat[] {
  const resolvers: Resolvers = { old: resolverFromIR(oldIr), new: resolverFromIR(newIr) };
  const oldEvents = new Map(oldIr.events.map((e) => [e.name, e] as const));
  const out: EventPayloadCompat[] = [];
  for (const ev of [...newIr.events].sort((a, b) => cmp(a.name, b.name))) {
    const before = oldEvents.get(ev.name);
    if (!before) continue;
    const findings = compareSchemas(before.payload, ev.payload, resolvers);
    out.push({ event: ev.name, mode: ev.compatibility, findings, violations: violations(findings, ev.compatibility) });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Keyword classes

/** Keywords that never change what validates. */
const ANNOTATIONS = new Set([
  'title',
  'description',
  'examples',
  'example',
  'default',
  '$comment',
  'deprecated',
  'readOnly',
  'writeOnly',
  '$id',
  '$schema',
  '$anchor',
  '$dynamicAnchor',
  '$defs',
  'definitions',
  'contentEncoding',
  'contentMediaType',
  'contentSchema',
  'discriminator',
  'tsType',
]);

/** Keywords this module compares; everything else that changes is `unsupported-change`. */
const HANDLED = new Set([
  'type',
  'nullable',
  'enum',
  'const',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'minLength',
  'maxLength',
  'pattern',
  'format',
  'items',
  'prefixItems',
  'additionalItems',
  'minItems',
  'maxItems',
  'uniqueItems',
  'properties',
  'required',
  'additionalProperties',
  'unevaluatedProperties',
  'minProperties',
  'maxProperties',
  'allOf',
  'anyOf',
  'oneOf',
  'not',
  'if',
  'then',
  'else',
  '$ref',
]);

type Kind = 'array' | 'boolean' | 'integer' | 'null' | 'number' | 'object' | 'string';
/** Every JSON value is exactly one of these (integers are numbers). */
const UNIVERSE: readonly Kind[] = ['array', 'boolean', 'null', 'number', 'object', 'string'];

/** The declared type set, `number` absorbing `integer`; `undefined` when any type is allowed. */
function typeSet(s: JsonObject): Set<Kind> | undefined {
  if (s.type === undefined) return undefined;
  const list = (Array.isArray(s.type) ? s.type : [s.type]).filter((t): t is Kind => typeof t === 'string');
  const set = new Set<Kind>(list);
  if (s.nullable === true) set.add('null');
  if (set.has('number')) set.delete('integer');
  return set;
}

/** Does the type set `t` accept every value of kind `k`? */
function covers(t: Set<Kind> | undefined, k: Kind): boolean {
  if (!t) return true;
  if (k === 'integer') return t.has('integer') || t.has('number');
  return t.has(k);
}

/** Does the type set allow at least some values of kind `k`? */
function allows(t: Set<Kind> | undefined, k: Kind): boolean {
  if (!t) return true;
  if (k === 'number') return t.has('number') || t.has('integer');
  return t.has(k);
}

function typesOverlap(a: Set<Kind> | undefined, b: Set<Kind> | undefined): boolean {
  if (!a || !b) return true;
  // An integer is a number, so integer/number always overlap each other.
  for (const t of a) if (t === 'integer' || t === 'number' ? allows(b, 'number') : b.has(t)) return true;
  return false;
}

function showTypes(t: Set<Kind> | undefined): string {
  if (!t) return 'any type';
  return [...t].sort().join(' | ') || 'no type';
}

function jsonKind(v: unknown): Kind {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v as Kind;
}

/** `int only`: the side accepts no non-integer numbers, so exclusive bounds can be normalised. */
function integerOnly(t: Set<Kind> | undefined): boolean {
  return t !== undefined && t.has('integer') && !t.has('number');
}

// ---------------------------------------------------------------------------------------------
// $ref following and allOf flattening

interface Deref {
  schema: unknown;
  /** The last shared schema followed into. */
  name?: string;
  /** Set when a `$ref` could not be followed. */
  unresolved?: string;
}

/** Merged `$ref` + sibling objects, cached per source object so cycle detection sees stable identities. */
const refMergeCache = new WeakMap<object, Map<SchemaResolver, unknown>>();

function deref(s: unknown, res: SchemaResolver): Deref {
  let cur = s;
  let name: string | undefined;
  // A chain of refs longer than this is a cycle of refs to refs; the loader rejects those.
  for (let hops = 0; hops < 64; hops++) {
    if (!isObject(cur) || typeof cur.$ref !== 'string')
      return name === undefined ? { schema: cur } : { schema: cur, name };
    const target = res.resolve(cur.$ref);
    if (!target) return { schema: cur, unresolved: cur.$ref, ...(name === undefined ? {} : { name }) };
    name = target.name;
    const siblings = Object.keys(cur).filter((k) => k !== '$ref' && !ANNOTATIONS.has(k));
    if (siblings.length === 0) {
      cur = target.schema;
      continue;
    }
    let perRes = refMergeCache.get(cur);
    if (!perRes) refMergeCache.set(cur, (perRes = new Map()));
    let merged = perRes.get(res);
    if (merged === undefined) {
      const rest: JsonObject = {};
      for (const k of siblings) rest[k] = cur[k];
      // 2020-12: a $ref applies alongside its siblings, i.e. an allOf of the two.
      merged = target.schema === true ? rest : target.schema === false ? false : { allOf: [target.schema, rest] };
      perRes.set(res, merged);
    }
    cur = merged;
  }
  return { schema: cur, unresolved: 'a $ref chain that does not end' };
}

const flattenCache = new WeakMap<object, Map<SchemaResolver, JsonObject>>();

/**
 * Folds `allOf` members into their parent when that cannot change what validates: members' keys
 * are disjoint (or equal), `required` is unioned, `properties` merged when they do not disagree,
 * and no member is closed (a member's `additionalProperties` only sees its own properties).
 * Returns the schema unchanged when it cannot fold.
 */
function flattenAllOf(s: JsonObject, res: SchemaResolver): JsonObject {
  if (!Array.isArray(s.allOf)) return s;
  const cached = flattenCache.get(s)?.get(res);
  if (cached) return cached;
  let merged: JsonObject | undefined = {};
  for (const [k, v] of Object.entries(s)) if (k !== 'allOf') merged[k] = v;
  if ('additionalProperties' in merged) merged = undefined;
  for (const member of s.allOf) {
    if (!merged) break;
    const d = deref(member, res);
    if (d.unresolved !== undefined || d.schema === false) {
      merged = undefined;
      break;
    }
    if (d.schema === true) continue;
    if (!isObject(d.schema)) continue;
    const m = flattenAllOf(d.schema, res);
    if ('additionalProperties' in m || 'unevaluatedProperties' in m || Array.isArray(m.allOf)) {
      merged = undefined;
      break;
    }
    merged = mergeMember(merged, m);
  }
  const out = merged ?? s;
  let perRes = flattenCache.get(s);
  if (!perRes) flattenCache.set(s, (perRes = new Map()));
  perRes.set(res, out);
  return out;
}

function mergeMember(into: JsonObject, m: JsonObject): JsonObject | undefined {
  const out: JsonObject = { ...into };
  for (const [k, v] of Object.entries(m)) {
    if (ANNOTATIONS.has(k)) continue;
    if (!(k in out) || deepEqual(out[k], v)) {
      out[k] = v;
    } else if (k === 'required' && Array.isArray(out[k]) && Array.isArray(v)) {
      out[k] = [...new Set([...(out[k] as unknown[]), ...v])];
    } else if (k === 'properties' && isObject(out[k]) && isObject(v)) {
      const props: JsonObject = { ...(out[k] as JsonObject) };
      for (const [p, ps] of Object.entries(v)) {
        if (p in props && !deepEqual(props[p], ps)) return undefined;
        props[p] = ps;
      }
      out[k] = props;
    } else {
      return undefined;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Small readers

interface Values {
  kw: 'const' | 'enum';
  values: unknown[];
}

function valueSet(s: JsonObject): Values | undefined {
  if ('const' in s) return { kw: 'const', values: [s.const] };
  if (Array.isArray(s.enum)) return { kw: 'enum', values: s.enum };
  return undefined;
}

function hasValue(list: readonly unknown[], v: unknown): boolean {
  const c = canonical(v);
  return list.some((x) => canonical(x) === c);
}

interface Bound {
  v: number;
  excl: boolean;
  /** The keyword that sets it, for the pointer. */
  kw: string;
  /** As written, for messages. */
  text: string;
}

function lowerBound(s: JsonObject, intOnly: boolean): Bound | undefined {
  let b: Bound | undefined;
  if (typeof s.minimum === 'number') {
    const excl = s.exclusiveMinimum === true; // draft-04 boolean form
    b = { v: s.minimum, excl, kw: 'minimum', text: `${excl ? 'exclusive ' : ''}minimum ${s.minimum}` };
  }
  if (typeof s.exclusiveMinimum === 'number' && (!b || s.exclusiveMinimum >= b.v)) {
    b = { v: s.exclusiveMinimum, excl: true, kw: 'exclusiveMinimum', text: `exclusiveMinimum ${s.exclusiveMinimum}` };
  }
  if (b && intOnly) b = { ...b, v: b.excl ? Math.floor(b.v) + 1 : Math.ceil(b.v), excl: false };
  return b;
}

function upperBound(s: JsonObject, intOnly: boolean): Bound | undefined {
  let b: Bound | undefined;
  if (typeof s.maximum === 'number') {
    const excl = s.exclusiveMaximum === true;
    b = { v: s.maximum, excl, kw: 'maximum', text: `${excl ? 'exclusive ' : ''}maximum ${s.maximum}` };
  }
  if (typeof s.exclusiveMaximum === 'number' && (!b || s.exclusiveMaximum <= b.v)) {
    b = { v: s.exclusiveMaximum, excl: true, kw: 'exclusiveMaximum', text: `exclusiveMaximum ${s.exclusiveMaximum}` };
  }
  if (b && intOnly) b = { ...b, v: b.excl ? Math.ceil(b.v) - 1 : Math.floor(b.v), excl: false };
  return b;
}

/** Is lower bound `cand` stricter than `base` (rejects something `base` accepts)? */
function lowerTighter(base: Bound | undefined, cand: Bound | undefined): boolean {
  if (!cand) return false;
  if (!base) return true;
  return cand.v > base.v || (cand.v === base.v && cand.excl && !base.excl);
}

function upperTighter(base: Bound | undefined, cand: Bound | undefined): boolean {
  if (!cand) return false;
  if (!base) return true;
  return cand.v < base.v || (cand.v === base.v && cand.excl && !base.excl);
}

/** Is every multiple of `a` a multiple of `b`? */
function multipleOfMultiple(a: number, b: number): boolean {
  const r = a / b;
  return Math.abs(r - Math.round(r)) < 1e-9;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

interface ObjectShape {
  props: JsonObject;
  required: Set<string>;
  /** `undefined`/`true` = open; `false` = closed; an object = extra properties must match it. */
  extra: unknown;
  extraKw: 'additionalProperties' | 'unevaluatedProperties';
}

function objectShape(s: JsonObject): ObjectShape {
  const extraKw =
    'additionalProperties' in s || !('unevaluatedProperties' in s) ? 'additionalProperties' : 'unevaluatedProperties';
  return {
    props: isObject(s.properties) ? s.properties : {},
    required: new Set(Array.isArray(s.required) ? s.required.filter((r): r is string => typeof r === 'string') : []),
    extra: s[extraKw],
    extraKw,
  };
}

interface Tuple {
  prefix: unknown[];
  prefixKw: string;
  rest: unknown;
  restKw: string;
}

function tupleOf(s: JsonObject): Tuple {
  // draft-07 tuple form: `items: [...]` + `additionalItems`.
  if (Array.isArray(s.items)) {
    return { prefix: s.items, prefixKw: 'items', rest: s.additionalItems ?? true, restKw: 'additionalItems' };
  }
  return {
    prefix: Array.isArray(s.prefixItems) ? s.prefixItems : [],
    prefixKw: 'prefixItems',
    rest: s.items ?? true,
    restKw: 'items',
  };
}

function hasRef(s: unknown): boolean {
  return canonical(s).includes('"$ref"');
}

function isNullOnly(s: unknown): boolean {
  if (!isObject(s)) return false;
  if ('const' in s) return s.const === null;
  const t = typeSet(s);
  return t !== undefined && t.size === 1 && t.has('null');
}

/** `Card`, `type=card`, `string`: a short name for a oneOf/anyOf branch in messages. */
function describeBranch(raw: unknown, res: SchemaResolver): string {
  if (isObject(raw) && typeof raw.$ref === 'string') return res.resolve(raw.$ref)?.name ?? raw.$ref;
  const d = deref(raw, res).schema;
  if (!isObject(d)) return String(d);
  const disc = discriminators(d, res)[0];
  if (disc) return `${disc.prop}=${disc.values.map((v) => show(v)).join('|')}`;
  if ('const' in d) return show(d.const);
  const t = typeSet(d);
  return t ? showTypes(t) : 'schema';
}

/** Required properties pinned to a const/enum: what tells union branches apart. */
function discriminators(s: JsonObject, res: SchemaResolver): { prop: string; values: unknown[] }[] {
  const shape = objectShape(s);
  const out: { prop: string; values: unknown[] }[] = [];
  for (const prop of [...shape.required].sort()) {
    const p = deref(shape.props[prop], res).schema;
    const v = isObject(p) ? valueSet(p) : undefined;
    if (v) out.push({ prop, values: v.values });
  }
  return out;
}

/** Can no value be valid under both `a` and `b`? Conservative: `false` when unsure. */
function disjoint(a: unknown, aRes: SchemaResolver, b: unknown, bRes: SchemaResolver): boolean {
  const x = deref(a, aRes).schema;
  const y = deref(b, bRes).schema;
  if (x === false || y === false) return true;
  if (!isObject(x) || !isObject(y)) return false;
  const tx = typeSet(x);
  const ty = typeSet(y);
  if (!typesOverlap(tx, ty)) return true;
  const vx = valueSet(x);
  const vy = valueSet(y);
  if (vx && vy && !vx.values.some((v) => hasValue(vy.values, v))) return true;
  if (vx && ty && !vx.values.some((v) => covers(ty, jsonKind(v)))) return true;
  if (vy && tx && !vy.values.some((v) => covers(tx, jsonKind(v)))) return true;
  return disjointObjects(x, aRes, y, bRes) || disjointObjects(y, bRes, x, aRes);
}

/** A required discriminator of `x` that `y` pins to other values, or that closed `y` does not declare. */
function disjointObjects(x: JsonObject, xRes: SchemaResolver, y: JsonObject, yRes: SchemaResolver): boolean {
  const ys = objectShape(y);
  for (const d of discriminators(x, xRes)) {
    if (!(d.prop in ys.props)) {
      if (ys.extra === false) return true;
      continue;
    }
    const p = deref(ys.props[d.prop], yRes).schema;
    if (p === false) return true;
    const vy = isObject(p) ? valueSet(p) : undefined;
    if (vy && !d.values.some((v) => hasValue(vy.values, v))) return true;
  }
  return false;
}

/**
 * Subsumption results of one top-level comparison, shared by the nested comparers it spawns.
 * A pair met again while it is being decided is assumed to hold (the coinductive reading that
 * recursive schemas need; the rest of the walk decides), which also bounds the recursion.
 */
type SubsumeMemo = Map<string, boolean>;

/** Stable small ids for schema nodes and resolvers, so memo keys name exact (node, side) pairs. */
const nodeIds = new WeakMap<object, number>();
let nextNodeId = 0;
function nodeId(x: unknown): string {
  if (typeof x !== 'object' || x === null) return JSON.stringify(x) ?? 'undefined';
  let id = nodeIds.get(x);
  if (id === undefined) nodeIds.set(x, (id = ++nextNodeId));
  return `#${id}`;
}

/** Nested subsumption questions deeper than this are answered "not proven". */
const MAX_SUBSUME_DEPTH = 8;

/** Is every value valid under `inner` valid under `outer` (as far as the checker can prove)? */
function subsumes(
  outer: unknown,
  outerRes: SchemaResolver,
  inner: unknown,
  innerRes: SchemaResolver,
  memo: SubsumeMemo,
  depth: number,
): boolean {
  const key = [inner, innerRes, outer, outerRes].map(nodeId).join(' ');
  const known = memo.get(key);
  if (known !== undefined) return known;
  if (depth >= MAX_SUBSUME_DEPTH) return false;
  memo.set(key, true);
  const c = new Comparer({ old: innerRes, new: outerRes }, memo, depth + 1);
  c.compare(inner, outer, '', undefined);
  const result = !c.findings.some((f) => f.direction === 'backward');
  memo.set(key, result);
  return result;
}

interface Pairing {
  pairs: [number, number][];
  added: number[];
  removed: number[];
}

/**
 * Matches old and new union branches: identical ones first, then by a unique identity (the same
 * `$ref`, discriminator or type set), then — if as many are left on both sides — by position.
 */
function pairBranches(a: unknown[], b: unknown[], res: Resolvers): Pairing {
  const pairs: [number, number][] = [];
  const freeA = new Set(a.map((_, i) => i));
  const freeB = new Set(b.map((_, j) => j));
  const take = (i: number, j: number): void => {
    pairs.push([i, j]);
    freeA.delete(i);
    freeB.delete(j);
  };
  for (const j of [...freeB]) {
    const i = [...freeA].find((k) => canonical(a[k]) === canonical(b[j]));
    if (i !== undefined) take(i, j);
  }
  const sigA = new Map([...freeA].map((i) => [i, branchSignature(a[i], res.old)] as const));
  const sigB = new Map([...freeB].map((j) => [j, branchSignature(b[j], res.new)] as const));
  const unique = (m: Map<number, string | undefined>, s: string): boolean =>
    [...m.values()].filter((x) => x === s).length === 1;
  for (const j of [...freeB]) {
    const s = sigB.get(j);
    if (s === undefined || !unique(sigB, s) || !unique(sigA, s)) continue;
    const i = [...freeA].find((k) => sigA.get(k) === s);
    if (i !== undefined) take(i, j);
  }
  if (freeA.size === freeB.size) {
    const restA = [...freeA];
    const restB = [...freeB];
    restA.forEach((i, k) => take(i, restB[k]!));
  }
  pairs.sort((x, y) => x[1] - y[1]);
  return { pairs, added: [...freeB], removed: [...freeA] };
}

function branchSignature(raw: unknown, res: SchemaResolver): string | undefined {
  if (isObject(raw) && typeof raw.$ref === 'string') return `ref:${raw.$ref}`;
  const d = deref(raw, res).schema;
  if (!isObject(d)) return undefined;
  const disc = discriminators(d, res);
  if (disc.length > 0) return `disc:${disc.map((x) => `${x.prop}=${canonical(x.values)}`).join('&')}`;
  const t = typeSet(d);
  return t ? `type:${[...t].sort().join(',')}` : undefined;
}

function sortFindings(fs: SchemaFinding[]): SchemaFinding[] {
  return fs.sort(
    (x, y) =>
      cmp(x.pointer, y.pointer) || cmp(x.rule, y.rule) || cmp(x.direction, y.direction) || cmp(x.message, y.message),
  );
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function propPointer(ptr: string, name: string): string {
  return `${ptr}/properties/${pointerSegment(name)}`;
}

// ---------------------------------------------------------------------------------------------
// The walker

class Comparer {
  readonly findings: SchemaFinding[] = [];
  /** Pairs (old node, new node) being compared right now: meeting one again is a cycle. */
  private readonly active = new Map<object, Set<object>>();

  constructor(
    private readonly res: Resolvers,
    private readonly memo: SubsumeMemo = new Map(),
    private readonly depth = 0,
  ) {}

  private add(
    rule: RuleId,
    direction: Direction,
    severity: SchemaFindingSeverity,
    pointer: string,
    what: string,
    shared: string | undefined,
  ): void {
    const message =
      severity === 'break'
        ? `${what}: ${IMPACT[direction]}`
        : `${what}; eventform cannot prove this is ${direction} compatible, and if it is not, ${IMPACT[direction]}`;
    const f: SchemaFinding = { rule, name: RULES[rule].name, direction, severity, pointer, message };
    if (shared !== undefined) f.sharedSchema = shared;
    this.findings.push(f);
  }

  compare(oRaw: unknown, nRaw: unknown, ptr: string, shared: string | undefined): void {
    const o = deref(oRaw, this.res.old);
    const n = deref(nRaw, this.res.new);
    const sh = n.name ?? o.name ?? shared;
    const unresolved = o.unresolved ?? n.unresolved;
    if (unresolved !== undefined) {
      for (const dir of DIRECTIONS) {
        this.add('EFC160', dir, 'unknown', `${ptr}/$ref`, `$ref '${unresolved}' could not be followed`, sh);
      }
      return;
    }
    const os = o.schema === true || !(o.schema === false || isObject(o.schema)) ? {} : o.schema;
    const ns = n.schema === true || !(n.schema === false || isObject(n.schema)) ? {} : n.schema;
    if (os === false && ns === false) return;
    if (ns === false) {
      this.add('EFC114', 'backward', 'break', ptr, 'the schema became `false`, which accepts nothing', sh);
      return;
    }
    if (os === false) {
      this.add(
        'EFC115',
        'forward',
        'break',
        ptr,
        'the schema was `false` (accepting nothing) and now accepts values',
        sh,
      );
      return;
    }
    if (canonical(os) === canonical(ns) && !hasRef(os)) return;
    let seen = this.active.get(os);
    if (seen?.has(ns)) return; // a cycle: assume compatible here, the rest of the walk decides
    if (!seen) this.active.set(os, (seen = new Set()));
    seen.add(ns);
    try {
      this.compareNodes(os, ns, ptr, sh);
    } finally {
      seen.delete(ns);
    }
  }

  private compareNodes(oIn: JsonObject, nIn: JsonObject, ptr: string, sh: string | undefined): void {
    let o = flattenAllOf(oIn, this.res.old);
    let n = flattenAllOf(nIn, this.res.new);
    // `X` → `anyOf: [X, Y]` (and back): compare as unions so branches line up.
    for (const kw of ['anyOf', 'oneOf'] as const) {
      if (onlyCombinator(n, kw) && !hasUnion(o)) o = { [kw]: [o] };
      else if (onlyCombinator(o, kw) && !hasUnion(n)) n = { [kw]: [n] };
    }
    const to = typeSet(o);
    const tn = typeSet(n);
    this.compareTypes(to, tn, ptr, sh);
    this.compareValues(o, n, ptr, sh);
    const both = (k: Kind): boolean => allows(to, k) && allows(tn, k);
    if (both('number')) this.compareNumbers(o, n, integerOnly(to), integerOnly(tn), ptr, sh);
    if (both('string')) this.compareStrings(o, n, ptr, sh);
    if (both('string') || both('number')) this.compareFormat(o, n, ptr, sh);
    if (both('array')) this.compareArrays(o, n, ptr, sh);
    if (both('object')) this.compareObjects(o, n, ptr, sh);
    this.compareAllOf(o, n, ptr, sh);
    this.compareUnion('anyOf', o, n, ptr, sh);
    this.compareUnion('oneOf', o, n, ptr, sh);
    this.compareOpaque(['not'], o, n, ptr, sh);
    this.compareOpaque(['if', 'then', 'else'], o, n, ptr, sh);
    this.compareUnsupported(o, n, ptr, sh);
  }

  private compareTypes(
    to: Set<Kind> | undefined,
    tn: Set<Kind> | undefined,
    ptr: string,
    sh: string | undefined,
  ): void {
    const lost = (to ? [...to] : UNIVERSE).filter((t) => !covers(tn, t));
    const gained = (tn ? [...tn] : UNIVERSE).filter((t) => !covers(to, t));
    const p = `${ptr}/type`;
    const change = `type changed from ${showTypes(to)} to ${showTypes(tn)}`;
    const lostOther = lost.filter((t) => t !== 'null');
    const gainedOther = gained.filter((t) => t !== 'null');
    if (lostOther.length > 0) {
      const detail =
        lostOther.length === 1 && lostOther[0] === 'number' && tn?.has('integer')
          ? 'non-integer numbers are no longer accepted'
          : `${lostOther.join(', ')} values are no longer accepted`;
      this.add('EFC110', 'backward', 'break', p, `${change}; ${detail}`, sh);
    }
    if (gainedOther.length > 0) {
      const detail =
        gainedOther.length === 1 && gainedOther[0] === 'number' && to?.has('integer')
          ? 'non-integer numbers are now accepted'
          : `${gainedOther.join(', ')} values are now accepted`;
      this.add('EFC111', 'forward', 'break', p, `${change}; ${detail}`, sh);
    }
    if (lost.includes('null')) this.add('EFC112', 'backward', 'break', p, `${change}; null is no longer accepted`, sh);
    if (gained.includes('null')) this.add('EFC113', 'forward', 'break', p, `${change}; null is now accepted`, sh);
  }

  private compareValues(o: JsonObject, n: JsonObject, ptr: string, sh: string | undefined): void {
    const vo = valueSet(o);
    const vn = valueSet(n);
    if (!vo && !vn) return;
    if (!vo && vn) {
      if (vn.kw === 'const')
        this.add('EFC124', 'backward', 'break', `${ptr}/const`, `const ${show(n.const)} was added`, sh);
      else this.add('EFC122', 'backward', 'break', `${ptr}/enum`, `enum ${show(vn.values)} was added`, sh);
      return;
    }
    if (vo && !vn) {
      if (vo.kw === 'const')
        this.add('EFC125', 'forward', 'break', `${ptr}/const`, `const ${show(o.const)} was removed`, sh);
      else this.add('EFC123', 'forward', 'break', `${ptr}/enum`, `enum ${show(vo.values)} was removed`, sh);
      return;
    }
    if (!vo || !vn) return;
    if (vo.kw === 'const' && vn.kw === 'const') {
      if (!deepEqual(o.const, n.const)) {
        for (const dir of DIRECTIONS) {
          this.add(
            'EFC126',
            dir,
            'break',
            `${ptr}/const`,
            `const changed from ${show(o.const)} to ${show(n.const)}`,
            sh,
          );
        }
      }
      return;
    }
    const p = `${ptr}/${vn.kw}`;
    const removed = vo.values.filter((v) => !hasValue(vn.values, v));
    const added = vn.values.filter((v) => !hasValue(vo.values, v));
    if (removed.length > 0) {
      const list = removed.map((v) => show(v)).join(', ');
      this.add('EFC120', 'backward', 'break', p, `value${removed.length > 1 ? 's' : ''} ${list} no longer allowed`, sh);
    }
    if (added.length > 0) {
      const list = added.map((v) => show(v)).join(', ');
      this.add('EFC121', 'forward', 'break', p, `value${added.length > 1 ? 's' : ''} ${list} newly allowed`, sh);
    }
  }

  private compareNumbers(
    o: JsonObject,
    n: JsonObject,
    oInt: boolean,
    nInt: boolean,
    ptr: string,
    sh: string | undefined,
  ): void {
    const lo = lowerBound(o, oInt);
    const ln = lowerBound(n, nInt);
    const lowerText = (b: Bound | undefined): string => b?.text ?? 'no lower bound';
    const upperText = (b: Bound | undefined): string => b?.text ?? 'no upper bound';
    if (lowerTighter(lo, ln)) {
      this.add(
        'EFC130',
        'backward',
        'break',
        `${ptr}/${ln!.kw}`,
        `lower bound raised: ${lowerText(lo)} → ${lowerText(ln)}`,
        sh,
      );
    } else if (lowerTighter(ln, lo)) {
      const kw = (ln ?? lo)!.kw;
      this.add(
        'EFC131',
        'forward',
        'break',
        `${ptr}/${kw}`,
        `lower bound lowered: ${lowerText(lo)} → ${lowerText(ln)}`,
        sh,
      );
    }
    const uo = upperBound(o, oInt);
    const un = upperBound(n, nInt);
    if (upperTighter(uo, un)) {
      this.add(
        'EFC130',
        'backward',
        'break',
        `${ptr}/${un!.kw}`,
        `upper bound lowered: ${upperText(uo)} → ${upperText(un)}`,
        sh,
      );
    } else if (upperTighter(un, uo)) {
      const kw = (un ?? uo)!.kw;
      this.add(
        'EFC131',
        'forward',
        'break',
        `${ptr}/${kw}`,
        `upper bound raised: ${upperText(uo)} → ${upperText(un)}`,
        sh,
      );
    }
    const mo = num(o.multipleOf);
    const mn = num(n.multipleOf);
    const p = `${ptr}/multipleOf`;
    const text = `multipleOf ${mo ?? 'none'} → ${mn ?? 'none'}`;
    if (mn !== undefined && !(mo !== undefined && multipleOfMultiple(mo, mn))) {
      this.add('EFC132', 'backward', 'break', p, `${text}; values the old schema accepted are no longer multiples`, sh);
    }
    if (mo !== undefined && !(mn !== undefined && multipleOfMultiple(mn, mo))) {
      this.add('EFC133', 'forward', 'break', p, `${text}; values the old schema rejected are now accepted`, sh);
    }
  }

  private compareCounts(
    o: JsonObject,
    n: JsonObject,
    ptr: string,
    sh: string | undefined,
    minKw: string,
    maxKw: string,
    narrowed: RuleId,
    widened: RuleId,
  ): void {
    const mo = num(o[minKw]) ?? 0;
    const mn = num(n[minKw]) ?? 0;
    if (mn > mo) this.add(narrowed, 'backward', 'break', `${ptr}/${minKw}`, `${minKw} raised from ${mo} to ${mn}`, sh);
    if (mn < mo) this.add(widened, 'forward', 'break', `${ptr}/${minKw}`, `${minKw} lowered from ${mo} to ${mn}`, sh);
    const xo = num(o[maxKw]) ?? Infinity;
    const xn = num(n[maxKw]) ?? Infinity;
    const show = (x: number): string => (x === Infinity ? 'none' : String(x));
    if (xn < xo)
      this.add(
        narrowed,
        'backward',
        'break',
        `${ptr}/${maxKw}`,
        `${maxKw} lowered from ${show(xo)} to ${show(xn)}`,
        sh,
      );
    if (xn > xo)
      this.add(widened, 'forward', 'break', `${ptr}/${maxKw}`, `${maxKw} raised from ${show(xo)} to ${show(xn)}`, sh);
  }

  private compareStrings(o: JsonObject, n: JsonObject, ptr: string, sh: string | undefined): void {
    this.compareCounts(o, n, ptr, sh, 'minLength', 'maxLength', 'EFC134', 'EFC135');
    const po = typeof o.pattern === 'string' ? o.pattern : undefined;
    const pn = typeof n.pattern === 'string' ? n.pattern : undefined;
    const p = `${ptr}/pattern`;
    if (po === undefined && pn !== undefined)
      this.add('EFC136', 'backward', 'break', p, `pattern ${show(pn)} was added`, sh);
    if (po !== undefined && pn === undefined)
      this.add('EFC137', 'forward', 'break', p, `pattern ${show(po)} was removed`, sh);
    if (po !== undefined && pn !== undefined && po !== pn) {
      for (const dir of DIRECTIONS) {
        this.add('EFC138', dir, 'break', p, `pattern changed from ${show(po)} to ${show(pn)}`, sh);
      }
    }
  }

  private compareFormat(o: JsonObject, n: JsonObject, ptr: string, sh: string | undefined): void {
    const fo = typeof o.format === 'string' ? o.format : undefined;
    const fn = typeof n.format === 'string' ? n.format : undefined;
    const p = `${ptr}/format`;
    if (fo === undefined && fn !== undefined)
      this.add('EFC139', 'backward', 'break', p, `format '${fn}' was added`, sh);
    if (fo !== undefined && fn === undefined)
      this.add('EFC140', 'forward', 'break', p, `format '${fo}' was removed`, sh);
    if (fo !== undefined && fn !== undefined && fo !== fn) {
      for (const dir of DIRECTIONS) this.add('EFC141', dir, 'break', p, `format changed from '${fo}' to '${fn}'`, sh);
    }
  }

  private compareArrays(o: JsonObject, n: JsonObject, ptr: string, sh: string | undefined): void {
    this.compareCounts(o, n, ptr, sh, 'minItems', 'maxItems', 'EFC142', 'EFC143');
    const uo = o.uniqueItems === true;
    const un = n.uniqueItems === true;
    if (!uo && un) this.add('EFC144', 'backward', 'break', `${ptr}/uniqueItems`, 'uniqueItems was added', sh);
    if (uo && !un) this.add('EFC145', 'forward', 'break', `${ptr}/uniqueItems`, 'uniqueItems was removed', sh);
    const to = tupleOf(o);
    const tn = tupleOf(n);
    const len = Math.max(to.prefix.length, tn.prefix.length);
    for (let i = 0; i < len; i++) {
      const kw = i < tn.prefix.length ? tn.prefixKw : to.prefixKw;
      this.compare(to.prefix[i] ?? to.rest, tn.prefix[i] ?? tn.rest, `${ptr}/${kw}/${i}`, sh);
    }
    this.compare(to.rest, tn.rest, `${ptr}/${tn.restKw}`, sh);
  }

  private compareObjects(o: JsonObject, n: JsonObject, ptr: string, sh: string | undefined): void {
    const so = objectShape(o);
    const sn = objectShape(n);
    const closedO = so.extra === false;
    const closedN = sn.extra === false;
    const names = [
      ...new Set([...Object.keys(so.props), ...Object.keys(sn.props), ...so.required, ...sn.required]),
    ].sort(cmp);
    for (const name of names) {
      const pp = propPointer(ptr, name);
      const inO = Object.hasOwn(so.props, name);
      const inN = Object.hasOwn(sn.props, name);
      if (inO && inN) {
        this.compare(so.props[name], sn.props[name], pp, sh);
      } else if (inN) {
        if (closedO) {
          this.add('EFC105', 'forward', 'break', pp, `property '${name}' was added to a closed object`, sh);
        } else if (isObject(so.extra)) {
          // Old messages could carry it as an additional property: those values must still fit.
          this.compare(so.extra, sn.props[name], pp, sh);
        }
        // Open object: undeclared properties are assumed absent in practice (documented).
      } else if (inO) {
        if (closedN) {
          this.add('EFC106', 'backward', 'break', pp, `property '${name}' was removed from a closed object`, sh);
        } else if (isObject(sn.extra)) {
          this.compare(so.props[name], sn.extra, pp, sh);
        }
      }
      const reqO = so.required.has(name);
      const reqN = sn.required.has(name);
      if (!reqO && reqN) {
        const at = inN ? pp : `${ptr}/required`;
        if (inO) this.add('EFC103', 'backward', 'break', at, `property '${name}' became required`, sh);
        else this.add('EFC101', 'backward', 'break', at, `required property '${name}' was added`, sh);
      } else if (reqO && !reqN) {
        if (inN) this.add('EFC104', 'forward', 'break', pp, `property '${name}' became optional`, sh);
        else this.add('EFC102', 'forward', 'break', pp, `required property '${name}' was removed`, sh);
      }
    }
    if (!closedO && closedN) {
      this.add(
        'EFC107',
        'backward',
        'break',
        `${ptr}/${sn.extraKw}`,
        `the object was closed (${sn.extraKw}: false)`,
        sh,
      );
    } else if (closedO && !closedN) {
      const kw = sn.extra === undefined ? so.extraKw : sn.extraKw;
      this.add(
        'EFC108',
        'forward',
        'break',
        `${ptr}/${kw}`,
        `the object was opened (${so.extraKw}: false removed)`,
        sh,
      );
    } else if (!closedO && !closedN && (isObject(so.extra) || isObject(sn.extra))) {
      this.compare(
        so.extra ?? true,
        sn.extra ?? true,
        `${ptr}/${sn.extra === undefined ? so.extraKw : sn.extraKw}`,
        sh,
      );
    }
    this.compareCounts(o, n, ptr, sh, 'minProperties', 'maxProperties', 'EFC146', 'EFC147');
  }

  private compareAllOf(o: JsonObject, n: JsonObject, ptr: string, sh: string | undefined): void {
    const a = Array.isArray(o.allOf) ? o.allOf : undefined;
    const b = Array.isArray(n.allOf) ? n.allOf : undefined;
    if (!a && !b) return;
    if (!a) {
      this.add('EFC152', 'backward', 'unknown', `${ptr}/allOf`, 'allOf was added', sh);
      return;
    }
    if (!b) {
      this.add('EFC153', 'forward', 'unknown', `${ptr}/allOf`, 'allOf was removed', sh);
      return;
    }
    const { pairs, added, removed } = pairBranches(a, b, this.res);
    for (const [i, j] of pairs) this.compare(a[i], b[j], `${ptr}/allOf/${j}`, sh);
    for (const j of added)
      this.add('EFC152', 'backward', 'unknown', `${ptr}/allOf/${j}`, `allOf member #${j} was added`, sh);
    for (const i of removed)
      this.add('EFC153', 'forward', 'unknown', `${ptr}/allOf/${i}`, `allOf member #${i} was removed`, sh);
  }

  private compareUnion(kw: 'anyOf' | 'oneOf', o: JsonObject, n: JsonObject, ptr: string, sh: string | undefined): void {
    const a = Array.isArray(o[kw]) ? (o[kw] as unknown[]) : undefined;
    const b = Array.isArray(n[kw]) ? (n[kw] as unknown[]) : undefined;
    if (!a && !b) return;
    if (!a) {
      this.add('EFC152', 'backward', 'unknown', `${ptr}/${kw}`, `${kw} was added`, sh);
      return;
    }
    if (!b) {
      this.add('EFC153', 'forward', 'unknown', `${ptr}/${kw}`, `${kw} was removed`, sh);
      return;
    }
    const { pairs, added, removed } = pairBranches(a, b, this.res);
    for (const [i, j] of pairs) this.compare(a[i], b[j], `${ptr}/${kw}/${j}`, sh);
    const { old: ro, new: rn } = this.res;
    for (const j of added) {
      const p = `${ptr}/${kw}/${j}`;
      const branch: unknown = b[j];
      const what = `${kw} branch #${j} (${describeBranch(branch, rn)}) was added`;
      const nullBranch = isNullOnly(deref(branch, rn).schema);
      if (!a.some((x) => subsumes(x, ro, branch, rn, this.memo, this.depth))) {
        const sure = a.every((x) => disjoint(branch, rn, x, ro));
        this.add(nullBranch ? 'EFC113' : 'EFC150', 'forward', sure ? 'break' : 'unknown', p, what, sh);
      }
      if (kw === 'oneOf' && !b.every((x, k) => k === j || disjoint(branch, rn, x, rn))) {
        this.add(
          'EFC150',
          'backward',
          'unknown',
          p,
          `${what} and may overlap another branch (oneOf rejects a value matching two)`,
          sh,
        );
      }
    }
    for (const i of removed) {
      const p = `${ptr}/${kw}/${i}`;
      const branch: unknown = a[i];
      const what = `${kw} branch #${i} (${describeBranch(branch, ro)}) was removed`;
      const nullBranch = isNullOnly(deref(branch, ro).schema);
      if (!b.some((x) => subsumes(x, rn, branch, ro, this.memo, this.depth))) {
        const sure = b.every((x) => disjoint(branch, ro, x, rn));
        this.add(nullBranch ? 'EFC112' : 'EFC151', 'backward', sure ? 'break' : 'unknown', p, what, sh);
      }
      if (kw === 'oneOf' && !a.every((x, k) => k === i || disjoint(branch, ro, x, ro))) {
        this.add(
          'EFC151',
          'forward',
          'unknown',
          p,
          `${what}; it may have overlapped a remaining branch, so a new value could match two branches of the old oneOf`,
          sh,
        );
      }
    }
  }

  /** Keywords compared only for equality: adding one can only restrict, removing only relax. */
  private compareOpaque(group: string[], o: JsonObject, n: JsonObject, ptr: string, sh: string | undefined): void {
    const pick = (s: JsonObject): JsonObject | undefined => {
      const out: JsonObject = {};
      for (const k of group) if (k in s) out[k] = s[k];
      return Object.keys(out).length > 0 ? out : undefined;
    };
    const a = pick(o);
    const b = pick(n);
    const key = group[0]!;
    if (!a && !b) return;
    if (!a) this.add('EFC152', 'backward', 'unknown', `${ptr}/${key}`, `'${key}' was added`, sh);
    else if (!b) this.add('EFC153', 'forward', 'unknown', `${ptr}/${key}`, `'${key}' was removed`, sh);
    else if (!deepEqual(a, b)) {
      for (const dir of DIRECTIONS)
        this.add('EFC199', dir, 'unknown', `${ptr}/${key}`, `'${group.join('/')}' changed`, sh);
    }
  }

  private compareUnsupported(o: JsonObject, n: JsonObject, ptr: string, sh: string | undefined): void {
    const keys = [...new Set([...Object.keys(o), ...Object.keys(n)])].sort(cmp);
    for (const k of keys) {
      if (HANDLED.has(k) || ANNOTATIONS.has(k) || k.startsWith('x-')) continue;
      if (deepEqual(o[k], n[k])) continue;
      const p = `${ptr}/${pointerSegment(k)}`;
      for (const dir of DIRECTIONS) {
        this.add('EFC199', dir, 'unknown', p, `'${k}' changed (a keyword the checker does not model)`, sh);
      }
    }
  }
}

function hasUnion(s: JsonObject): boolean {
  return Array.isArray(s.anyOf) || Array.isArray(s.oneOf);
}

/** Is `kw` the schema's only validating keyword? */
function onlyCombinator(s: JsonObject, kw: 'anyOf' | 'oneOf'): boolean {
  if (!Array.isArray(s[kw])) return false;
  return Object.keys(s).every((k) => k === kw || ANNOTATIONS.has(k) || k.startsWith('x-'));
}
