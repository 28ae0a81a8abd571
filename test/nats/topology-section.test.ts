/**
 * The `nats:` sections of topology.yaml (the NATS package's `topologySection`): what the loader
 * puts into the IR, and that the streams provisioning and the transport build from the IR
 * (`natsResources`) and the committed provisioning file honour it. On the server: provision.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { TopologyDocument } from '@eventform/runtime';
import { natsResources } from '@eventform/nats';
import { provisioningDocument } from '@eventform/nats/resources';
import { topologyFromDocument } from '../../generator/src/spec/index.js';

const DAY = 86_400_000;

function document(extra: { root?: object; event?: object } = {}): TopologyDocument {
  return {
    topology: 'nsec',
    ...(extra.root ? { nats: extra.root } : {}),
    events: {
      Pinged: {
        key: 'id',
        payload: { type: 'object', required: ['id'], properties: { id: { type: 'string' } } },
        ...(extra.event ? { nats: extra.event } : {}),
      },
      Ponged: { payload: { type: 'object' } },
    },
    services: {
      pinger: { produces: ['Pinged', 'Ponged'] },
      ponger: { consumes: { onPing: { event: ['Pinged', 'Ponged'], retry: { attempts: 3, delay: '100ms' } } } },
    },
  };
}

const md = {
  table: (header: string[], rows: string[][]) => [header.join('|'), ...rows.map((r) => r.join('|'))],
  code: (v: string) => v,
  cell: (v: unknown) => String(v),
  args: () => '',
};

describe('the nats: section', () => {
  it('leaves the IR as it was when no nats: section is written, and streams keep their defaults', () => {
    const ir = topologyFromDocument(document());
    expect('nats' in ir).toBe(false);
    expect(ir.events.some((e) => 'nats' in e)).toBe(false);
    const streams = natsResources(ir).streams;
    expect(new Set(streams.map((s) => s.replicas))).toEqual(new Set([1]));
    expect(streams.filter((s) => s.role === 'event').map((s) => s.maxAgeMs)).toEqual([7 * DAY, 7 * DAY]);
  });

  it('puts the defaulted settings into the IR: the root, and every event with its own or the root maxAge', () => {
    const ir = topologyFromDocument(document({ root: { replicas: 3, maxAge: '30d' }, event: { maxAge: '1h' } }));
    expect(ir.nats).toEqual({ replicas: 3, maxAgeMs: 30 * DAY });
    expect(ir.events.map((e) => [e.name, e.nats])).toEqual([
      ['Pinged', { maxAgeMs: 3_600_000 }],
      ['Ponged', { maxAgeMs: 30 * DAY }],
    ]);
    // The IR survives JSON unchanged (it is emitted as data into generated/topology.ts).
    expect(JSON.parse(JSON.stringify(ir))).toEqual(ir);
  });

  it('defaults the root when only an event writes a section; 0ms keeps messages for ever', () => {
    const ir = topologyFromDocument(document({ event: { maxAge: '0ms' } }));
    expect(ir.nats).toEqual({ replicas: 1, maxAgeMs: 7 * DAY });
    expect(ir.events.find((e) => e.name === 'Pinged')!.nats).toEqual({ maxAgeMs: 0 });
  });

  it('gives every stream the replicas and every event stream its max age; an explicit option still wins', () => {
    const ir = topologyFromDocument(document({ root: { replicas: 3 }, event: { maxAge: '1h' } }));
    const { streams } = natsResources(ir);
    expect(streams.map((s) => [s.name, s.role, s.replicas, s.maxAgeMs])).toEqual([
      ['nsec_Pinged', 'event', 3, 3_600_000],
      ['nsec_Ponged', 'event', 3, 7 * DAY],
      ['nsec_ponger_onPing_dlq', 'dead-letter', 3, 0],
      ['nsec_ponger_onPing_retry', 'retry', 3, 0],
    ]);
    expect(new Set(natsResources(ir, { replicas: 1 }).streams.map((s) => s.replicas))).toEqual(new Set([1]));
  });

  it('shows the settings in provisioning/nats.json, which is unchanged without a section', () => {
    const plain = provisioningDocument(topologyFromDocument(document()), md);
    const set = provisioningDocument(topologyFromDocument(document({ root: { replicas: 3, maxAge: '2d' } })), md);
    const streams = (d: typeof set) => d.data['streams'] as { name: string; replicas: number; maxAgeMs: number }[];
    expect(streams(plain).map((s) => [s.replicas, s.maxAgeMs])[0]).toEqual([1, 7 * DAY]);
    expect(streams(set).find((s) => s.name === 'nsec_Pinged')).toMatchObject({ replicas: 3, maxAgeMs: 2 * DAY });
  });
});
