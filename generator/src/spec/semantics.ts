/**
 * Cross-reference and policy checks on the structurally valid topology: name collisions that no
 * identifier escaping can fix, unknown events, ordering and idempotency keys, the advisory warnings
 * (past tense, unused events, ...), and what each broker's topology section finds (its settings and
 * resource names; `TopologySection`, runtime/core).
 */
import type { SectionProblem } from '@eventform/runtime';
import { sectionInput, sectionSpan } from './broker-section-input.js';
import { BROKER_SECTIONS } from './broker-sections.js';
import type { DiagnosticCode } from './codes.js';
import { cmp, type DiagnosticSink, type Span } from './diagnostics.js';
import { formatDuration } from './duration.js';
import { RISKY_MEMBER_NAMES, TS_GLOBAL_TYPES, looksPastTense, pascalCase } from './naming.js';
import type { EffectivePolicies } from './policies.js';
import type { Located, RawConsumer, RawTopology } from './raw-topology.js';
import type { ResolvedSchema, SharedSchema } from './schema-refs.js';
import { objectShape, stringness } from './schema-shape.js';
import { didYouMean } from './suggest.js';

export interface SemanticInput {
  raw: RawTopology;
  shared: ReadonlyMap<string, SharedSchema>;
  payloads: ReadonlyMap<string, ResolvedSchema>;
  policies: ReadonlyMap<RawConsumer, EffectivePolicies>;
}

export function checkSemantics(input: SemanticInput, sink: DiagnosticSink): void {
  checkNames(input, sink);
  checkReferences(input, sink);
  checkKeys(input, sink);
  checkPolicies(input, sink);
  checkBrokerSections(input, sink);
}

// ---- names ------------------------------------------------------------------------------------

function checkNames({ raw, shared }: SemanticInput, sink: DiagnosticSink): void {
  // Types are emitted for events and shared schemas into one namespace; case-insensitive file
  // systems and `Foo`/`FOO` look-alikes make case-folded collisions unfixable by escaping.
  const typeNames = new Map<string, { name: string; kind: string; span: Span }>();
  const candidates = [
    ...[...shared.values()].map((s) => ({
      name: s.name,
      kind: s.origin === 'inline' ? 'schema' : `schema (from ${s.origin})`,
      span: s.loc,
    })),
    ...raw.events.map((e) => ({ name: e.name, kind: 'event', span: e.nameSpan })),
  ];
  for (const c of candidates) {
    const folded = c.name.toLowerCase();
    const prev = typeNames.get(folded);
    if (!prev) {
      typeNames.set(folded, c);
      continue;
    }
    if (prev.name === c.name) {
      sink.report(
        'EF3007',
        c.span,
        `${c.kind} '${c.name}' has the same name as ${prev.kind} '${prev.name}'`,
        'events and shared schemas become TypeScript types in one namespace; rename one of them',
      );
    } else {
      sink.report(
        'EF3006',
        c.span,
        `${c.kind} '${c.name}' differs from ${prev.kind} '${prev.name}' only in letter case`,
        'generated files and types would collide on case-insensitive systems; rename one of them',
      );
    }
  }
  for (const c of candidates) {
    if (TS_GLOBAL_TYPES.has(c.name)) {
      sink.report(
        'EF9010',
        c.span,
        `${c.kind} '${c.name}' shadows the TypeScript global '${c.name}'`,
        'the generator escapes it, but a more specific name reads better',
      );
    }
  }
  for (const e of raw.events) {
    if (!looksPastTense(e.name)) {
      sink.report(
        'EF9001',
        e.nameSpan,
        `event '${e.name}' does not look like past tense`,
        'events are facts that happened: OrderCreated, PaymentFailed, StockReserved',
      );
    }
  }

  const services = new Map<string, string>();
  for (const s of raw.services) {
    const id = pascalCase(s.name).toLowerCase();
    const prev = services.get(id);
    if (prev !== undefined) {
      sink.report(
        'EF3008',
        s.nameSpan,
        `service '${s.name}' and service '${prev}' map to the same identifier '${pascalCase(s.name)}'`,
        'rename one of them',
      );
    } else services.set(id, s.name);

    const handlers = new Map<string, string>();
    for (const c of s.consumers) {
      const folded = c.handler.toLowerCase();
      const prevH = handlers.get(folded);
      if (prevH !== undefined) {
        sink.report(
          'EF3006',
          c.handlerSpan,
          `handler '${c.handler}' of service '${s.name}' differs from handler '${prevH}' only in letter case`,
          'rename one of them',
        );
      } else handlers.set(folded, c.handler);
      if (RISKY_MEMBER_NAMES.has(c.handler)) {
        sink.report(
          'EF9011',
          c.handlerSpan,
          `handler name '${c.handler}' is a JavaScript keyword or Object member`,
          'the generator escapes it, but a verb phrase like `sendEmail` is clearer',
        );
      }
    }
  }
}

