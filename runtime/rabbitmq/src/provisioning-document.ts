/**
 * `provisioning/rabbitmq.json` and the RabbitMQ section of `provisioning/PLAN.md`, as
 * `eventform generate` writes them ({@link ProvisioningDocument}, runtime/core): the resources of
 * {@link rabbitmqResources}, keys in a reading order (name first).
 */
import { orderedRecord } from '@eventform/runtime';
import type { PlanMarkdown, ProvisioningDocument, TopologyIR } from '@eventform/runtime';
import { rabbitmqResources } from './resources.js';

export function provisioningDocument(ir: TopologyIR, md: PlanMarkdown): ProvisioningDocument {
  const rabbit = rabbitmqResources(ir);
  const data: Record<string, unknown> = {
    exchanges: rabbit.exchanges.map((e) => orderedRecord(e, ['name', 'type', 'durable', 'arguments'])),
    queues: rabbit.queues.map((q) =>
      orderedRecord(q, ['name', 'role', 'consumer', 'queueType', 'durable', 'delayMs', 'arguments']),
    ),
    bindings: rabbit.bindings.map((b) => orderedRecord(b, ['exchange', 'routingKey', 'queue'])),
  };
  // Exchange-to-exchange bindings exist only with per-key order (`rabbitmq.partitions`); left out
  // when there are none, so other topologies' files stay as they were.
  if (rabbit.exchangeBindings.length > 0) {
    data.exchangeBindings = rabbit.exchangeBindings.map((b) =>
      orderedRecord(b, ['source', 'routingKey', 'destination']),
    );
  }
  const plan = [
    '## RabbitMQ',
    '',
    '### Exchanges',
    '',
    ...md.table(
      ['exchange', 'type', 'durable', 'arguments'],
      rabbit.exchanges.map((e) => [md.code(e.name), e.type, String(e.durable), md.args(e.arguments)]),
    ),
    '',
    '### Queues',
    '',
    ...md.table(
      ['queue', 'role', 'consumer', 'type', 'arguments'],
      rabbit.queues.map((q) => [md.code(q.name), q.role, md.code(q.consumer), q.queueType, md.args(q.arguments)]),
    ),
    '',
    '### Bindings',
    '',
    ...md.table(
      ['exchange', 'routing key', 'queue'],
      [
        ...rabbit.bindings.map((b) => [md.code(b.exchange), md.code(b.routingKey), md.code(b.queue)]),
        ...rabbit.exchangeBindings.map((b) => [
          md.code(b.source),
          md.code(b.routingKey),
          `exchange ${md.code(b.destination)}`,
        ]),
      ],
    ),
  ];
  return { file: 'rabbitmq.json', data, plan };
}
