/**
 * The topology sections of the broker packages in `BROKER_PACKAGES` (`TopologySection`,
 * runtime/core), in that order: each package's `/resources` entry point (pure, no client loaded)
 * exports its `topologySection`; a broker with no settings in the topology exports none. Loaded once, when the generator's spec modules are first imported,
 * so reading a topology stays synchronous. The packages are the CLI's dependencies.
 */
import { BROKER_PACKAGES, type TopologySection } from '@eventform/runtime';

async function loadSections(): Promise<readonly TopologySection[]> {
  const sections: TopologySection[] = [];
  for (const [broker, pkg] of Object.entries(BROKER_PACKAGES)) {
    const module = (await import(`${pkg}/resources`)) as { topologySection?: TopologySection };
    const section = module.topologySection;
    if (section === undefined) continue;
    if (typeof section.build !== 'function' || section.key !== broker) {
      throw new Error(`${pkg}/resources exports a topologySection that is not the '${broker}:' section`);
    }
    sections.push(section);
  }
  return sections;
}

export const BROKER_SECTIONS: readonly TopologySection[] = await loadSections();
