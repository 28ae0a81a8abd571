/**
 * Structural pass: the positioned YAML tree → {@link RawTopology}. Reports unknown fields (with
 * "did you mean"), wrong types, missing required fields, out-of-range numbers, bad durations and
 * names in the wrong case. It keeps going after a problem so every diagnostic appears at once.
 */
import type {
  BackoffKind,
  Compatibility,
  ContentMode,
  IdempotencyStoreKind,
  SectionFieldSpec,
  SectionLevel,
} from '@eventform/runtime';
import { BROKER_SECTIONS } from './broker-sections.js';
import { LIMITS } from './defaults.js';
import type { DiagnosticSink, Span } from './diagnostics.js';
import { formatDuration, parseDuration } from './duration.js';
import { CAMEL, KEBAB, PASCAL, camelCase, pascalCase, toKebab } from './naming.js';
import type {
  Located,
  RawConsumer,
  RawDefaults,
  RawEvent,
  RawIdempotency,
  RawPolicies,
  RawRetry,
  RawSections,
  RawService,
  RawTopology,
} from './raw-topology.js';
import { didYouMean } from './suggest.js';
import { describeNode, type YMap, type YMapEntry, type YNode } from './yaml-tree.js';

/** The broker section keys a level takes (`kafka`, ...), in `BROKER_PACKAGES` order. */
const sectionKeys = (level: SectionLevel): string[] =>
  BROKER_SECTIONS.filter((s) => s.fields[level] !== undefined).map((s) => s.key);

/**
 * Allowed fields per object, exported for the format-schema consistency test. The broker sections'
 * own fields are their packages' (`TopologySection.fields`).
 */
export const FIELDS = {
  root: ['topology', 'version', 'description', 'defaults', 'schemas', 'events', 'services', ...sectionKeys('root')],
  defaults: ['retry', 'deadLetter', 'idempotency', 'concurrency', 'compatibility', 'contentMode'],
  retry: ['attempts', 'backoff', 'delay', 'maxDelay', 'jitter'],
  idempotency: ['enabled', 'key', 'window'],
  event: [
    'description',
    'version',
    'key',
    'payload',
    'examples',
    'compatibility',
    'contentMode',
    ...sectionKeys('event'),
  ],
  service: ['description', 'store', 'produces', 'consumes'],
  consumer: ['event', 'retry', 'deadLetter', 'idempotency', 'concurrency', ...sectionKeys('consumer')],
} as const satisfies Record<string, readonly string[]>;

export const BACKOFFS: readonly BackoffKind[] = ['fixed', 'exponential'];
export const COMPATIBILITIES: readonly Compatibility[] = ['backward', 'forward', 'full', 'none'];
export const CONTENT_MODES: readonly ContentMode[] = ['binary', 'structured'];
export const STORES: readonly IdempotencyStoreKind[] = ['memory', 'postgres'];

export function readTopology(file: string, root: YNode, sink: DiagnosticSink): RawTopology | null {
  if (root.kind !== 'map') {
    sink.report(
      'EF1011',
      root.span,
      `a topology must be a mapping, got ${describeNode(root)}`,
      'start with `topology: <name>` and `events:`',
    );
    return null;
  }
  return new Reader(sink).topology(file, root);
}

class Reader {
  constructor(private readonly sink: DiagnosticSink) {}

  topology(file: string, root: YMap): RawTopology {
    const t: RawTopology = {
      file,
      rootSpan: root.span,
      defaults: {},
      schemas: [],
      events: [],
      services: [],
      sections: {},
    };
    const f = this.fields(root, FIELDS.root, 'the topology');

    const name = this.require(root, f, 'topology', 'the topology', 'add `topology: <kebab-case-name>`');
    if (name) {
      const n = this.str(name.value, `'topology'`);
      if (n !== undefined) {
        if (!KEBAB.test(n)) {
          this.sink.report(
            'EF3001',
            name.value.span,
            `topology name '${n}' must be kebab-case (lower-case words joined by '-')`,
            kebabHint(n),
          );
        }
        t.name = { value: n, span: name.value.span };
      }
    }
    if (f.version) t.version = this.int(f.version.value, `'version'`, 1, Number.MAX_SAFE_INTEGER);
    if (f.description) t.description = this.str(f.description.value, `'description'`);
    if (f.defaults) t.defaults = this.defaults(f.defaults.value);
    if (f.schemas) this.schemas(f.schemas.value, t);
    const events = this.require(root, f, 'events', 'the topology', 'declare at least one event under `events:`');
    if (events) this.events(events, t);
    if (f.services) this.services(f.services.value, t);
    t.sections = this.sections(f, 'root', (field) => `'${field}'`);
    return t;
  }

