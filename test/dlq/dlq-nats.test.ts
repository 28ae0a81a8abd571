/**
 * `eventform dlq` on the real NATS JetStream: dead letters made by a runtime, then listed, shown,
 * replayed through the consumer's retry stream to that consumer only (twice: the second changes no
 * effect), and purged one by one and by stream (see scenario.ts); then the store itself, through
 * the binding: stable positions, bounded headers, deletes by sequence, what a replay stores where.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CE, EF, deadLetterHeaders, readDeadLetter } from '@eventform/runtime';
import type { DeadLetterStore, Runtime, StoredDeadLetter } from '@eventform/runtime';
import { brokerBinding, consumerNames, eventStream, eventSubject, provisionNats } from '@eventform/nats';
import { loadTopology } from '../../generator/src/spec/index.js';
import { processDlqIo, runDlqReplay, type DlqIo } from '../../generator/src/cli/dlq.js';
import { requireNats } from '../support/brokers.js';
import { admin, closeAdmins, deleteTopology, publishRaw, readStream, testTransport } from '../nats/helpers.js';
import { dlqTopology, runScenario } from './scenario.js';

const nats = await requireNats();

describe.skipIf(!nats.available)('eventform dlq on NATS JetStream', () => {
  const topo = dlqTopology();
  const runtimes: Runtime[] = [];

  afterAll(async () => {
    for (const r of runtimes) await r.stop().catch(() => {});
    await deleteTopology(nats.url, topo.ir).catch(() => {});
    topo.remove();
  });

  it('lists, shows, replays to the originating consumer only, and purges', async () => {
    await runScenario(
      {
        name: 'nats',
        flags: ['--url', nats.url],
        transport: () => testTransport(nats.url),
        publishPoison: (ir, body, headers) =>
          publishRaw(
            nats.url,
            eventSubject(
              ir,
              ir.events.find((e) => e.name === 'Placed')!,
            ),
            body,
            headers,
            'poison',
          ),
      },
      topo,
      runtimes,
    );
  }, 300_000);
});

describe.skipIf(!nats.available)('the NATS dead-letter store', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eventform-dlq-nats-'));
  const file = path.join(dir, 'topology.yaml');
  fs.writeFileSync(
    file,
    `topology: dlqstore-${randomBytes(4).toString('hex')}
version: 1
events:
  Placed: { payload: { type: object } }
services:
  shop: { produces: [Placed] }
  billing:
    consumes:
      charge: { event: Placed, retry: { attempts: 3 } }
  audit:
    consumes:
      once: { event: Placed, retry: { attempts: 1 } }
`,
  );
  const { ir } = loadTopology(file);
  if (!ir) throw new Error('test topology is invalid');
  const charge = ir.consumers.find((c) => c.id === 'billing.charge')!;
  const once = ir.consumers.find((c) => c.id === 'audit.once')!;
  const dlqSubject = consumerNames(ir, charge).deadLetterSubject!;
  const letter = (id: string, extra: Record<string, string> = {}) =>
    deadLetterHeaders(
      { [CE.id]: id, [CE.type]: 'Placed', [CE.correlationid]: `corr-${id}`, [EF.attempt]: '3', ...extra },
      {
        reason: 'retries-exhausted',
        error: 'boom',
        attempts: 3,
        origin: eventSubject(ir, { name: 'Placed' }),
        consumer: charge.id,
        firstFailure: '2026-12-05T10:00:00.000Z',
        lastFailure: '2026-12-05T10:00:01.000Z',
      },
    );
  let store: DeadLetterStore;

  beforeAll(async () => {
    await provisionNats(ir, { servers: nats.url });
    store = await brokerBinding.openDeadLetters!(ir, { target: nats.url, env: {} });
  });
  afterAll(async () => {
    await store?.close();
    await deleteTopology(nats.url, ir).catch(() => {});
    await closeAdmins();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const read = async () => {
    const seen: StoredDeadLetter[] = [];
    const pass = await store.pass(charge, (m) => {
      seen.push(m);
      return { action: 'keep' };
    });
    return { pass, seen };
  };

  it('reads with stable positions and bounded headers, deletes by sequence, replays onto the consumer retry stream only', async () => {
    const crowded = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`x-h${i}`, 'v']));
    await publishRaw(nats.url, dlqSubject, Buffer.from('{"n":1}'), letter('a'), 'k1');
    await publishRaw(nats.url, dlqSubject, Buffer.from('{"n":2}'), { ...letter('b'), ...crowded });
    await publishRaw(
      nats.url,
      dlqSubject,
      Buffer.alloc(0),
      letter('c', { 'ef-body-omitted': '9 bytes; the original is x' }),
    );

    const first = await read();
    expect(first.pass).toMatchObject({ location: consumerNames(ir, charge).deadLetterStream, read: 3, kept: 3 });
    expect(first.seen.map((m) => m.position)).toEqual(['seq 1', 'seq 2', 'seq 3']);
    expect(first.seen[0]).toMatchObject({ consumer: charge.id, key: 'k1', undecodable: undefined });
    expect(readDeadLetter(first.seen[0]!)).toMatchObject({ reason: 'retries-exhausted', eventId: 'a' });
    // 300 headers are beyond the transport's bound (256): shown without headers, never thrown on.
    expect(first.seen[1]!.headers).toEqual({});
    expect(first.seen[1]!.undecodable).toMatch(/more than 256 headers/);

    // Delete the second by its sequence: the others keep their positions.
    const deleted = await store.pass(charge, (m) =>
      m.position === 'seq 2' ? { action: 'delete' } : { action: 'keep' },
    );
    expect(deleted).toMatchObject({ read: 3, deleted: 1, kept: 2 });
    expect((await read()).seen.map((m) => m.position)).toEqual(['seq 1', 'seq 3']);

    // A dead letter stored without its body is marked when read, refused on replay (whatever headers
    // the copy was asked to carry), and stays.
    expect(first.seen.map((m) => m.notReplayable)).toEqual([
      undefined,
      undefined,
      'was stored without its body (9 bytes; the original is x); publish the original again instead',
    ]);
    const refused = await store
      .pass(charge, (m) => (m.position === 'seq 3' ? { action: 'replay', headers: {} } : { action: 'keep' }))
      .catch((e: unknown) => e);
    expect((refused as Error).message).toMatch(/seq 3 of billing\.charge was stored without its body/);
    expect((await read()).seen.map((m) => m.position)).toEqual(['seq 1', 'seq 3']);

    // Replay: onto the consumer's own retry stream, due now, then gone from the DLQ.
    const before = Date.now();
    const replayed = await store.pass(charge, (m) =>
      m.position === 'seq 1'
        ? { action: 'replay', headers: { ...readDeadLetter(m).headers, [EF.replayed]: 'now' } }
        : { action: 'keep' },
    );
    expect(replayed).toMatchObject({ read: 2, replayed: 1, kept: 1, deleted: 0 });
    const retries = await readStream(nats.url, consumerNames(ir, charge).retryStream!);
    expect(retries).toHaveLength(1);
    expect(retries[0]!.body.toString()).toBe('{"n":1}');
    expect(retries[0]!.headers).toMatchObject({
      [CE.id]: 'a',
      [CE.correlationid]: 'corr-a',
      [CE.partitionkey]: 'k1',
      [EF.retryFor]: charge.id,
      [EF.replayed]: 'now',
    });
    expect(Number(retries[0]!.headers[EF.dueAt])).toBeGreaterThanOrEqual(before);
    expect(Number(retries[0]!.headers[EF.dueAt])).toBeLessThanOrEqual(Date.now());
    // Not on the event's stream, which every consumer of Placed reads.
    expect(await readStream(nats.url, eventStream(ir, { name: 'Placed' }))).toEqual([]);
    expect((await read()).seen.map((m) => m.position)).toEqual(['seq 3']);

    // --keep: the copy goes, the dead letter stays.
    await publishRaw(nats.url, dlqSubject, Buffer.from('{"n":4}'), letter('d'));
    await store.pass(charge, (m) =>
      m.position === 'seq 4' ? { action: 'replay', headers: { [CE.id]: 'd2' }, keep: true } : { action: 'keep' },
    );
    expect(await readStream(nats.url, consumerNames(ir, charge).retryStream!)).toHaveLength(2);
    expect((await read()).seen.map((m) => m.position)).toEqual(['seq 3', 'seq 4']);
  });

  it('eventform dlq replay skips a dead letter stored without its body, replays the rest and exits 1', async () => {
    await store.truncate(charge);
    await publishRaw(nats.url, dlqSubject, Buffer.alloc(0), letter('bodyless', { 'ef-body-omitted': '9 bytes; x' }));
    await publishRaw(nats.url, dlqSubject, Buffer.from('{"n":5}'), letter('fine'));
    const out: string[] = [];
    const io: DlqIo = {
      ...processDlqIo,
      stdout: (t) => void out.push(t),
      stderr: (t) => void out.push(t),
      interactive: false,
      progress: { isTTY: false, write: () => true },
    };
    const code = await runDlqReplay(file, { broker: 'nats', target: nats.url, consumer: [charge.id] }, io);
    expect(code, out.join('')).toBe(1);
    expect(out.join('')).toMatch(/1 not replayable: a dead letter that was stored without its body \(9 bytes; x\)/);
    const left = (await read()).seen.map((m) => readDeadLetter(m).eventId);
    expect(left).toEqual(['bodyless']);
    const copies = await readStream(nats.url, consumerNames(ir, charge).retryStream!);
    expect(copies.at(-1)!.headers[CE.id]).toBe('fine');
  });

  it('two replays of the same dead letter at once store one copy, and neither fails on the other deleting it', async () => {
    await store.truncate(charge);
    const retryStream = consumerNames(ir, charge).retryStream!;
    const copiesBefore = (await readStream(nats.url, retryStream)).length;
    await publishRaw(nats.url, dlqSubject, Buffer.from('{"n":6}'), letter('twice'));
    const replayIt = (m: StoredDeadLetter) =>
      readDeadLetter(m).eventId === 'twice'
        ? ({ action: 'replay', headers: readDeadLetter(m).headers } as const)
        : ({ action: 'keep' } as const);
    // The outer run decides; before it acts, a second run replays and deletes the same message.
    let inner: Awaited<ReturnType<DeadLetterStore['pass']>> | undefined;
    const outer = await store.pass(charge, async (m) => {
      inner ??= await store.pass(charge, replayIt);
      return replayIt(m);
    });
    expect(inner).toMatchObject({ replayed: 1 });
    expect(outer).toMatchObject({ replayed: 1 });
    const copies = (await readStream(nats.url, retryStream)).slice(copiesBefore);
    expect(copies.map((c) => c.headers[CE.id])).toEqual(['twice']);
    expect((await read()).seen.map((m) => readDeadLetter(m).eventId)).not.toContain('twice');
  });

  it('truncates what the stream holds; a consumer without retries cannot be replayed to alone; a missing stream is reported', async () => {
    await store.truncate(charge);
    await publishRaw(nats.url, dlqSubject, Buffer.from('{}'), letter('d'));
    await publishRaw(nats.url, dlqSubject, Buffer.from('{}'), letter('e'));
    expect(await store.truncate(charge)).toBe(2);
    expect((await read()).pass).toMatchObject({ read: 0, missing: false });

    expect(store.replayBlocked(charge)).toBeNull();
    expect(store.replayBlocked(once)).toMatch(/audit\.once alone only through its retry stream.*retry\.attempts: 1/);

    const { jsm } = await admin(nats.url);
    await jsm.streams.delete(consumerNames(ir, once).deadLetterStream!);
    expect(await store.pass(once, () => ({ action: 'keep' }))).toMatchObject({ missing: true, read: 0 });
  });
});
