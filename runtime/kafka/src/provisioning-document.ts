/**
 * `provisioning/kafka.json` and the Kafka section of `provisioning/PLAN.md`, as `eventform
 * generate` writes them ({@link ProvisioningDocument}, runtime/core): the topics of
 * {@link kafkaResources} as the topology declares them (no cluster to clamp to).
 */
import type { PlanMarkdown, ProvisioningDocument, TopologyIR } from '@eventform/runtime';
import { kafkaResources } from './resources.js';

export function provisioningDocument(ir: TopologyIR, md: PlanMarkdown): ProvisioningDocument {
  const kafka = kafkaResources(ir);
  const plan = [
    '## Kafka',
    '',
    ...md.table(
      ['topic', 'role', 'owner', 'partitions', 'replication', 'configs'],
      kafka.topics.map((t) => [
        md.code(t.name),
        t.role,
        md.code(t.owner),
        String(t.partitions),
        String(t.replicationFactor),
        md.args(t.configs),
      ]),
    ),
  ];
  if (kafka.notes.length > 0) plan.push('', ...kafka.notes.map((n) => `- ${md.cell(n)}`));
  return { file: 'kafka.json', data: { ...kafka }, plan };
}