  // ---- sections -----------------------------------------------------------------------------

  private defaults(node: YNode): RawDefaults {
    const m = this.map(node, `'defaults'`);
    if (!m) return {};
    const f = this.fields(m, FIELDS.defaults, `'defaults'`);
    const d: RawDefaults = this.policies(f, (field) => `'defaults.${field}'`);
    if (f.compatibility)
      d.compatibility = this.oneOf(f.compatibility.value, `'defaults.compatibility'`, COMPATIBILITIES);
    if (f.contentMode) d.contentMode = this.oneOf(f.contentMode.value, `'defaults.contentMode'`, CONTENT_MODES);
    return d;
  }

  private schemas(node: YNode, t: RawTopology): void {
    const m = this.map(node, `'schemas'`);
    if (!m) return;
    for (const e of m.entries) {
      if (!PASCAL.test(e.key)) {
        this.sink.report('EF3005', e.keySpan, `schema name '${e.key}' must be PascalCase`, pascalHint(e.key));
      }
      if (e.value.kind !== 'map' && !(e.value.kind === 'scalar' && typeof e.value.value === 'boolean')) {
        this.typeError(e.value, `schema '${e.key}'`, 'a JSON Schema (a mapping)');
        continue;
      }
      t.schemas.push({ name: e.key, nameSpan: e.keySpan, node: e.value });
    }
  }

  private events(entry: YMapEntry, t: RawTopology): void {
    const m = this.map(entry.value, `'events'`);
    if (!m) return;
    if (m.entries.length === 0) {
      this.sink.report(
        'EF2006',
        entry.value.span.line === entry.keySpan.line ? entry.value.span : entry.keySpan,
        `'events' is empty; a topology declares at least one event`,
      );
      return;
    }
    for (const e of m.entries) {
      if (!PASCAL.test(e.key)) {
        this.sink.report('EF3003', e.keySpan, `event name '${e.key}' must be PascalCase`, pascalHint(e.key));
      }
      const em = this.map(e.value, `event '${e.key}'`);
      if (!em) continue;
      const what = `event '${e.key}'`;
      const f = this.fields(em, FIELDS.event, what);
      const ev: RawEvent = { name: e.key, nameSpan: e.keySpan, examples: [], sections: {} };
      if (f.description) ev.description = this.str(f.description.value, `'description' of ${what}`);
      if (f.version) ev.version = this.int(f.version.value, `'version' of ${what}`, 1, Number.MAX_SAFE_INTEGER);
      if (f.key) ev.key = this.located(f.key.value, this.str(f.key.value, `'key' of ${what}`));
      const payload =
        f.payload ??
        this.missing(
          e.keySpan,
          'payload',
          what,
          'add `payload:` with a JSON Schema, e.g. `{ type: object, properties: {...} }`',
        );
      if (payload) {
        if (
          payload.value.kind === 'map' ||
          (payload.value.kind === 'scalar' && typeof payload.value.value === 'boolean')
        ) {
          ev.payload = payload.value;
        } else {
          this.typeError(payload.value, `'payload' of ${what}`, 'a JSON Schema (a mapping)');
        }
      }
      if (f.examples) {
        const s = this.seq(f.examples.value, `'examples' of ${what}`);
        if (s) ev.examples = s;
      }
      if (f.compatibility)
        ev.compatibility = this.oneOf(f.compatibility.value, `'compatibility' of ${what}`, COMPATIBILITIES);
      if (f.contentMode) ev.contentMode = this.oneOf(f.contentMode.value, `'contentMode' of ${what}`, CONTENT_MODES);
      ev.sections = this.sections(f, 'event', (field) => `'${field}' of ${what}`);
      t.events.push(ev);
    }
  }

  private services(node: YNode, t: RawTopology): void {
    const m = this.map(node, `'services'`);
    if (!m) return;
    for (const e of m.entries) {
      if (!KEBAB.test(e.key)) {
        this.sink.report(
          'EF3002',
          e.keySpan,
          `service name '${e.key}' must be kebab-case (lower-case words joined by '-')`,
          kebabHint(e.key),
        );
      }
      const what = `service '${e.key}'`;
      const s: RawService = { name: e.key, nameSpan: e.keySpan, produces: [], consumers: [] };
      t.services.push(s);
      if (e.value.kind === 'scalar' && e.value.value === null) continue; // reported later as "does nothing"
      const sm = this.map(e.value, what);
      if (!sm) continue;
      const f = this.fields(sm, FIELDS.service, what);
      if (f.description) s.description = this.str(f.description.value, `'description' of ${what}`);
      if (f.store) s.store = this.oneOf(f.store.value, `'store' of ${what}`, STORES);
      if (f.produces) s.produces = this.nameList(f.produces.value, `'produces' of ${what}`);
      if (f.consumes) {
        const cm = this.map(f.consumes.value, `'consumes' of ${what}`);
        for (const h of cm?.entries ?? []) {
          const c = this.consumer(e.key, h);
          if (c) s.consumers.push(c);
        }
      }
    }
  }

