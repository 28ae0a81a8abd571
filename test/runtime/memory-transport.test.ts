import { describe, expect, it } from 'vitest';
import { MemoryBroker, MemoryTransport } from '@eventform/runtime';
import type { Delivery, Disposition, EventIR, TopologyIR } from '@eventform/runtime';
import { sleep, uniqueTopologyName, waitFor } from '@eventform/runtime/testing';
import { topologyFromDocument } from '../../generator/src/spec/index.js';

function topology(concurrency = 1): TopologyIR {
  return topologyFromDocument({
    topology: uniqueTopologyName('mem'),
    events: { A: { payload: true }, B: { payload: true } },
    services: {
      p: { produces: ['A', 'B'] },
      s: { consumes: { one: { event: 'A', concurrency }, both: { event: ['A', 'B'], concurrency } } },
    },
  });
}
const ev = (t: TopologyIR, name: string): EventIR => t.events.find((e) => e.name === name)!;
const msg = (text: string, key?: string) => ({
  body: Buffer.from(text),
  headers: { type: 'A' },
  ...(key ? { key } : {}),
});
const text = (d: Delivery) => d.body.toString();
const ack: Disposition = { kind: 'ack' };

async function started(t: TopologyIR, broker?: MemoryBroker) {
  const transport = new MemoryTransport(broker ? { broker } : {});
  await transport.start(t);
  return transport;
}

