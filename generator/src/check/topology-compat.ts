/**
 * Topology-level changes between an old and a new IR that break running systems or would drop
 * broker resources: removed/renamed events, ordering keys, versions, and queues/topics/DLQs that
 * provisioning would leave orphaned. What a change means on one broker (Kafka partitions, a moved
 * topic or queue, a queue type) comes from that broker's topology section (`compat` and
 * `leftovers` of `TopologySection`, runtime/core); the rule ids and severities stay here. Pure: IR
 * in, findings out.
 *
 * Severity: `error` for what breaks consumers or cannot be applied (a consumed event removed, a
 * key changed, partitions shrunk, a version going down); `warning` for destructive but possibly
 * intended operations (a consumer removed, a DLQ dropped) — `--strict` fails on those too.
 */
import type { Compatibility, ConsumerIR, EventIR, SectionChange, SourceLocation, TopologyIR } from '@eventform/runtime';
import { BROKER_SECTIONS } from '../spec/broker-sections.js';
import { canonical, isObject } from './json-values.js';
import { RULES, type RuleId } from './rules.js';
import { resolverFromIR } from './schema-compat.js';

/** Where a finding points when what it is about no longer exists in the new topology. */
export type Anchor = 'topology' | 'events' | 'services';

export interface TopologyFinding {
  rule: RuleId;
  name: string;
  severity: 'error' | 'warning';
  message: string;
  event?: string | undefined;
  consumer?: string | undefined;
  /** The node in the new topology the finding is about, when it exists there. */
  loc?: SourceLocation | undefined;
  /** Otherwise the section to point at (the old location means nothing in the new file). */
  anchor?: Anchor | undefined;
}

/** Every topology-level finding, in a stable order (topology, events by name, consumers by id). */
export function compareTopologies(oldIr: TopologyIR, newIr: TopologyIR): TopologyFinding[] {
  const out: TopologyFinding[] = [];
  const add = (rule: RuleId, severity: 'error' | 'warning', message: string, where: Partial<TopologyFinding>): void => {
    out.push({ rule, name: RULES[rule].name, severity, message, ...where });
  };
  const renamedTopology = oldIr.name !== newIr.name;
  if (renamedTopology) {
    add(
      'EFC214',
      'warning',
      `the topology was renamed from '${oldIr.name}' to '${newIr.name}': every exchange, queue, topic and consumer group gets a new name; the old ones, their messages and their dead-letter queues are left behind and consumer groups restart without committed offsets`,
      { anchor: 'topology' },
    );
  }
  if (newIr.version < oldIr.version) {
    add('EFC206', 'error', `the topology version went down from ${oldIr.version} to ${newIr.version}`, {
      anchor: 'topology',
    });
  }
  // After a topology rename every resource name changes (that one finding says so for all of them)
  // and the new resources are new: nothing moves, nothing stored is cut short.
  const changes = BROKER_SECTIONS.flatMap((s) => s.compat(oldIr, newIr)).filter(
    (c) =>
      !(
        renamedTopology &&
        (c.kind === 'event-moved' || c.kind === 'consumer-moved' || c.kind === 'retention-shortened')
      ),
  );
  compareEvents(oldIr, newIr, renamedTopology, changes, add);
  compareConsumers(oldIr, newIr, renamedTopology, changes, add);
  return out;
}

type Add = (rule: RuleId, severity: 'error' | 'warning', message: string, where: Partial<TopologyFinding>) => void;

/** The rule and severity of each kind of broker change. */
const CHANGE_RULES: Record<SectionChange['kind'], { rule: RuleId; severity: 'error' | 'warning' }> = {
  'partitions-decreased': { rule: 'EFC204', severity: 'error' },
  'partitions-increased': { rule: 'EFC205', severity: 'warning' },
  'event-moved': { rule: 'EFC213', severity: 'warning' },
  'consumer-moved': { rule: 'EFC211', severity: 'warning' },
  'queue-type-changed': { rule: 'EFC212', severity: 'warning' },
  'retention-shortened': { rule: 'EFC217', severity: 'warning' },
};

/** Adds the broker changes of one kind to one event or consumer. */
function addChanges(
  changes: readonly SectionChange[],
  kinds: readonly SectionChange['kind'][],
  of: (c: SectionChange) => boolean,
  where: Partial<TopologyFinding>,
  add: Add,
): void {
  for (const kind of kinds) {
    for (const c of changes) {
      if (c.kind === kind && of(c)) add(CHANGE_RULES[kind].rule, CHANGE_RULES[kind].severity, c.message, where);
    }
  }
}