  private consumer(service: string, h: YMapEntry): RawConsumer | undefined {
    const what = `handler '${service}.${h.key}'`;
    if (!CAMEL.test(h.key)) {
      this.sink.report('EF3004', h.keySpan, `handler name '${h.key}' must be camelCase`, camelHint(h.key));
    }
    const hm = this.map(h.value, what, 'a mapping with at least `event:`');
    if (!hm) return undefined;
    const f = this.fields(hm, FIELDS.consumer, what);
    const c: RawConsumer = {
      service,
      handler: h.key,
      handlerSpan: h.keySpan,
      eventSpan: h.keySpan,
      events: [],
      policies: this.policies(f, (field) => `'${field}' of ${what}`),
      sections: this.sections(f, 'consumer', (field) => `'${field}' of ${what}`),
    };
    const ev =
      f.event ??
      this.missing(h.keySpan, 'event', what, 'name the event(s) it handles: `event: OrderCreated` or `event: [A, B]`');
    if (ev) {
      c.eventSpan = ev.value.span;
      if (ev.value.kind === 'scalar' && typeof ev.value.value === 'string') {
        c.events = [{ value: ev.value.value, span: ev.value.span }];
      } else if (ev.value.kind === 'seq') {
        c.events = this.nameList(ev.value, `'event' of ${what}`);
        if (ev.value.items.length === 0) {
          this.sink.report(
            'EF4002',
            ev.value.span,
            `${what} consumes no events`,
            'list at least one event: `event: [OrderCreated]`',
          );
        }
      } else {
        this.typeError(ev.value, `'event' of ${what}`, 'an event name or a list of event names');
      }
    }
    return c;
  }

  /**
   * The broker sections written at one place (`level`), each read by its package's field specs.
   * `of` names a field in messages: `'kafka.partitions'`, `'kafka.topic' of event 'X'`.
   */
  private sections(
    f: Partial<Record<string, YMapEntry>>,
    level: SectionLevel,
    of: (field: string) => string,
  ): RawSections {
    const out: RawSections = {};
    for (const section of BROKER_SECTIONS) {
      const specs = section.fields[level];
      const entry = specs ? f[section.key] : undefined;
      if (!specs || !entry) continue;
      const m = this.map(entry.value, of(section.key));
      if (!m) continue;
      const written = this.fields(m, Object.keys(specs), of(section.key));
      const values: RawSections[string]['values'] = {};
      for (const [name, spec] of Object.entries(specs)) {
        const e = written[name];
        const v = e && this.sectionField(e.value, of(`${section.key}.${name}`), spec);
        if (v) values[name] = v;
      }
      out[section.key] = { span: entry.value.span, values };
    }
    return out;
  }

  private sectionField(node: YNode, what: string, spec: SectionFieldSpec): Located<unknown> | undefined {
    switch (spec.type) {
      case 'int':
        return this.int(node, what, spec.min, spec.max);
      case 'oneOf':
        return this.oneOf(node, what, spec.values);
      case 'name':
        return this.resourceName(node, what, spec.pattern, spec.allowed);
      case 'duration':
        return this.duration(node, what, spec.minMs, spec.maxMs);
      case 'stringMap': {
        const m = this.map(node, what);
        if (!m) return undefined;
        const out: Record<string, string> = {};
        for (const c of m.entries) {
          const v = c.value;
          if (v.kind === 'scalar' && v.value !== null) out[c.key] = String(v.value);
          else this.typeError(v, `${spec.entry} '${c.key}'`, 'a string, number or boolean');
        }
        return { value: out, span: node.span };
      }
    }
  }

  /**
   * retry / deadLetter / idempotency / concurrency, shared by `defaults:` and handlers. `of`
   * names a field in messages: `'defaults.retry'`, `'retry' of handler 'a.b'`.
   */
  private policies(f: Partial<Record<string, YMapEntry>>, of: (field: string) => string): RawPolicies {
    const p: RawPolicies = {};
    if (f.retry) p.retry = this.retry(f.retry.value, of('retry'));
    if (f.deadLetter) p.deadLetter = this.bool(f.deadLetter.value, of('deadLetter'));
    if (f.idempotency) p.idempotency = this.idempotency(f.idempotency.value, of('idempotency'));
    if (f.concurrency) p.concurrency = this.int(f.concurrency.value, of('concurrency'), 1, LIMITS.maxConcurrency);
    return p;
  }

