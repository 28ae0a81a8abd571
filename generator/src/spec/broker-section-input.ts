/**
 * What the generator hands a broker's topology section (`TopologySection`, runtime/core): the
 * topology with that broker's written values, no spans; and the way back, from a field a section
 * names to the span a diagnostic points at.
 */
import type { SectionInput, SectionPlace, SectionValues, TopologySection } from '@eventform/runtime';
import type { Span } from './diagnostics.js';
import type { EffectivePolicies } from './policies.js';
import type { RawConsumer, RawSections, RawTopology } from './raw-topology.js';

const plain = (sections: RawSections, key: string): SectionValues =>
  Object.fromEntries(Object.entries(sections[key]?.values ?? {}).map(([name, v]) => [name, v.value]));

/** Events and handlers in the order written; a handler's events in the order written, once each. */
export function sectionInput(
  section: TopologySection,
  raw: RawTopology,
  topologyName: string,
  policies: ReadonlyMap<RawConsumer, EffectivePolicies>,
): SectionInput {
  return {
    topology: topologyName,
    values: plain(raw.sections, section.key),
    events: raw.events.map((e) => ({
      name: e.name,
      key: e.key?.value ?? null,
      values: plain(e.sections, section.key),
    })),
    consumers: raw.services.flatMap((s) =>
      s.consumers.map((c) => {
        const p = policies.get(c)!;
        return {
          id: `${c.service}.${c.handler}`,
          service: c.service,
          handler: c.handler,
          events: [...new Set(c.events.map((e) => e.value))],
          retry: p.retry,
          deadLetter: p.deadLetter,
          values: plain(c.sections, section.key),
        };
      }),
    ),
  };
}

/**
 * Where a section's problem points: the first of its fields written there, else the event's or
 * handler's name, else the topology's name.
 */
export function sectionSpan(section: TopologySection, raw: RawTopology, at: SectionPlace): Span {
  const fallback = raw.name?.span ?? raw.rootSpan;
  let sections: RawSections = raw.sections;
  let owner: Span = fallback;
  if (at.level === 'event') {
    const e = raw.events.find((x) => x.name === at.owner);
    if (e) [sections, owner] = [e.sections, e.nameSpan];
  } else if (at.level === 'consumer') {
    const c = raw.services.flatMap((s) => s.consumers).find((x) => `${x.service}.${x.handler}` === at.owner);
    if (c) [sections, owner] = [c.sections, c.handlerSpan];
  }
  const values = sections[section.key]?.values ?? {};
  for (const field of at.fields) {
    const v = values[field];
    if (v) return v.span;
  }
  return owner;
}