// ---- references -------------------------------------------------------------------------------

function checkReferences({ raw }: SemanticInput, sink: DiagnosticSink): void {
  const events = new Set(raw.events.map((e) => e.name));
  const known = [...events];
  const produced = new Set<string>();
  const consumed = new Set<string>();

  const checkList = (list: Located<string>[], what: string, into: Set<string>): Set<string> => {
    const seen = new Set<string>();
    for (const ref of list) {
      if (seen.has(ref.value)) {
        sink.report('EF9008', ref.span, `${what} lists '${ref.value}' twice`);
        continue;
      }
      seen.add(ref.value);
      if (!events.has(ref.value)) {
        sink.report(
          'EF4001',
          ref.span,
          `${what} refers to unknown event '${ref.value}'`,
          () =>
            didYouMean(ref.value, known) ??
            (known.length ? `declared events: ${[...known].sort(cmp).join(', ')}` : undefined),
        );
        continue;
      }
      into.add(ref.value);
    }
    return seen;
  };

  for (const s of raw.services) {
    checkList(s.produces, `'produces' of service '${s.name}'`, produced);
    for (const c of s.consumers) checkList(c.events, `handler '${s.name}.${c.handler}'`, consumed);
    if (s.produces.length === 0 && s.consumers.length === 0) {
      sink.report(
        'EF9006',
        s.nameSpan,
        `service '${s.name}' neither produces nor consumes any event`,
        'add `produces:` or `consumes:`, or remove the service',
      );
    }
  }
  for (const e of raw.events) {
    if (!consumed.has(e.name)) {
      sink.report(
        'EF9002',
        e.nameSpan,
        `event '${e.name}' is not consumed by any service`,
        'fine while a consumer is being built; otherwise remove it',
      );
    }
  }
  for (const s of raw.services) {
    for (const c of s.consumers) {
      for (const ref of c.events) {
        if (events.has(ref.value) && !produced.has(ref.value)) {
          sink.report(
            'EF9003',
            ref.span,
            `handler '${s.name}.${c.handler}' consumes '${ref.value}', which no service produces`,
            `add it to some service's 'produces:' (an external producer is fine too)`,
          );
        }
      }
    }
  }
}

// ---- keys -------------------------------------------------------------------------------------

function checkKeys({ raw, shared, payloads, policies }: SemanticInput, sink: DiagnosticSink): void {
  for (const e of raw.events) {
    const p = payloads.get(e.name);
    if (!e.key || !p?.ok) continue;
    const key = e.key.value;
    const shape = objectShape(p.schema, shared);
    const prop = shape.properties.get(key);
    const fields = [...shape.properties.keys()];
    if (prop === undefined) {
      if (!shape.complete) {
        sink.report(
          'EF9009',
          e.key.span,
          `cannot verify that key '${key}' is a property of event '${e.name}': the payload uses anyOf/oneOf/if`,
          `declare '${key}' under the payload's top-level 'properties' and 'required'`,
        );
      } else {
        sink.report(
          'EF5003',
          e.key.span,
          `key '${key}' is not a property of the payload of event '${e.name}'`,
          didYouMean(key, fields) ??
            (fields.length ? `properties: ${fields.join(', ')}` : 'the payload declares no properties'),
        );
      }
      continue;
    }
    if (!shape.required.has(key)) {
      sink.report(
        'EF5004',
        e.key.span,
        `key '${key}' of event '${e.name}' must be a required property`,
        `add '${key}' to the payload's 'required' list`,
      );
    }
    const str = stringness(prop, shared);
    if (str !== 'string') {
      const what = str === 'unknown' ? 'has no declared type' : `is ${str.not}`;
      sink.report(
        'EF5005',
        e.key.span,
        `key '${key}' of event '${e.name}' must be a string property; it ${what}`,
        `declare it as \`${key}: { type: string }\``,
      );
    }
  }

  // Idempotency keys: a required field of every consumed event.
  const reported = new Set<string>();
  for (const s of raw.services) {
    for (const c of s.consumers) {
      const pol = policies.get(c)!;
      const key = pol.idempotency.key;
      if (!pol.idempotency.enabled || key === null) continue;
      const at = pol.spans.idempotencyKey ?? c.handlerSpan;
      for (const ref of c.events) {
        const p = payloads.get(ref.value);
        if (!p?.ok) continue;
        const shape = objectShape(p.schema, shared);
        const ok = shape.properties.has(key) && shape.required.has(key);
        if (ok || (!shape.complete && !shape.properties.has(key))) continue;
        const dedupe = `${at.file}:${at.line}:${at.col}:${ref.value}`;
        if (reported.has(dedupe)) continue;
        reported.add(dedupe);
        const problem = shape.properties.has(key) ? 'is not required in' : 'is not a property of';
        sink.report(
          'EF6003',
          at,
          `idempotency key '${key}' of handler '${s.name}.${c.handler}' ${problem} the payload of '${ref.value}'`,
          'the key must be a required field of every event the handler consumes; omit `key` to dedupe by event id',
        );
      }
    }
  }
}