  private retry(node: YNode, what: string): RawRetry | undefined {
    if (node.kind === 'scalar' && node.value === false) return { span: node.span, disabled: true };
    const m = this.map(node, what, 'a mapping like `{ attempts: 3, backoff: exponential, delay: 200ms }` or `false`');
    if (!m) return undefined;
    const f = this.fields(m, FIELDS.retry, what);
    const r: RawRetry = { span: node.span, disabled: false };
    if (f.attempts) r.attempts = this.int(f.attempts.value, sub(what, 'attempts'), 1, LIMITS.maxAttempts);
    if (f.backoff) r.backoff = this.oneOf(f.backoff.value, sub(what, 'backoff'), BACKOFFS);
    if (f.delay) r.delayMs = this.duration(f.delay.value, sub(what, 'delay'), 0);
    if (f.maxDelay) r.maxDelayMs = this.duration(f.maxDelay.value, sub(what, 'maxDelay'), 0);
    if (f.jitter) {
      const j = this.num(f.jitter.value, sub(what, 'jitter'));
      if (j !== undefined) {
        if (j < 0 || j > 1) {
          this.sink.report(
            'EF2005',
            f.jitter.value.span,
            `${sub(what, 'jitter')} must be between 0 and 1, got ${j}`,
            'jitter is a fraction of each delay: 0.2 spreads delays by ±20%',
          );
        } else r.jitter = { value: j, span: f.jitter.value.span };
      }
    }
    return r;
  }

  private idempotency(node: YNode, what: string): RawIdempotency | undefined {
    if (node.kind === 'scalar' && typeof node.value === 'boolean') {
      return { span: node.span, enabled: { value: node.value, span: node.span } };
    }
    const m = this.map(node, what, 'a mapping like `{ key: orderId, window: 7d }`, or `false`');
    if (!m) return undefined;
    const f = this.fields(m, FIELDS.idempotency, what);
    const r: RawIdempotency = { span: node.span };
    if (f.enabled) r.enabled = this.bool(f.enabled.value, sub(what, 'enabled'));
    if (f.key) {
      const v = f.key.value;
      if (v.kind === 'scalar' && v.value === null) r.key = { value: null, span: v.span };
      else r.key = this.located(v, this.str(v, sub(what, 'key')));
    }
    if (f.window) r.windowMs = this.duration(f.window.value, sub(what, 'window'), 1, LIMITS.maxWindowMs);
    return r;
  }

  // ---- primitives ---------------------------------------------------------------------------

  /** Reports unknown fields; returns the known ones by name. */
  private fields(map: YMap, allowed: readonly string[], what: string): Partial<Record<string, YMapEntry>> {
    const out: Partial<Record<string, YMapEntry>> = {};
    for (const e of map.entries) {
      if ((allowed as readonly string[]).includes(e.key)) {
        out[e.key] = e;
      } else {
        const hint = () => didYouMean(e.key, allowed) ?? `allowed fields: ${allowed.join(', ')}`;
        this.sink.report('EF2001', e.keySpan, `unknown field '${e.key}' in ${what}`, hint);
      }
    }
    return out;
  }

  private require(
    map: YMap,
    f: Partial<Record<string, YMapEntry>>,
    key: string,
    what: string,
    hint: string,
  ): YMapEntry | undefined {
    return f[key] ?? this.missing(map.entries[0]?.keySpan ?? map.span, key, what, hint);
  }

  private missing(at: Span, key: string, what: string, hint: string): undefined {
    this.sink.report('EF2003', at, `${what} is missing the required field '${key}'`, hint);
    return undefined;
  }

  private typeError(node: YNode, what: string, expected: string): undefined {
    this.sink.report('EF2002', node.span, `${what} must be ${expected}, got ${describeNode(node)}`);
    return undefined;
  }

  private map(node: YNode, what: string, expected = 'a mapping'): YMap | undefined {
    return node.kind === 'map' ? node : this.typeError(node, what, expected);
  }

  private seq(node: YNode, what: string): YNode[] | undefined {
    return node.kind === 'seq' ? node.items : this.typeError(node, what, 'a list');
  }

  private str(node: YNode, what: string): string | undefined {
    if (node.kind === 'scalar' && typeof node.value === 'string') return node.value;
    return this.typeError(node, what, 'a string');
  }