/** What a removed event or consumer leaves behind, broker by broker: `a and b`. */
function leftovers(pick: (l: (typeof BROKER_SECTIONS)[number]['leftovers']) => string | undefined): string {
  return BROKER_SECTIONS.map((s) => pick(s.leftovers))
    .filter((x): x is string => x !== undefined)
    .join(' and ');
}

function compareEvents(
  oldIr: TopologyIR,
  newIr: TopologyIR,
  renamedTopology: boolean,
  changes: readonly SectionChange[],
  add: Add,
): void {
  const oldByName = new Map(oldIr.events.map((e) => [e.name, e] as const));
  const newByName = new Map(newIr.events.map((e) => [e.name, e] as const));
  const added = newIr.events.filter((e) => !oldByName.has(e.name));
  const addedShapes = new Map(added.map((e) => [e.name, expandedPayload(e, newIr)] as const));
  const claimed = new Set<string>();

  for (const before of sortByName(oldIr.events)) {
    const after = newByName.get(before.name);
    if (!after) {
      const shape = expandedPayload(before, oldIr);
      const twin = added.find((e) => !claimed.has(e.name) && addedShapes.get(e.name) === shape);
      const consumed = before.consumers.length > 0;
      const severity = consumed ? 'error' : 'warning';
      const who = consumed
        ? `${plural(before.consumers.length, 'consumer')} (${before.consumers.join(', ')}) consumed it`
        : 'no consumer consumed it, but producers still running the old code may publish it';
      const left = `${leftovers((l) => l.event(before))} would be orphaned`;
      if (twin) {
        claimed.add(twin.name);
        add(
          'EFC202',
          severity,
          `event '${twin.name}' looks renamed from '${before.name}' (identical payload): ${who}; a rename changes the routing key and topic, so ${left}`,
          { event: twin.name, loc: twin.loc },
        );
      } else {
        add('EFC201', severity, `event '${before.name}' was removed: ${who}; ${left}`, {
          event: before.name,
          anchor: 'events',
        });
      }
      continue;
    }
    const at = { event: after.name, loc: after.loc };
    if (before.key !== after.key) {
      if (before.key === null) {
        add(
          'EFC203',
          'warning',
          `event '${after.name}' gained ordering key '${after.key}': messages published before and after the change are not ordered relative to each other`,
          at,
        );
      } else {
        const change =
          after.key === null
            ? `lost its ordering key '${before.key}'`
            : `changed its ordering key from '${before.key}' to '${after.key}'`;
        add(
          'EFC203',
          'error',
          `event '${after.name}' ${change}: messages with the same ${before.key} can land on different partitions and be processed out of order, which breaks per-key ordering`,
          at,
        );
      }
    }
    const ofEvent = (c: SectionChange) => c.event === after.name;
    addChanges(changes, ['partitions-decreased', 'partitions-increased'], ofEvent, at, add);
    if (after.version < before.version) {
      add('EFC206', 'error', `event '${after.name}' version went down from ${before.version} to ${after.version}`, at);
    }
    addChanges(changes, ['event-moved', 'retention-shortened'], ofEvent, at, add);
    const lost = directions(before.compatibility).filter((d) => !directions(after.compatibility).includes(d));
    if (lost.length > 0) {
      add(
        'EFC216',
        'warning',
        `event '${after.name}' compatibility relaxed from ${before.compatibility} to ${after.compatibility}: ${lost.join(' and ')} compatibility is no longer checked`,
        at,
      );
    }
  }
}

