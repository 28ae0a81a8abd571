/**
 * Topology-level changes between an old and a new IR that break running systems or would drop
 * broker resources: removed/renamed events, ordering keys, Kafka partitions, versions, and
 * queues/topics/DLQs that provisioning would leave orphaned. Pure: IR in, findings out.
 *
 * Severity: `error` for what breaks consumers or cannot be applied (a consumed event removed, a
 * key changed, partitions shrunk, a version going down); `warning` for destructive but possibly
 * intended operations (a consumer removed, a DLQ dropped) — `--strict` fails on those too.
 */
import type { Compatibility, ConsumerIR, EventIR, SourceLocation, TopologyIR } from '@eventform/runtime';
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
  compareEvents(oldIr, newIr, renamedTopology, add);
  compareConsumers(oldIr, newIr, renamedTopology, add);
  return out;
}

type Add = (rule: RuleId, severity: 'error' | 'warning', message: string, where: Partial<TopologyFinding>) => void;

function compareEvents(oldIr: TopologyIR, newIr: TopologyIR, renamedTopology: boolean, add: Add): void {
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
      const left = `its Kafka topic ${before.kafka.topic} and any messages still queued under routing key ${before.rabbitmq.routingKey} would be orphaned`;
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
    if (after.kafka.partitions < before.kafka.partitions) {
      add(
        'EFC204',
        'error',
        `Kafka partitions of ${after.kafka.topic} decreased from ${before.kafka.partitions} to ${after.kafka.partitions}: a topic cannot shrink; create a new topic and migrate instead`,
        at,
      );
    } else if (after.kafka.partitions > before.kafka.partitions) {
      add(
        'EFC205',
        'warning',
        `Kafka partitions of ${after.kafka.topic} increased from ${before.kafka.partitions} to ${after.kafka.partitions}: the key → partition mapping changes, so messages with the same key may be processed out of order around the change`,
        at,
      );
    }
    if (after.version < before.version) {
      add('EFC206', 'error', `event '${after.name}' version went down from ${before.version} to ${after.version}`, at);
    }
    if (!renamedTopology) {
      if (after.kafka.topic !== before.kafka.topic) {
        add(
          'EFC213',
          'warning',
          `event '${after.name}' moves from Kafka topic ${before.kafka.topic} to ${after.kafka.topic}: retained messages stay in the old topic`,
          at,
        );
      }
      if (after.rabbitmq.exchange !== before.rabbitmq.exchange) {
        add(
          'EFC213',
          'warning',
          `event '${after.name}' moves from RabbitMQ exchange ${before.rabbitmq.exchange} to ${after.rabbitmq.exchange}: producers still on the old code publish to the old one`,
          at,
        );
      }
    }
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

function compareConsumers(oldIr: TopologyIR, newIr: TopologyIR, renamedTopology: boolean, add: Add): void {
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
    const oldDlq = [before.rabbitmq.deadLetterQueue, before.kafka.deadLetterTopic].filter(
      (x): x is string => x !== null,
    );
    const newDlq = new Set([after.rabbitmq.deadLetterQueue, after.kafka.deadLetterTopic].filter((x) => x !== null));
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
    const newRetry = new Set([...after.rabbitmq.retryQueues.map((q) => q.name), after.kafka.retryTopic]);
    const droppedRetry = [...before.rabbitmq.retryQueues.map((q) => q.name), before.kafka.retryTopic].filter(
      (q): q is string => q !== null && !newRetry.has(q),
    );
    if (droppedRetry.length > 0 && !renamedTopology) {
      add(
        'EFC210',
        'warning',
        `retry policy of '${after.id}' changed: ${droppedRetry.join(', ')} would be dropped while messages may be waiting in it for their retry`,
        at,
      );
    }
    if (!renamedTopology) {
      if (after.rabbitmq.queue !== before.rabbitmq.queue) {
        add(
          'EFC211',
          'warning',
          `queue of '${after.id}' changes from ${before.rabbitmq.queue} to ${after.rabbitmq.queue}: messages in the old queue stay there`,
          at,
        );
      }
      if (after.kafka.groupId !== before.kafka.groupId) {
        add(
          'EFC211',
          'warning',
          `Kafka group of '${after.id}' changes from ${before.kafka.groupId} to ${after.kafka.groupId}: the new group has no committed offsets, so it reprocesses or skips messages`,
          at,
        );
      }
    }
    if (after.rabbitmq.queueType !== before.rabbitmq.queueType) {
      add(
        'EFC212',
        'warning',
        `queue ${after.rabbitmq.queue} changes type from ${before.rabbitmq.queueType} to ${after.rabbitmq.queueType}: RabbitMQ cannot convert a queue, so it must be drained, deleted and recreated`,
        at,
      );
    }
    const dropped = before.events.filter((e) => !after.events.includes(e) && newEvents.has(e));
    if (dropped.length > 0) {
      add(
        'EFC215',
        'warning',
        `'${after.id}' no longer consumes ${dropped.join(', ')}: messages of ${dropped.length === 1 ? 'it' : 'them'} already in ${after.rabbitmq.queue} would find no handler and be dead-lettered`,
        at,
      );
    }
  }
}

function describeResources(c: ConsumerIR): string {
  const rabbit = [c.rabbitmq.queue, ...c.rabbitmq.retryQueues.map((q) => q.name), c.rabbitmq.deadLetterQueue].filter(
    (x): x is string => x !== null,
  );
  const kafka = [c.kafka.groupId && `group ${c.kafka.groupId}`, c.kafka.retryTopic, c.kafka.deadLetterTopic].filter(
    (x): x is string => typeof x === 'string' && x !== '',
  );
  return `RabbitMQ queues ${rabbit.join(', ')} and Kafka ${kafka.join(', ')}`;
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