// ---- policies ---------------------------------------------------------------------------------

function checkPolicies({ raw, policies }: SemanticInput, sink: DiagnosticSink): void {
  const d = raw.defaults;
  if (d.deadLetter?.value === false) {
    sink.report(
      'EF9004',
      d.deadLetter.span,
      'dead-lettering is off by default: spent messages are logged and dropped',
      'keep `deadLetter: true` unless losing messages is acceptable',
    );
  }
  if (d.idempotency?.enabled?.value === false) {
    sink.report(
      'EF9005',
      d.idempotency.enabled.span,
      'idempotency is off by default: redelivered events run their handlers again',
      'handlers must then be idempotent themselves',
    );
  }
  const warnedDelay = new Set<string>();
  for (const s of raw.services) {
    for (const c of s.consumers) {
      const own = c.policies;
      const id = `${s.name}.${c.handler}`;
      if (own.deadLetter?.value === false) {
        sink.report(
          'EF9004',
          own.deadLetter.span,
          `handler '${id}' drops messages whose attempts are spent (deadLetter: false)`,
          'they are logged and acknowledged; keep dead-lettering on unless that is intended',
        );
      }
      if (own.idempotency?.enabled?.value === false) {
        sink.report(
          'EF9005',
          own.idempotency.enabled.span,
          `handler '${id}' has idempotency disabled`,
          'a redelivered event will run the handler again',
        );
      }
      const pol = policies.get(c)!;
      const r = pol.retry;
      if (r.attempts > 1 && r.delayMs > r.maxDelayMs) {
        const at = pol.spans.delay ?? pol.spans.maxDelay ?? c.handlerSpan;
        const k = `${at.file}:${at.line}:${at.col}`;
        if (!warnedDelay.has(k)) {
          warnedDelay.add(k);
          sink.report(
            'EF9007',
            at,
            `retry delay ${formatDuration(r.delayMs)} exceeds maxDelay ${formatDuration(r.maxDelayMs)} for handler '${id}'; every retry waits ${formatDuration(r.maxDelayMs)}`,
            'lower `delay` or raise `maxDelay`',
          );
        }
      }
    }
  }
}

// ---- broker resources -------------------------------------------------------------------------

/** The code a broker section's problem is reported with. */
const PROBLEM_CODES: Record<SectionProblem['kind'], DiagnosticCode> = {
  inconsistent: 'EF6004',
  'needs-key': 'EF6005',
  'name-too-long': 'EF3009',
};

/**
 * Each broker section's own problems, then its resource names: too long for the broker (EF3009), or
 * taken by two owners (EF3010), one problem per owner and broker (the derived names share a cause).
 */
function checkBrokerSections({ raw, policies }: SemanticInput, sink: DiagnosticSink): void {
  for (const section of BROKER_SECTIONS) {
    const input = sectionInput(section, raw, raw.name?.value ?? '', policies);
    for (const p of section.check(input)) {
      sink.report(PROBLEM_CODES[p.kind], sectionSpan(section, raw, p.at), p.message, p.hint);
    }
    if (!raw.name) continue;
    const pools = new Map<string, Map<string, string>>();
    const reported = new Set<string>();
    for (const claim of section.names(input)) {
      const owner = claim.at.level === 'event' ? `event '${claim.at.owner}'` : `handler '${claim.at.owner}'`;
      if (reported.has(owner)) continue;
      const at = sectionSpan(section, raw, claim.at);
      const { name, kind, maxLength } = claim;
      if (name.length > maxLength) {
        reported.add(owner);
        sink.report(
          'EF3009',
          at,
          `${section.title} ${kind} name '${name.slice(0, 60)}…' is ${name.length} characters; the limit is ${maxLength}`,
          'shorten the topology, service or handler name, or override the resource name',
        );
        continue;
      }
      const pool = pools.get(claim.pool) ?? pools.set(claim.pool, new Map()).get(claim.pool)!;
      const prev = pool.get(name);
      if (prev !== undefined && prev !== owner) {
        reported.add(owner);
        sink.report(
          'EF3010',
          at,
          `${section.title} ${kind} '${name}' of ${owner} is also used by ${prev}`,
          'override the resource name of one of them',
        );
      } else pool.set(name, owner);
    }
  }
}
