/**
 * `provisioning/nats.json` and the NATS JetStream section of `provisioning/PLAN.md`, as `eventform
 * generate` writes them ({@link ProvisioningDocument}, runtime/core): the streams and durable
 * consumers of {@link natsResources}: the topology's `nats:` settings, else the transport's defaults (one replica per stream).
 */
import { orderedRecord } from '@eventform/runtime';
import type { PlanMarkdown, ProvisioningDocument, TopologyIR } from '@eventform/runtime';
import { natsResources } from './resources.js';

export function provisioningDocument(ir: TopologyIR, md: PlanMarkdown): ProvisioningDocument {
  const nats = natsResources(ir);
  const plan = [
    '## NATS JetStream',
    '',
    '### Streams',
    '',
    ...md.table(
      ['stream', 'role', 'owner', 'subjects', 'max age (ms, 0 = for ever)', 'duplicate window (ms)', 'replicas'],
      nats.streams.map((s) => [
        md.code(s.name),
        s.role,
        md.code(s.owner),
        s.subjects.map(md.code).join(', '),
        String(s.maxAgeMs),
        String(s.duplicateWindowMs),
        String(s.replicas),
      ]),
    ),
    '',
    '### Durable consumers',
    '',
    ...md.table(
      ['stream', 'durable', 'role', 'owner', 'ack wait (ms)', 'max ack pending'],
      nats.consumers.map((c) => [
        md.code(c.stream),
        md.code(c.durable),
        c.role,
        md.code(c.owner),
        String(c.ackWaitMs),
        String(c.maxAckPending),
      ]),
    ),
  ];
  const data = {
    streams: nats.streams.map((s) => orderedRecord(s, ['name', 'role', 'owner', 'subjects'])),
    consumers: nats.consumers.map((c) => orderedRecord(c, ['stream', 'durable', 'role', 'owner'])),
  };
  return { file: 'nats.json', data, plan };
}