function compareConsumers(
  oldIr: TopologyIR,
  newIr: TopologyIR,
  renamedTopology: boolean,
  changes: readonly SectionChange[],
  add: Add,
): void {
  const newById = new Map(newIr.consumers.map((c) => [c.id, c] as const));
  const oldIds = new Set(oldIr.consumers.map((c) => c.id));
  const added = newIr.consumers.filter((c) => !oldIds.has(c.id));
  const claimed = new Set<string>();
  const newEvents = new Set(newIr.events.map((e) => e.name));
  const serviceLoc = new Map(newIr.services.map((s) => [s.name, s.loc] as const));

  for (const before of [...oldIr.consumers].sort((a, b) => cmp(a.id, b.id))) {
    const after = newById.get(before.id);
    if (!after) {
      const twin = added.find(
        (c) => !claimed.has(c.id) && c.service === before.service && canonical(c.events) === canonical(before.events),
      );
      const resources = describeResources(before);
      if (twin) {
        claimed.add(twin.id);
        add(
          'EFC208',
          'warning',
          `consumer '${twin.id}' looks renamed from '${before.id}' (same service and events): it gets new queues and a new consumer group; ${resources} would be orphaned — drain them (the DLQ may still hold messages) before deleting`,
          { consumer: twin.id, loc: twin.loc },
        );
      } else {
        const loc = serviceLoc.get(before.service);
        add(
          'EFC207',
          'warning',
          `consumer '${before.id}' was removed: ${resources} would be orphaned — drain them (the DLQ may still hold messages) before deleting`,
          loc ? { consumer: before.id, loc } : { consumer: before.id, anchor: 'services' },
        );
      }
      continue;
    }
    const at = { consumer: after.id, loc: after.loc };
    const oldDlq = BROKER_SECTIONS.flatMap((s) => s.leftovers.deadLetters(before));
    const newDlq = new Set(BROKER_SECTIONS.flatMap((s) => s.leftovers.deadLetters(after)));
    const droppedDlq = oldDlq.filter((q) => !newDlq.has(q));
    if (droppedDlq.length > 0 && !renamedTopology) {
      const why = after.deadLetter ? 'is renamed' : 'is turned off (deadLetter: false)';
      add(
        'EFC209',
        'warning',
        `dead-lettering of '${after.id}' ${why}: ${droppedDlq.join(' and ')} would be orphaned while it may hold messages; replay or drain it first`,
        at,
      );
    }
    const newRetry = new Set(BROKER_SECTIONS.flatMap((s) => s.leftovers.retries(after)));
    const droppedRetry = BROKER_SECTIONS.flatMap((s) => s.leftovers.retries(before)).filter((q) => !newRetry.has(q));
    if (droppedRetry.length > 0 && !renamedTopology) {
      add(
        'EFC210',
        'warning',
        `retry policy of '${after.id}' changed: ${droppedRetry.join(', ')} would be dropped while messages may be waiting in it for their retry`,
        at,
      );
    }
    const ofConsumer = (c: SectionChange) => c.consumer === after.id;
    addChanges(changes, ['consumer-moved', 'queue-type-changed'], ofConsumer, at, add);
    const dropped = before.events.filter((e) => !after.events.includes(e) && newEvents.has(e));
    if (dropped.length > 0) {
      add(
        'EFC215',
        'warning',
        `'${after.id}' no longer consumes ${dropped.join(', ')}: messages of ${dropped.length === 1 ? 'it' : 'them'} already in ${waiting(after)} would find no handler and be dead-lettered`,
        at,
      );
    }
  }
}

function describeResources(c: ConsumerIR): string {
  return leftovers((l) => l.consumer(c));
}

/** Where the consumer's messages wait, named by the first broker that has such a place. */
function waiting(c: ConsumerIR): string {
  for (const s of BROKER_SECTIONS) {
    const name = s.leftovers.waiting?.(c);
    if (name !== undefined) return name;
  }
  return 'its queue';
}

/** The payload with every shared-schema `$ref` inlined, as canonical JSON: equal ⇔ identical payloads. */
export function expandedPayload(ev: EventIR, ir: TopologyIR): string {
  const resolver = resolverFromIR(ir);
  const expand = (s: unknown, stack: string[]): unknown => {
    if (Array.isArray(s)) return s.map((x) => expand(x, stack));
    if (!isObject(s)) return s;
    if (typeof s.$ref === 'string') {
      const target = resolver.resolve(s.$ref);
      if (target && !stack.includes(target.name)) {
        const rest = Object.fromEntries(Object.entries(s).filter(([k]) => k !== '$ref'));
        const inner = expand(target.schema, [...stack, target.name]);
        return Object.keys(rest).length === 0 ? inner : { allOf: [inner, expand(rest, stack)] };
      }
      // A recursive reference: name the cycle by depth so renamed shared schemas still compare equal.
      if (target) return { $ref: `cycle:${stack.length - stack.indexOf(target.name)}` };
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(s)) {
      if (k === 'description' || k === 'title' || k === 'examples' || k === '$comment') continue;
      out[k] = expand(v, stack);
    }
    return out;
  };
  return canonical(expand(ev.payload, []));
}

function directions(mode: Compatibility): string[] {
  return mode === 'full' ? ['backward', 'forward'] : mode === 'none' ? [] : [mode];
}

function sortByName<T extends { name: string }>(xs: readonly T[]): T[] {
  return [...xs].sort((a, b) => cmp(a.name, b.name));
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
