/**
 * Hostile input on the NATS JetStream wire, on the real server: messages published with the raw
 * `@nats-io` client, as anyone allowed to publish to the subjects could, straight onto an event
 * stream, a consumer's retry stream or its dead-letter stream. Each test sends the hostile message
 * and then a valid event behind it, and checks that the valid one is handled and the hostile one
 * dead-lettered with the right reason (or handled, where it is in fact valid).
 *
 * With CI=true a missing server fails this file (requireNats); it never skips there. Assertions are
 * on counts and outcomes; a wait ends early when a wrong outcome shows.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { EF, createRuntime, readDeadLetter } from '@eventform/runtime';
import type { DeadLetterRecord, Handler, Runtime, RuntimeOptions, TopologyIR } from '@eventform/runtime';
import { captureLogger, waitFor } from '@eventform/runtime/testing';
import {
  DL_BODY_OMITTED_HEADER,
  NATS_CE_PREFIX,
  consumerNames,
  encodeHeaderValue,
  eventSubject,
  fromNatsHeaders,
  headerBlockBytes,
} from '@eventform/nats';
import type { NatsTransportOptions } from '@eventform/nats';
import { headersOf, hostileTopology, nested } from './fixtures.js';
import { requireNats } from '../support/brokers.js';
import { admin, closeAdmins, deleteTopology, readStream, testTransport } from '../nats/helpers.js';

const nats = await requireNats();
const servers = nats.url;

const ATTEMPTS = 3;
const DELAY_MS = 200;

type HandlerName = 'onTree' | 'onOrder';

/** NATS header entries of logical headers: `ce-` names for the CloudEvents attributes, values percent-encoded. */
function wireEntries(headers: Record<string, string>): [string, string][] {
  const attributes = new Set(['id', 'source', 'type', 'specversion', 'time', 'datacontenttype']);
  return Object.entries(headers).map(([name, value]) => [
    attributes.has(name) || /^(correlationid|causationid|eventversion|traceparent|tracestate|partitionkey)$/.test(name)
      ? NATS_CE_PREFIX + name
      : name,
    encodeHeaderValue(value),
  ]);
}

/** Publish raw bytes with raw header entries (a name may repeat), as an attacker would. */
async function publishWire(subject: string, body: Buffer | string, entries: [string, string][]): Promise<void> {
  const { nc } = await admin(servers);
  const h = natsHeaders();
  for (const [name, value] of entries) h.append(name, value);
  await jetstream(nc).publish(subject, Buffer.isBuffer(body) ? body : Buffer.from(body), {
    headers: entries.length > 0 ? h : undefined,
  });
}

