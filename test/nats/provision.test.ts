/**
 * Provisioning on the real JetStream server: the plan (create, then unchanged), the all-or-nothing
 * rule on a conflict, an in-place update, and `eventform provision --broker nats`, which reaches the
 * server only through the package's `brokerBinding`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { nanos } from '@nats-io/transport-node';
import type { TopologyIR } from '@eventform/runtime';
import { uniqueTopologyName } from '@eventform/runtime/testing';
import { brokerBinding, natsResources, provisionNats } from '@eventform/nats';
import { loadTopology, topologyFromDocument } from '../../generator/src/spec/index.js';
import { runProvision } from '../../generator/src/cli/provision.js';
import { requireNats } from '../support/brokers.js';
import { admin, closeAdmins, deleteTopology, testTransport } from './helpers.js';

const nats = await requireNats();
const servers = nats.url;
const made: TopologyIR[] = [];

function topology(name = uniqueTopologyName('nprov')): TopologyIR {
  const ir = topologyFromDocument({
    topology: name,
    version: 1,
    events: {
      Pinged: { key: 'id', payload: { type: 'object', required: ['id'], properties: { id: { type: 'string' } } } },
    },
    services: {
      pinger: { produces: ['Pinged'] },
      ponger: { consumes: { onPing: { event: 'Pinged', retry: { attempts: 3, delay: '100ms' } } } },
    },
  });
  made.push(ir);
  return ir;
}

afterEach(async () => {
  for (const ir of made.splice(0)) await deleteTopology(servers, ir);
});
afterAll(closeAdmins);

describe.skipIf(!nats.available)('NATS provisioning', () => {
  it('creates every stream and consumer once, then reports them unchanged', async () => {
    const ir = topology();
    const wanted = natsResources(ir);
    // One event stream, a retry and a dead-letter stream; a consumer on the event and the retry stream.
    expect(wanted.streams.map((s) => s.role).sort()).toEqual(['dead-letter', 'event', 'retry']);
    expect(wanted.consumers).toHaveLength(2);

    const dry = await provisionNats(ir, { servers, dryRun: true });
    expect(dry.map((i) => i.action)).toEqual(Array(5).fill('create'));
    const { jsm } = await admin(servers);
    await expect(jsm.streams.info(wanted.streams[0]!.name)).rejects.toThrow();

    const first = await provisionNats(ir, { servers });
    expect(first.map((i) => `${i.action} ${i.kind}`)).toEqual([
      'create stream',
      'create stream',
      'create stream',
      'create consumer',
      'create consumer',
    ]);
    const second = await provisionNats(ir, { servers });
    expect(second.every((i) => i.action === 'unchanged')).toBe(true);
  });

  it('changes nothing when one stream conflicts, and updates what JetStream changes in place', async () => {
    const ir = topology();
    const [event] = natsResources(ir).streams.filter((s) => s.role === 'event');
    const { jsm } = await admin(servers);
    // Someone else's stream under the event stream's name, with another subject.
    await jsm.streams.add({ name: event!.name, subjects: [`${ir.name}.someone-else`] });
    const plan = await provisionNats(ir, { servers });
    const conflict = plan.find((i) => i.name === event!.name)!;
    expect(conflict.action).toBe('conflict');
    expect(conflict.detail).toContain('subjects');
    expect(plan.filter((i) => i.action === 'create').every((i) => i.detail.includes('not applied'))).toBe(true);
    const streams = await jsm.streams.names().next();
    expect(streams.filter((n) => n.startsWith(`${ir.name}_`))).toEqual([event!.name]);

    await jsm.streams.delete(event!.name);
    await provisionNats(ir, { servers });
    const consumer = natsResources(ir).consumers[0]!;
    await jsm.consumers.update(consumer.stream, consumer.durable, { ack_wait: nanos(1_000) });
    const again = await provisionNats(ir, { servers });
    const updated = again.find((i) => i.name === `${consumer.stream}/${consumer.durable}`)!;
    expect(updated.action).toBe('update');
    expect(updated.detail).toContain('ack wait 1000');
    expect((await jsm.consumers.info(consumer.stream, consumer.durable)).config.ack_wait).toBe(
      nanos(consumer.ackWaitMs),
    );
  });

  it("honours the topology's nats: section: the transport creates its streams so, and a new max age is updated in place", async () => {
    const name = uniqueTopologyName('nsec');
    const doc = (maxAge: string) => ({
      topology: name,
      nats: { maxAge },
      events: {
        Pinged: { nats: { maxAge: '1h' }, payload: { type: 'object' } },
        Ponged: { payload: { type: 'object' } },
      },
      services: { pinger: { produces: ['Pinged', 'Ponged'] }, ponger: { consumes: { onPing: { event: 'Pinged' } } } },
    });
    const ir = topologyFromDocument(doc('2d'));
    made.push(ir);
    const transport = testTransport(servers);
    await transport.start(ir);
    await transport.close();
    const { jsm } = await admin(servers);
    const maxAge = async (event: string) => (await jsm.streams.info(`${name}_${event}`)).config.max_age;
    expect([await maxAge('Pinged'), await maxAge('Ponged')]).toEqual([nanos(3_600_000), nanos(2 * 86_400_000)]);

    // (The durable consumers differ too: the test transport acks faster than the default.)
    const plan = await provisionNats(topologyFromDocument(doc('3d')), { servers });
    const streams = plan.filter((i) => i.kind === 'stream' && i.action !== 'unchanged');
    expect(streams.map((i) => `${i.action} ${i.name}`)).toEqual([`update ${name}_Ponged`]);
    expect(await maxAge('Ponged')).toBe(nanos(3 * 86_400_000));
  });

  it('eventform provision --broker nats goes through the binding', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ef-nats-provision-'));
    try {
      const name = uniqueTopologyName('ncli');
      const file = path.join(dir, 'topology.yaml');
      writeFileSync(
        file,
        [
          `topology: ${name}`,
          'version: 1',
          'events:',
          '  Pinged:',
          '    payload: { type: object }',
          'services:',
          '  pinger: { produces: [Pinged] }',
          '  ponger:',
          '    consumes:',
          '      onPing: { event: Pinged }',
          '',
        ].join('\n'),
      );
      const ir = loadTopology(file).ir!;
      made.push(ir);
      let stdout = '';
      const io = { stdout: (s: string) => void (stdout += s), stderr: () => undefined };
      const code = await runProvision(file, { broker: 'nats', target: servers, format: 'json' }, io);
      expect(code).toBe(0);
      const report = JSON.parse(stdout) as { broker: string; target: string; plan: { action: string; name: string }[] };
      expect(report.broker).toBe('nats');
      expect(report.target).toBe(brokerBinding.describeTarget(servers, {}));
      expect(report.plan.map((i) => i.name).sort()).toEqual(
        brokerBinding
          .resources(ir)
          .map((r) => r.name)
          .sort(),
      );
      expect(report.plan.every((i) => i.action === 'create')).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