describe('memory transport', () => {
  it('fans out a copy per consumer and routes by event', async () => {
    const t = topology();
    const transport = await started(t);
    const one: string[] = [];
    const both: string[] = [];
    await transport.subscribe(
      t.consumers.find((c) => c.id === 's.one')!,
      async (d) => (one.push(text(d)), ack),
    );
    await transport.subscribe(
      t.consumers.find((c) => c.id === 's.both')!,
      async (d) => (both.push(text(d)), ack),
    );
    await transport.publish(ev(t, 'A'), msg('a1'));
    await transport.publish(ev(t, 'B'), msg('b1'));
    await transport.whenIdle();
    expect(one).toEqual(['a1']);
    expect(both.sort()).toEqual(['a1', 'b1']);
    await transport.close();
  });

  it('keeps messages published before anyone subscribes', async () => {
    const t = topology();
    const transport = await started(t);
    await transport.publish(ev(t, 'A'), msg('early'));
    const got: string[] = [];
    await transport.subscribe(t.consumers[1]!, async (d) => (got.push(text(d)), ack));
    await transport.whenIdle(['s.one']);
    expect(got).toEqual(['early']);
    expect(transport.depth('s.both').ready).toBe(1); // still waiting for its consumer
  });

  it('orders messages per key and runs different keys in parallel up to concurrency', async () => {
    const t = topology(3);
    const transport = await started(t);
    const seen = new Map<string, string[]>();
    let active = 0;
    let peak = 0;
    await transport.subscribe(
      t.consumers.find((c) => c.id === 's.one')!,
      async (d) => {
        peak = Math.max(peak, ++active);
        await sleep(Math.random() * 3);
        seen.set(d.key!, [...(seen.get(d.key!) ?? []), text(d)]);
        active--;
        return ack;
      },
    );
    for (let i = 0; i < 10; i++)
      for (const k of ['x', 'y', 'z', 'w']) await transport.publish(ev(t, 'A'), msg(`${k}${i}`, k));
    await transport.whenIdle(['s.one']);
    for (const k of ['x', 'y', 'z', 'w']) expect(seen.get(k)).toEqual([...Array(10).keys()].map((i) => `${k}${i}`));
    expect(peak).toBe(3);
  });

  it('never runs two messages of one key at once, even with free slots', async () => {
    const t = topology(4);
    const transport = await started(t);
    let active = 0;
    let peak = 0;
    await transport.subscribe(
      t.consumers.find((c) => c.id === 's.one')!,
      async () => {
        peak = Math.max(peak, ++active);
        await sleep(2);
        active--;
        return ack;
      },
    );
    for (let i = 0; i < 8; i++) await transport.publish(ev(t, 'A'), msg(`m${i}`, 'same'));
    await transport.whenIdle(['s.one']);
    expect(peak).toBe(1);
  });

  it('delays a retry copy with a real timer and sends it only to the failing consumer', async () => {
    const t = topology();
    const transport = await started(t);
    const times: number[] = [];
    const headersSeen: Record<string, string>[] = [];
    let bothCount = 0;
    await transport.subscribe(
      t.consumers.find((c) => c.id === 's.one')!,
      async (d) => {
        times.push(Date.now());
        headersSeen.push(d.headers);
        return times.length === 1 ? { kind: 'retry', delayMs: 80, headers: { ...d.headers, 'ef-attempt': '2' } } : ack;
      },
    );
    await transport.subscribe(
      t.consumers.find((c) => c.id === 's.both')!,
      async () => (bothCount++, ack),
    );
    await transport.publish(ev(t, 'A'), msg('r'));
    await transport.whenIdle();
    expect(times).toHaveLength(2);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(79);
    expect(headersSeen[1]!['ef-attempt']).toBe('2');
    expect(bothCount).toBe(1);
  });

  it('keeps dead letters per consumer with the given headers', async () => {
    const t = topology();
    const transport = await started(t);
    await transport.subscribe(
      t.consumers.find((c) => c.id === 's.one')!,
      async (d) => ({ kind: 'dead-letter', headers: { ...d.headers, 'ef-dl-reason': 'x' } }),
    );
    await transport.publish(ev(t, 'A'), msg('dead'));
    await transport.whenIdle(['s.one']);
    const [letter] = transport.deadLetters('s.one');
    expect(letter!.body.toString()).toBe('dead');
    expect(letter!.headers).toEqual({ type: 'A', 'ef-dl-reason': 'x' });
    expect(letter!.origin).toContain('/A');
    expect(transport.deadLetters('s.both')).toEqual([]);
  });

  it('redelivers a released message, flagged redelivered, in front of the queue', async () => {
    const t = topology();
    const transport = await started(t);
    const seen: string[] = [];
    await transport.subscribe(
      t.consumers.find((c) => c.id === 's.one')!,
      async (d) => {
        seen.push(`${text(d)}${d.redelivered ? '*' : ''}`);
        return seen.length === 1 ? { kind: 'release' } : ack;
      },
    );
    await transport.publish(ev(t, 'A'), msg('m1', 'k'));
    await transport.publish(ev(t, 'A'), msg('m2', 'k'));
    await transport.whenIdle(['s.one']);
    expect(seen).toEqual(['m1', 'm1*', 'm2']);
  });

  it('stop waits for in-flight handlers and carries out their dispositions', async () => {
    const t = topology();
    const transport = await started(t);
    let finished = false;
    const sub = await transport.subscribe(
      t.consumers.find((c) => c.id === 's.one')!,
      async () => {
        await sleep(50);
        finished = true;
        return ack;
      },
    );
    await transport.publish(ev(t, 'A'), msg('slow'));
    await transport.publish(ev(t, 'A'), msg('queued'));
    await waitFor(() => transport.depth('s.one').inFlight === 1);
    await sub.stop({ timeoutMs: 1_000 });
    expect(finished).toBe(true);
    expect(transport.depth('s.one')).toMatchObject({ inFlight: 0, ready: 1 });
  });

  it('stop gives back what is still running at the timeout; a new subscriber gets it', async () => {
    const t = topology();
    const broker = new MemoryBroker();
    const first = await started(t, broker);
    const sub = await first.subscribe(
      t.consumers.find((c) => c.id === 's.one')!,
      () => new Promise<Disposition>(() => {}),
    );
    await first.publish(ev(t, 'A'), msg('stuck'));
    await waitFor(() => first.depth('s.one').inFlight === 1);
    await sub.stop({ timeoutMs: 30 });
    const second = await started(t, broker);
    const got: Delivery[] = [];
    await second.subscribe(
      t.consumers.find((c) => c.id === 's.one')!,
      async (d) => (got.push(d), ack),
    );
    await second.whenIdle(['s.one']);
    expect(got.map((d) => [text(d), d.redelivered])).toEqual([['stuck', true]]);
  });

  it('crash() drops subscribers at once; their late dispositions are ignored', async () => {
    const t = topology();
    const transport = await started(t);
    let release!: () => void;
    const calls: string[] = [];
    await transport.subscribe(
      t.consumers.find((c) => c.id === 's.one')!,
      async (d) => {
        calls.push(`old:${text(d)}`);
        await new Promise<void>((r) => (release = r));
        return ack;
      },
    );
    await transport.publish(ev(t, 'A'), msg('c'));
    await waitFor(() => calls.length === 1);
    transport.crash('s.one');
    release();
    await sleep(5);
    expect(transport.depth('s.one')).toMatchObject({ ready: 1, inFlight: 0 });
    await transport.subscribe(
      t.consumers.find((c) => c.id === 's.one')!,
      async (d) => (calls.push(`new:${text(d)}`), ack),
    );
    await transport.whenIdle(['s.one']);
    expect(calls).toEqual(['old:c', 'new:c']);
  });

  it('duplicateNext delivers a message again after it is acknowledged', async () => {
    const t = topology();
    const transport = await started(t);
    const seen: string[] = [];
    await transport.subscribe(
      t.consumers.find((c) => c.id === 's.one')!,
      async (d) => (seen.push(`${text(d)}${d.redelivered ? '*' : ''}`), ack),
    );
    transport.duplicateNext('s.one');
    await transport.publish(ev(t, 'A'), msg('d1'));
    await transport.publish(ev(t, 'A'), msg('d2'));
    await transport.whenIdle(['s.one']);
    expect(seen).toEqual(['d1', 'd2', 'd1*']);
  });

  it('injectRaw targets an event (fan-out) or one consumer', async () => {
    const t = topology();
    const transport = await started(t);
    transport.injectRaw('A', { body: Buffer.from('raw-a'), headers: {} });
    transport.injectRaw('s.both', { body: Buffer.from('raw-both'), headers: {} });
    expect(transport.depth('s.one').ready).toBe(1);
    expect(transport.depth('s.both').ready).toBe(2);
    expect(() => transport.injectRaw('nope', { body: Buffer.alloc(0), headers: {} })).toThrow(/No queue/);
  });

  it('refuses a second topology and publishing before start', async () => {
    const transport = new MemoryTransport();
    const t = topology();
    await expect(transport.publish(ev(t, 'A'), msg('x'))).rejects.toThrow(/start/);
    await transport.start(t);
    await transport.start(t); // idempotent
    await expect(transport.start(topology())).rejects.toThrow(/already started/);
  });

  it('whenIdle rejects with the queue state after its timeout', async () => {
    const t = topology();
    const transport = await started(t);
    await transport.publish(ev(t, 'A'), msg('nobody'));
    await expect(transport.whenIdle(['s.one'], 30)).rejects.toThrow(/not idle.*"ready":1/);
  });
});
