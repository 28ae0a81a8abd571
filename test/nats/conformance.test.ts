/**
 * The shared transport conformance suite (`@eventform/runtime/testing`) against NatsTransport on
 * the real NATS JetStream server: every check goes through a real runtime over JetStream.
 */
import { afterAll, describe, it } from 'vitest';
import type { TopologyIR } from '@eventform/runtime';
import { describeTransportConformance, type RawDeadLetter } from '@eventform/runtime/testing';
import { consumerNames, type NatsTransport } from '@eventform/nats';
import { topologyFromDocument } from '../../generator/src/spec/index.js';
import { requireNats } from '../support/brokers.js';
import { closeAdmins, deleteTopology, publishRaw, readStream, testTransport } from './helpers.js';

const nats = await requireNats();
const servers = nats.url;

/** Per dead-letter stream, the next sequence not yet returned. */
const cursors = new Map<string, number>();

afterAll(closeAdmins);

describeTransportConformance('nats', () => testTransport(servers), {
  test: { describe, it },
  skipIf: !nats.available,
  topology: topologyFromDocument,
  // Raw bytes and headers (the binding's mapping) straight onto the event's subject.
  injectRaw: (transport, event, message) =>
    publishRaw(servers, (transport as NatsTransport).subjectOf(event), message.body, message.headers, message.key),
  readDeadLetters: async (_transport, topology, consumer): Promise<RawDeadLetter[]> => {
    const stream = consumerNames(topology, consumer).deadLetterStream;
    if (!stream) return [];
    const from = cursors.get(stream) ?? 1;
    const messages = await readStream(servers, stream, from).catch(() => []);
    if (messages.length > 0) cursors.set(stream, messages[messages.length - 1]!.seq + 1);
    return messages.map(({ body, headers }) => ({ body, headers }));
  },
  cleanup: async (topology: TopologyIR) => {
    for (const key of [...cursors.keys()]) if (key.startsWith(`${topology.name}_`)) cursors.delete(key);
    await deleteTopology(servers, topology);
  },
});
