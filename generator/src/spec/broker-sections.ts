/**
 * The topology sections of the broker packages (`TopologySection`, runtime/core), in
 * `BROKER_PACKAGES` order: each package exports its `topologySection` from its `/resources` entry
 * point, which loads no client. Imported statically, one registration line a broker with settings
 * in the topology, so reading a topology stays synchronous and the generator's entry point stays
 * loadable with `require()` (a dynamic import here would need a top-level await).
 */
import { BROKER_PACKAGES, type TopologySection } from '@eventform/runtime';
import { topologySection as kafka } from '@eventform/kafka/resources';
import { topologySection as nats } from '@eventform/nats/resources';
import { topologySection as rabbitmq } from '@eventform/rabbitmq/resources';

type Broker = keyof typeof BROKER_PACKAGES;

const SECTIONS: Partial<Record<Broker, TopologySection>> = { rabbitmq, kafka, nats };

export const BROKER_SECTIONS: readonly TopologySection[] = (Object.keys(BROKER_PACKAGES) as Broker[]).flatMap(
  (broker) => {
    const section = SECTIONS[broker];
    if (section !== undefined && section.key !== broker) {
      throw new Error(
        `${BROKER_PACKAGES[broker]}/resources exports a topologySection that is not the '${broker}:' section`,
      );
    }
    return section ? [section] : [];
  },
);