  private located<T>(node: YNode, value: T | undefined): Located<T> | undefined {
    return value === undefined ? undefined : { value, span: node.span };
  }

  private bool(node: YNode, what: string): Located<boolean> | undefined {
    if (node.kind === 'scalar' && typeof node.value === 'boolean') return { value: node.value, span: node.span };
    return this.typeError(node, what, '`true` or `false`');
  }

  private num(node: YNode, what: string): number | undefined {
    if (node.kind === 'scalar' && typeof node.value === 'number') return node.value;
    return this.typeError(node, what, 'a number');
  }

  private int(node: YNode, what: string, min: number, max: number): Located<number> | undefined {
    const expected = max === Number.MAX_SAFE_INTEGER ? `a positive integer` : `an integer from ${min} to ${max}`;
    if (!(node.kind === 'scalar' && typeof node.value === 'number')) return this.typeError(node, what, expected);
    const v = node.value;
    if (!Number.isInteger(v) || v < min || v > max) {
      this.sink.report('EF2005', node.span, `${what} must be ${expected}, got ${v}`);
      return undefined;
    }
    return { value: v, span: node.span };
  }

  private oneOf<T extends string>(node: YNode, what: string, values: readonly T[]): Located<T> | undefined {
    const s = this.str(node, what);
    if (s === undefined) return undefined;
    if ((values as readonly string[]).includes(s)) return { value: s as T, span: node.span };
    this.sink.report(
      'EF2004',
      node.span,
      `${what} must be one of ${values.join(', ')}; got '${s}'`,
      didYouMean(s, values),
    );
    return undefined;
  }

  private duration(
    node: YNode,
    what: string,
    minMs: number,
    maxMs: number = LIMITS.maxDelayMs,
  ): Located<number> | undefined {
    if (node.kind === 'scalar' && typeof node.value === 'number') {
      this.sink.report(
        'EF6001',
        node.span,
        `${what} must be a duration string, got the number ${node.value}`,
        `add a unit: '${node.value}ms', '${node.value}s', ...`,
      );
      return undefined;
    }
    const s = this.str(node, what);
    if (s === undefined) return undefined;
    const ms = parseDuration(s.trim());
    if (ms === undefined) {
      this.sink.report(
        'EF6001',
        node.span,
        `${what}: '${s}' is not a duration`,
        'write an integer and a unit: 250ms, 5s, 1m, 2h, 7d',
      );
      return undefined;
    }
    if (ms < minMs || ms > maxMs) {
      this.sink.report(
        'EF6002',
        node.span,
        `${what} must be ${minMs > 0 ? 'more than 0' : 'at least 0ms'} and at most ${maxMs === LIMITS.maxDelayMs ? '24d' : formatDuration(maxMs)}, got '${s}'`,
        maxMs === LIMITS.maxDelayMs ? 'broker-side delays are capped at 2^31-1 ms (about 24.8 days)' : undefined,
      );
      return undefined;
    }
    return { value: ms, span: node.span };
  }

  private nameList(node: YNode, what: string): Located<string>[] {
    if (node.kind === 'scalar' && typeof node.value === 'string') return [{ value: node.value, span: node.span }];
    const items = this.seq(node, what);
    const out: Located<string>[] = [];
    for (const item of items ?? []) {
      const s = this.str(item, `an entry of ${what}`);
      if (s !== undefined) out.push({ value: s, span: item.span });
    }
    return out;
  }

  private resourceName(node: YNode, what: string, pattern: RegExp, allowed: string): Located<string> | undefined {
    const s = this.str(node, what);
    if (s === undefined) return undefined;
    if (!pattern.test(s)) {
      this.sink.report('EF2004', node.span, `${what} '${s}' may only contain letters, digits and ${allowed}`);
      return undefined;
    }
    return { value: s, span: node.span };
  }
}

/** `'retry' of handler 'x'` + `delay` → `'retry.delay' of handler 'x'`. */
function sub(what: string, field: string): string {
  const m = /^'([^']+)'(.*)$/.exec(what);
  return m ? `'${m[1]}.${field}'${m[2]}` : `'${field}' of ${what}`;
}

function kebabHint(name: string): string | undefined {
  const k = toKebab(name);
  return k && k !== name && KEBAB.test(k) ? `did you mean '${k}'?` : undefined;
}
function pascalHint(name: string): string | undefined {
  const p = pascalCase(name);
  return p && p !== name && PASCAL.test(p) ? `did you mean '${p}'?` : undefined;
}
function camelHint(name: string): string | undefined {
  const c = camelCase(name);
  return c && c !== name && CAMEL.test(c) ? `did you mean '${c}'?` : undefined;
}
