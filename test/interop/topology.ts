/**
 * The interop tests' topology, loaded through the real loader from YAML: `OrderPlaced` in binary
 * mode and `OrderShipped` in structured mode (`contentMode`), both keyed by `orderId`, produced by
 * `order-service` and consumed by `audit-service.record`. Version 3, so "absent eventversion means
 * the consumer's version" is visible. A unique name per call keeps parallel runs apart.
 */
import { randomBytes } from 'node:crypto';
import { loadTopology } from '../../generator/src/spec/index.js';
import type { TopologyIR } from '../../runtime/core/src/ir.js';

export const PRODUCER = 'order-service';
export const CONSUMER = 'audit-service.record';
export const BINARY_EVENT = 'OrderPlaced';
export const STRUCTURED_EVENT = 'OrderShipped';
export const DECLARED_VERSION = 3;

export function interopTopology(prefix: string): TopologyIR {
  const name = `${prefix}-${randomBytes(4).toString('hex')}`;
  const text = `
topology: ${name}
kafka: { partitions: 1, replicationFactor: 1, minInsyncReplicas: 1 }
events:
  ${BINARY_EVENT}:
    version: ${DECLARED_VERSION}
    key: orderId
    payload:
      type: object
      required: [orderId, total]
      properties: { orderId: { type: string }, total: { type: number } }
  ${STRUCTURED_EVENT}:
    version: ${DECLARED_VERSION}
    key: orderId
    contentMode: structured
    payload:
      type: object
      required: [orderId]
      properties: { orderId: { type: string }, carrier: { type: string } }
services:
  ${PRODUCER}:
    produces: [${BINARY_EVENT}, ${STRUCTURED_EVENT}]
  audit-service:
    consumes:
      record: { event: [${BINARY_EVENT}, ${STRUCTURED_EVENT}], retry: false }
`;
  const { ir, diagnostics } = loadTopology(`${name}.yaml`, { text });
  if (!ir) throw new Error(`interop topology does not load: ${JSON.stringify(diagnostics)}`);
  return ir;
}

export function eventOf(topology: TopologyIR, name: string) {
  const event = topology.events.find((e) => e.name === name);
  if (!event) throw new Error(`no event ${name}`);
  return event;
}