// Two waits of up to 20 s each per test (the outcome, then the dead letter on the stream): room for
// both, so a slow run fails with the waits' own message rather than vitest's timeout.
describe.skipIf(!nats.available)('hostile input on the NATS JetStream wire (real server)', { timeout: 60_000 }, () => {
  const topologies: TopologyIR[] = [];
  const runtimes: Runtime[] = [];

  afterEach(async () => {
    await Promise.all(runtimes.splice(0).map((r) => r.stop({ timeoutMs: 2_000 })));
  });
  afterAll(async () => {
    for (const ir of topologies) await deleteTopology(servers, ir);
    await closeAdmins();
  });

  interface Service {
    topology: TopologyIR;
    runtime: Runtime;
    logger: ReturnType<typeof captureLogger>;
    /** Event ids each handler was called with, in order (repeats included), with the attempt. */
    seen: { handler: HandlerName; id: string; attempt: number }[];
    handled(handler: HandlerName): string[];
    subject(event: 'Tree' | 'Order'): string;
    retrySubject(handler: HandlerName): string;
    deadLetterSubject(handler: HandlerName): string;
    deadLetters(handler: HandlerName): Promise<DeadLetterRecord[]>;
    deadLettered(handler: HandlerName): number;
  }

  async function startService(
    options: {
      fail?: (id: string, attempt: number) => boolean;
      runtime?: Partial<RuntimeOptions>;
      transport?: Partial<NatsTransportOptions>;
    } = {},
  ): Promise<Service> {
    const topology = hostileTopology({
      name: 'nhostile',
      retry: { attempts: ATTEMPTS, backoff: 'fixed', delay: `${DELAY_MS}ms`, maxDelay: `${DELAY_MS}ms` },
    });
    topologies.push(topology);
    const logger = captureLogger();
    const transport = testTransport(servers, { logger, ...options.transport });
    const runtime = createRuntime({ topology, transport, logger, ...options.runtime });
    runtimes.push(runtime);
    const seen: Service['seen'] = [];
    for (const handler of ['onTree', 'onOrder'] as const) {
      const h: Handler = async (event, ctx) => {
        seen.push({ handler, id: event.id, attempt: ctx.attempt });
        if (options.fail?.(event.id, ctx.attempt)) throw new Error('downstream down');
      };
      runtime.handle(`victim.${handler}`, h);
    }
    await runtime.start();
    const consumer = (handler: HandlerName) => topology.consumers.find((c) => c.id === `victim.${handler}`)!;
    const names = (handler: HandlerName) => consumerNames(topology, consumer(handler));
    return {
      topology,
      runtime,
      logger,
      seen,
      handled: (handler) => seen.filter((s) => s.handler === handler).map((s) => s.id),
      subject: (event) => eventSubject(topology, { name: event }),
      retrySubject: (handler) => names(handler).retrySubject!,
      deadLetterSubject: (handler) => names(handler).deadLetterSubject!,
      deadLetters: async (handler) =>
        (await readStream(servers, names(handler).deadLetterStream!)).map((m) =>
          readDeadLetter({ body: m.body, headers: m.headers }),
        ),
      deadLettered: (handler) => runtime.health().consumers.find((c) => c.id === `victim.${handler}`)!.deadLettered,
    };
  }

  /** Lines of the catch-all that released a message because the pipeline threw, or a disposition that failed. */
  const troubles = (service: Service) =>
    service.logger.lines.filter(
      (l) =>
        l.message === 'delivery pipeline failed; message released' ||
        l.message === 'nats: could not carry out a disposition; the message is released',
    );

  /**
   * Sends `hostile` to `handler`'s event subject and a valid event behind it; waits until the valid
   * one is handled and `deadLetters` dead letters are counted (or trouble shows); returns them.
   */
  async function hostileThenValid(
    service: Service,
    handler: HandlerName,
    hostile: { body: Buffer | string; entries: [string, string][] },
    deadLetters: number,
  ): Promise<DeadLetterRecord[]> {
    const event = handler === 'onTree' ? 'Tree' : 'Order';
    await publishWire(service.subject(event), hostile.body, hostile.entries);
    const fine = handler === 'onTree' ? '{"id":"fine","tree":[[[]]]}' : '{"orderId":"o-fine","ref":"r-fine"}';
    await publishWire(service.subject(event), fine, wireEntries(headersOf(event, 'fine')));
    await waitFor(
      () =>
        (service.handled(handler).includes('fine') && service.deadLettered(handler) >= deadLetters) ||
        troubles(service).length >= 3,
      {
        timeoutMs: 20_000,
        what: `the valid event handled and ${deadLetters} dead letter(s)`,
      },
    ).catch((error: unknown) => {
      // Say what did happen: handled, dead-lettered, warnings.
      const state = {
        seen: service.seen,
        deadLettered: service.deadLettered(handler),
        warnings: service.logger.lines.filter((l) => l.level !== 'debug' && l.level !== 'info'),
      };
      throw new Error(`${error instanceof Error ? error.message : String(error)}: ${JSON.stringify(state)}`);
    });
    expect(troubles(service).map((l) => `${l.message} ${String(l.fields.error)}`)).toEqual([]);
    // The counter goes up when the runtime decides to dead-letter; the copy reaches the stream when
    // the transport's publish is acknowledged (a ~1 MB copy on a loaded machine takes a while).
    let dead: DeadLetterRecord[] = [];
    await waitFor(
      async () => {
        dead = await service.deadLetters(handler);
        return dead.length >= deadLetters;
      },
      { timeoutMs: 20_000, what: `${deadLetters} dead letter(s) on the stream` },
    ).catch(() => undefined);
    expect(dead).toHaveLength(deadLetters);
    return dead;
  }

  const orderEntries = (id: string) => wireEntries(headersOf('Order', id));

  it('dead-letters a body that is not valid UTF-8 as invalid-encoding', async () => {
    const service = await startService();
    const latin1 = Buffer.from('{"orderId":"caf\xe9","ref":"r"}', 'latin1');
    const [dead] = await hostileThenValid(service, 'onOrder', { body: latin1, entries: orderEntries('latin1') }, 1);
    expect(service.handled('onOrder')).toEqual(['fine']);
    expect(dead).toMatchObject({ reason: 'invalid-encoding', eventId: 'latin1', attempts: 1 });
    expect(dead!.body.equals(latin1)).toBe(true);
  });

  it('dead-letters JSON nested 100,000 deep against a recursive schema as invalid-json', async () => {
    const service = await startService();
    const body = `{"id":"deep","tree":${nested(100_000)}}`;
    const entries = wireEntries(headersOf('Tree', 'deep'));
    const [dead] = await hostileThenValid(service, 'onTree', { body, entries }, 1);
    expect(service.handled('onTree')).toEqual(['fine']);
    expect(dead).toMatchObject({ reason: 'invalid-json', eventId: 'deep', attempts: 1, consumer: 'victim.onTree' });
    expect(dead!.error).toBe('Body is JSON nested 100001 levels deep; this consumer accepts at most 128');
  });

  it('dead-letters a dedupe-key field nested 100,000 deep as invalid-json, without a retry', async () => {
    const service = await startService();
    const body = `{"orderId":"o1","ref":${nested(100_000)}}`;
    const [dead] = await hostileThenValid(service, 'onOrder', { body, entries: orderEntries('deep') }, 1);
    expect(service.runtime.health().consumers.find((c) => c.id === 'victim.onOrder')).toMatchObject({ retried: 0 });
    expect(dead).toMatchObject({ reason: 'invalid-json', eventId: 'deep', attempts: 1 });
    expect(service.handled('onOrder')).toEqual(['fine']);
  });

  it("dead-letters a body over the consumer's maxBodyBytes as too-large", async () => {
    const service = await startService({ runtime: { consumerLimits: { 'victim.onOrder': { maxBodyBytes: 1_024 } } } });
    const big = JSON.stringify({ orderId: 'big', ref: 'x'.repeat(4_096) });
    const [dead] = await hostileThenValid(service, 'onOrder', { body: big, entries: orderEntries('big') }, 1);
    expect(service.handled('onOrder')).toEqual(['fine']);
    expect(dead).toMatchObject({ reason: 'too-large', eventId: 'big', attempts: 1 });
    expect(dead!.error).toBe(`Body is ${big.length} bytes; this consumer accepts at most 1024`);
    expect(dead!.body.toString()).toBe(big);
  });

  it("dead-letters a message as large as the server's max_payload, though its dead-letter headers make it larger", async () => {
    const service = await startService({ runtime: { consumerLimits: { 'victim.onOrder': { maxBodyBytes: 1_024 } } } });
    const { nc } = await admin(servers);
    const entries = orderEntries('huge');
    const h = natsHeaders();
    for (const [name, value] of entries) h.append(name, value);
    // Body and headers fill max_payload to the byte: the server takes it, a copy with more headers it would not.
    const room = nc.info!.max_payload - headerBlockBytes(h);
    const body = JSON.stringify({ orderId: 'huge', ref: 'x'.repeat(room - 30) }).padEnd(room, ' ');
    const [dead] = await hostileThenValid(service, 'onOrder', { body, entries }, 1);
    expect(service.handled('onOrder')).toEqual(['fine']);
    expect(dead).toMatchObject({ reason: 'too-large', eventId: 'huge', consumer: 'victim.onOrder' });
    // No room for the body beside the record: it is left out, and the record says where the original is.
    expect(dead!.body.length).toBe(0);
    expect(dead!.headers[DL_BODY_OMITTED_HEADER]).toMatch(
      new RegExp(`^${body.length} bytes; the original is stream \\S+_Order, sequence 1$`),
    );
  });

  it('dead-letters missing and wrong-typed CloudEvents headers as unknown-type or invalid-envelope', async () => {
    const service = await startService();
    const cases: { id: string; entries: [string, string][]; reason: string }[] = [
      { id: 'no-type', entries: orderEntries('no-type').filter(([n]) => n !== 'ce-type'), reason: 'unknown-type' },
      {
        id: 'no-specversion',
        entries: orderEntries('no-specversion').filter(([n]) => n !== 'ce-specversion'),
        reason: 'invalid-envelope',
      },
      {
        id: 'bad-specversion',
        entries: orderEntries('bad-specversion').map(([n, v]) => [n, n === 'ce-specversion' ? '0.3' : v]),
        reason: 'invalid-envelope',
      },
      {
        id: 'bad-time',
        entries: orderEntries('bad-time').map(([n, v]) => [n, n === 'ce-time' ? 'yesterday' : v]),
        reason: 'invalid-envelope',
      },
      {
        id: 'bad-eventversion',
        entries: [...orderEntries('bad-eventversion'), ['ce-eventversion', '1e999']],
        reason: 'invalid-envelope',
      },
      { id: 'undeclared', entries: wireEntries(headersOf('Refund', 'undeclared')), reason: 'unknown-type' },
      { id: 'other-event', entries: wireEntries(headersOf('Tree', 'other-event')), reason: 'unknown-type' },
    ];
    for (const c of cases) await publishWire(service.subject('Order'), '{"orderId":"o","ref":"r"}', c.entries);
    // Without an id at all: read as dead-letter record without an event id.
    await publishWire(
      service.subject('Order'),
      '{"orderId":"o","ref":"r"}',
      orderEntries('x').filter(([n]) => n !== 'ce-id'),
    );
    const dead = await hostileThenValid(
      service,
      'onOrder',
      { body: '{"orderId":"o","ref":"r-last"}', entries: orderEntries('last') },
      cases.length + 1,
    );
    expect(service.handled('onOrder')).toEqual(['last', 'fine']);
    const byId = Object.fromEntries(dead.map((d) => [d.eventId ?? '(none)', d.reason]));
    expect(byId).toEqual({
      ...Object.fromEntries(cases.map((c) => [c.id, c.reason])),
      '(none)': 'invalid-envelope',
    });
  });

  it('dead-letters a CloudEvents header sent twice with different values as invalid-headers; the same value twice is fine, a ce- header wins over an unprefixed one', async () => {
    const service = await startService();
    const twoIds: [string, string][] = [...orderEntries('id-one'), ['ce-id', 'id-two']];
    const twoTypes: [string, string][] = [...orderEntries('two-types'), ['ce-type', 'Tree']];
    // The binding carries attributes as ce- headers: an unprefixed `id` or a plain `traceparent`
    // (OpenTelemetry's own NATS propagation) does not override the ce- one.
    const unprefixed: [string, string][] = [
      ['id', 'unprefixed'],
      ['traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'],
      ...orderEntries('prefixed'),
    ];
    const same: [string, string][] = [...orderEntries('same-twice'), ['ce-id', 'same-twice']];
    await publishWire(service.subject('Order'), '{"orderId":"o1","ref":"r1"}', twoIds);
    await publishWire(service.subject('Order'), '{"orderId":"o2","ref":"r2"}', twoTypes);
    await publishWire(service.subject('Order'), '{"orderId":"o3","ref":"r3"}', unprefixed);
    const dead = await hostileThenValid(service, 'onOrder', { body: '{"orderId":"o4","ref":"r4"}', entries: same }, 2);
    await waitFor(() => service.handled('onOrder').length >= 3);
    expect([...service.handled('onOrder')].sort()).toEqual(['fine', 'prefixed', 'same-twice']);
    expect(dead.map((d) => d.reason)).toEqual(['invalid-headers', 'invalid-headers']);
    expect(dead.map((d) => d.error)).toEqual([
      'headers could not be decoded: header "ce-id" appears 2 times with different values',
      'headers could not be decoded: header "ce-type" appears 2 times with different values',
    ]);
    // The body is kept for whoever looks at the dead letter.
    expect(dead[0]!.body.toString()).toBe('{"orderId":"o1","ref":"r1"}');
  });

  it('dead-letters a message with more than maxHeaders headers as invalid-headers; a long header value is handled', async () => {
    const service = await startService();
    const many: [string, string][] = [
      ...orderEntries('many'),
      ...Array.from({ length: 300 }, (_, i): [string, string] => [`x-pad-${i}`, 'v']),
    ];
    await publishWire(service.subject('Order'), '{"orderId":"o1","ref":"r1"}', many);
    const long: [string, string][] = [...orderEntries('long'), ['x-long', 'y'.repeat(60_000)]];
    const dead = await hostileThenValid(service, 'onOrder', { body: '{"orderId":"o2","ref":"r2"}', entries: long }, 1);
    expect(service.handled('onOrder')).toEqual(['long', 'fine']);
    expect(dead[0]).toMatchObject({ reason: 'invalid-headers', eventId: null });
    expect(dead[0]!.error).toMatch(/more than 256 headers/);
  });

  it('retries and dead-letters a message as large as max_payload whose handler fails; the copies shed what does not fit', async () => {
    const service = await startService({ fail: (id) => id === 'full' });
    const { nc } = await admin(servers);
    const entries: [string, string][] = [...orderEntries('full'), ['x-extra', 'z'.repeat(2_000)]];
    const h = natsHeaders();
    for (const [name, value] of entries) h.append(name, value);
    const room = nc.info!.max_payload - headerBlockBytes(h);
    const body = JSON.stringify({ orderId: 'full', ref: 'x'.repeat(room - 40) }).padEnd(room, ' ');
    const [dead] = await hostileThenValid(service, 'onOrder', { body, entries }, 1);
    expect(service.seen.filter((s) => s.id === 'full').map((s) => s.attempt)).toEqual([1, 2, 3]);
    expect(dead).toMatchObject({ reason: 'retries-exhausted', eventId: 'full', attempts: ATTEMPTS });
    expect(dead!.body.toString()).toBe(body);
    expect(dead!.headers['x-extra']).toBeUndefined();
  });

  it('keeps __proto__ and constructor keys in a body and a header as plain data', async () => {
    const service = await startService();
    const body =
      '{"orderId":"o1","ref":"r1","__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}';
    const entries: [string, string][] = [...orderEntries('proto'), ['__proto__', 'p'], ['constructor', 'c']];
    await publishWire(service.subject('Order'), body, entries);
    // The same names on a message that is dead-lettered: they are kept in the record as headers.
    const dead = await hostileThenValid(
      service,
      'onOrder',
      { body: 'not json', entries: [...orderEntries('proto-dead'), ['__proto__', 'p'], ['constructor', 'c']] },
      1,
    );
    expect(service.handled('onOrder')).toEqual(['proto', 'fine']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(dead[0]).toMatchObject({ reason: 'invalid-json', eventId: 'proto-dead' });
    // The transport reads a `__proto__` header as an own header, never as the object's prototype.
    const h = natsHeaders();
    h.append('__proto__', 'p');
    const read = fromNatsHeaders(h);
    expect(Object.getPrototypeOf(read)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(read, '__proto__')?.value).toBe('p');
    expect(dead[0]!.headers['constructor']).toBe('c');
  });

  it('a forged ef-attempt and ef-retry-for on the event stream do not spend the retries', async () => {
    const service = await startService({ fail: (id) => id === 'forged' });
    const entries: [string, string][] = [
      ...orderEntries('forged'),
      [EF.attempt, String(ATTEMPTS)],
      [EF.retryFor, 'victim.onOrder'],
    ];
    const [dead] = await hostileThenValid(service, 'onOrder', { body: '{"orderId":"o1","ref":"r1"}', entries }, 1);
    expect(service.seen.filter((s) => s.id === 'forged').map((s) => s.attempt)).toEqual([1, 2, 3]);
    expect(dead).toMatchObject({ reason: 'retries-exhausted', eventId: 'forged', attempts: ATTEMPTS });
  });

  it('a forged delivery count does not dead-letter a valid event', async () => {
    const service = await startService({ runtime: { maxDeliveries: 3 } });
    const entries: [string, string][] = [
      ...orderEntries('forged-count'),
      ['Nats-Num-Delivered', '100'],
      ['Nats-Delivered', '100'],
      ['x-delivery-count', '100'],
    ];
    await hostileThenValid(service, 'onOrder', { body: '{"orderId":"o1","ref":"r1"}', entries }, 0);
    expect(service.handled('onOrder')).toEqual(['forged-count', 'fine']);
  });

  it('clamps a forged far-future ef-due-at on the retry stream: no timer overflow, other retries run', async () => {
    const overflows: string[] = [];
    const onWarning = (warning: Error) => {
      if (warning.name === 'TimeoutOverflowWarning') overflows.push(warning.message);
    };
    process.on('warning', onWarning);
    try {
      const service = await startService({
        fail: (id, attempt) => id === 'legit' && attempt === 1,
        // A margin far above any delivery lag on a loaded machine, so the order below is not a race.
        transport: { retryDueMarginMs: 3_000 },
      });
      const forged = (id: string, dueAt: string): [string, string][] => [
        ...orderEntries(id),
        [EF.dueAt, dueAt],
        [EF.retryFor, 'victim.onOrder'],
        [EF.attempt, '2'],
      ];
      // Distinct dedupe keys (`ref`), so none is skipped as another's duplicate.
      const body = (ref: string) => `{"orderId":"o1","ref":"${ref}"}`;
      await publishWire(service.retrySubject('onOrder'), body('far'), forged('far', '999999999999999'));
      await publishWire(service.retrySubject('onOrder'), body('nan'), forged('nan', 'soon'));
      await publishWire(service.retrySubject('onOrder'), body('negative'), forged('negative', '-5'));
      await service.runtime.publish('producer', 'Order', { orderId: 'k', ref: 'legit' }, { id: 'legit' });
      await waitFor(
        () =>
          (service.seen.some((s) => s.id === 'legit' && s.attempt === 2) && service.seen.length >= 5) ||
          overflows.length > 0,
        { timeoutMs: 30_000, what: 'the legitimate retry and the forged copies handled' },
      );
      expect(overflows).toEqual([]);
      expect([...service.seen].sort((a, b) => a.id.localeCompare(b.id) || a.attempt - b.attempt)).toEqual([
        { handler: 'onOrder', id: 'far', attempt: 2 },
        { handler: 'onOrder', id: 'legit', attempt: 1 },
        { handler: 'onOrder', id: 'legit', attempt: 2 },
        { handler: 'onOrder', id: 'nan', attempt: 2 },
        { handler: 'onOrder', id: 'negative', attempt: 2 },
      ]);
      // The far one waited at most its clamp (the longest delay + the margin), and the rest did not wait for it.
      const at = (id: string) => service.seen.findIndex((s) => s.id === id);
      expect(at('legit')).toBeLessThan(at('far'));
      expect(at('nan')).toBeLessThan(at('far'));
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('takes a retry copy forged for another consumer, or with an attempt out of range, as the runtime bounds it', async () => {
    const service = await startService({ fail: (id) => id === 'high' });
    const body = (ref: string) => `{"orderId":"o1","ref":"${ref}"}`;
    await publishWire(service.retrySubject('onOrder'), body('elsewhere'), [
      ...orderEntries('elsewhere'),
      [EF.retryFor, 'victim.onTree'],
      [EF.attempt, '3'],
    ]);
    await publishWire(service.retrySubject('onOrder'), body('high'), [
      ...orderEntries('high'),
      [EF.retryFor, 'victim.onOrder'],
      [EF.attempt, '999999999999999999999'],
    ]);
    const [dead] = await hostileThenValid(
      service,
      'onOrder',
      { body: body('fine-too'), entries: orderEntries('fine-too') },
      1,
    );
    expect(service.seen.filter((s) => s.id !== 'fine').map((s) => [s.id, s.attempt])).toEqual(
      expect.arrayContaining([
        ['elsewhere', 1],
        ['high', ATTEMPTS],
      ]),
    );
    expect(dead).toMatchObject({ reason: 'retries-exhausted', eventId: 'high', attempts: ATTEMPTS });
  });

  it('a message forged onto the dead-letter subject stays there; the consumer goes on', async () => {
    const service = await startService();
    await publishWire(service.deadLetterSubject('onOrder'), 'anything', [[EF.dlReason, 'no-such-reason']]);
    await publishWire(service.subject('Order'), '{"orderId":"o","ref":"r"}', orderEntries('after'));
    await waitFor(() => service.handled('onOrder').includes('after'), { timeoutMs: 30_000, what: 'the valid event' });
    expect(service.deadLettered('onOrder')).toBe(0);
    const stored = await readStream(
      servers,
      consumerNames(service.topology, service.topology.consumers[0]!).deadLetterStream!,
    );
    expect(stored.map((m) => m.body.toString())).toEqual(['anything']);
  });
});
