import { describe, expect, it } from 'vitest';
import {
  ConsumerRegistrationError,
  EF,
  MemoryTransport,
  NonRetryableError,
  PublishOptionsError,
  PublishValidationError,
  RuntimeStateError,
  UndeclaredEventError,
  createRuntime,
  encodeEnvelope,
  readDeadLetter,
  withCorrelation,
} from '@eventform/runtime';
import type {
  Delivery,
  DeliveryHandler,
  Disposition,
  EventEnvelope,
  Handler,
  Headers,
  IdempotencyStore,
  RuntimeOptions,
  Subscription,
  TopologyIR,
  Transport,
} from '@eventform/runtime';
import { captureLogger, sleep, uniqueTopologyName, waitFor } from '@eventform/runtime/testing';
import { topologyFromDocument } from '../../generator/src/spec/index.js';

/** A handler's settings in the topology format, merged over the test's own. */
type ConsumerSpec = Record<string, unknown>;

function topology(consumer: Partial<ConsumerSpec> = {}): TopologyIR {
  return topologyFromDocument({
    topology: uniqueTopologyName('rt'),
    events: {
      Created: {
        key: 'id',
        payload: { type: 'object', required: ['id'], properties: { id: { type: 'string' }, n: { type: 'integer' } } },
      },
      Other: { payload: { type: 'object' } },
    },
    services: {
      producer: { produces: ['Created', 'Other'] },
      worker: {
        produces: ['Other'],
        consumes: { work: { event: 'Created', retry: { attempts: 3, backoff: 'fixed', delay: '50ms' }, ...consumer } },
      },
    },
  });
}

/** A transport that only records: lets a test call the delivery pipeline directly. */
class FakeTransport implements Transport {
  readonly name = 'fake';
  readonly capabilities = { perKeyOrdering: false, exactRetryDelays: true };
  handler: DeliveryHandler | undefined;
  published: { event: string; body: Buffer; headers: Record<string, string>; key?: string }[] = [];
  async start(): Promise<void> {}
  async publish(
    event: { name: string },
    message: { body: Buffer; headers: Record<string, string>; key?: string },
  ): Promise<void> {
    this.published.push({ event: event.name, ...message });
  }
  async subscribe(_c: unknown, handler: DeliveryHandler): Promise<Subscription> {
    this.handler = handler;
    return { stop: async () => {} };
  }
  async close(): Promise<void> {}
}

/** `good()` as another CloudEvents producer would send it: no time, correlationid or partitionkey. */
const withoutExtensions = (): Delivery => {
  const delivery = good('e-bare');
  const { time: _t, correlationid: _c, partitionkey: _p, ...headers } = delivery.headers;
  return { ...delivery, headers };
};

const good = (id = 'evt-1') =>
  ({
    ...encodeEnvelope({
      id,
      type: 'Created',
      source: 'producer',
      specversion: '1.0',
      time: '2025-01-01T00:00:00Z',
      datacontenttype: 'application/json',
      correlationId: 'corr-1',
      causationId: null,
      eventVersion: 1,
      data: { id: 'x' },
    }),
    origin: 'fake://Created',
    redelivered: false,
  }) as Delivery;

async function pipeline(
  handler: Handler,
  consumer: Partial<ConsumerSpec> = {},
  store?: IdempotencyStore,
  options: Partial<RuntimeOptions> = {},
) {
  const transport = new FakeTransport();
  const logger = captureLogger();
  const runtime = createRuntime({
    topology: topology(consumer),
    transport,
    logger,
    ...(store ? { idempotencyStore: store } : {}),
    ...options,
  });
  runtime.handle('worker.work', handler);
  await runtime.start();
  return { runtime, transport, logger, deliver: (d: Delivery) => transport.handler!(d) };
}

/** A structured-mode delivery of `body` (the whole event). */
const structured = (body: string): Delivery => ({
  body: Buffer.from(body),
  headers: { 'content-type': 'application/cloudevents+json; charset=utf-8' },
  origin: 'fake://Created',
  redelivered: false,
});
/** What CloudEvents requires, and a payload. */
const minimal = { specversion: '1.0', id: 'e-min', source: 'another-team', type: 'Created', data: { id: 'x' } };

describe('delivery pipeline', () => {
  const withHeaders = (headers: Record<string, string>, body?: string): Delivery => ({
    ...good(),
    headers,
    ...(body !== undefined ? { body: Buffer.from(body) } : {}),
  });
  const base = good().headers;
  it.each([
    ['missing type', 'unknown-type', withHeaders({ ...base, type: '' })],
    ['no headers at all', 'unknown-type', withHeaders({})],
    ['type not in the topology', 'unknown-type', withHeaders({ ...base, type: 'Nope' })],
    ['type this consumer does not consume', 'unknown-type', withHeaders({ ...base, type: 'Other' })],
    ['missing id', 'invalid-envelope', withHeaders({ ...base, id: '' })],
    ['bad time', 'invalid-envelope', withHeaders({ ...base, time: 'now' })],
    ['not JSON', 'invalid-json', withHeaders(base, '{oops')],
    [
      'JSON nested deeper than 128 levels',
      'invalid-json',
      withHeaders(base, `{"id":"x","n":${'['.repeat(129)}${']'.repeat(129)}}`),
    ],
    ['a body over 1 MiB', 'too-large', withHeaders(base, JSON.stringify({ id: 'x'.repeat(1_048_576) }))],
    [
      'a body that is not UTF-8',
      'invalid-encoding',
      { ...good(), body: Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]) },
    ],
    ['schema-invalid', 'schema-invalid', withHeaders(base, '{"id": 5}')],
    ['structured: not JSON', 'invalid-json', structured('{"specversion":')],
    ['structured: not UTF-8', 'invalid-encoding', { ...structured('{}'), body: Buffer.from([0x7b, 0xff, 0x7d]) }],
    ['structured: over 1 MiB', 'too-large', structured(JSON.stringify({ ...minimal, data: 'x'.repeat(1_048_576) }))],
    [
      'structured: data nested deeper than 128 levels',
      'invalid-json',
      structured(
        JSON.stringify({ ...minimal, data: JSON.parse(`{"id":"x","n":${'['.repeat(128)}${']'.repeat(128)}}`) }),
      ),
    ],
    ['structured: an array, not an event', 'invalid-envelope', structured('[]')],
    ['structured: no id', 'invalid-envelope', structured(JSON.stringify({ ...minimal, id: undefined }))],
    ['structured: unknown type', 'unknown-type', structured(JSON.stringify({ ...minimal, type: 'Nope' }))],
    ['structured: schema-invalid', 'schema-invalid', structured(JSON.stringify({ ...minimal, data: { id: 5 } }))],
  ])('%s → dead letter %s, handler not called', async (_name, reason, delivery) => {
    let called = false;
    const { deliver, runtime } = await pipeline(async () => void (called = true));
    const disposition = await deliver(delivery);
    expect(disposition.kind).toBe('dead-letter');
    const record = readDeadLetter({
      body: delivery.body,
      headers: (disposition as { headers: Record<string, string> }).headers,
    });
    expect(record).toMatchObject({ reason, attempts: 1, consumer: 'worker.work', origin: 'fake://Created' });
    expect(called).toBe(false);
    expect(runtime.health().consumers[0]!.deadLettered).toBe(1);
  });

  it('poison with deadLetter: false is logged at error level and acknowledged', async () => {
    const { deliver, logger, runtime } = await pipeline(async () => {}, { deadLetter: false });
    expect(await deliver(withHeaders(base, 'nope'))).toEqual({ kind: 'ack' });
    expect(logger.lines.find((l) => l.level === 'error')?.fields).toMatchObject({
      reason: 'invalid-json',
      consumer: 'worker.work',
      eventId: 'evt-1',
    });
    expect(runtime.health().consumers[0]).toMatchObject({ dropped: 1, deadLettered: 0 });
  });

  it.each([
    ['binary, required attributes only', withoutExtensions()],
    ['structured, required attributes only', structured(JSON.stringify(minimal))],
  ])('%s: reaches the handler with a fresh correlation id and the declared version', async (_name, delivery) => {
    const seen: EventEnvelope[] = [];
    const { deliver } = await pipeline(async (event) => void seen.push(event));
    expect(await deliver(delivery)).toEqual({ kind: 'ack' });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ type: 'Created', source: expect.any(String), eventVersion: 1, causationId: null });
    expect(seen[0]!.correlationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen[0]!.time).toBeUndefined();
  });

  it('a structured event keeps its correlation, causation, eventversion and partitionkey', async () => {
    const seen: EventEnvelope[] = [];
    const { deliver } = await pipeline(async (event) => void seen.push(event));
    const event = {
      ...minimal,
      correlationid: 'flow-9',
      causationid: 'e-0',
      eventversion: 2,
      partitionkey: 'x',
      time: '2025-01-01T00:00:00Z',
    };
    expect(await deliver(structured(JSON.stringify(event)))).toEqual({ kind: 'ack' });
    expect(seen[0]).toMatchObject({
      id: 'e-min',
      correlationId: 'flow-9',
      causationId: 'e-0',
      eventVersion: 2,
      key: 'x',
      time: event.time,
      data: { id: 'x' },
    });
  });

  it('success → ack; the same event again → ack without running the handler', async () => {
    let calls = 0;
    const { deliver, runtime } = await pipeline(async () => void calls++);
    expect(await deliver(good())).toEqual({ kind: 'ack' });
    expect(await deliver(good())).toEqual({ kind: 'ack' });
    expect(calls).toBe(1);
    expect(runtime.health().consumers[0]).toMatchObject({ handled: 1, duplicates: 1 });
  });

  it('with idempotency disabled, every delivery runs the handler', async () => {
    let calls = 0;
    const { deliver } = await pipeline(async () => void calls++, { idempotency: false });
    await deliver(good());
    await deliver(good());
    expect(calls).toBe(2);
  });

  it('a failure → retry with the next attempt, first failure and origin; the last → dead letter', async () => {
    const { deliver, logger } = await pipeline(async () => {
      throw new Error('flaky');
    });
    const first = (await deliver(good())) as Extract<Disposition, { kind: 'retry' }>;
    expect(first.kind).toBe('retry');
    expect(first.delayMs).toBe(50);
    expect(first.headers).toMatchObject({ [EF.attempt]: '2', [EF.origin]: 'fake://Created', id: 'evt-1' });
    const firstFailure = first.headers[EF.firstFailure]!;
    expect(Date.parse(firstFailure)).not.toBeNaN();
    await sleep(5);

    // The retry copy may come back through a retry queue: origin and first failure are carried.
    const second = (await deliver({
      ...good(),
      origin: 'fake://retry-queue',
      headers: { ...first.headers, [EF.retryFor]: 'worker.work' },
    })) as Extract<Disposition, { kind: 'retry' }>;
    expect(second.headers).toMatchObject({
      [EF.attempt]: '3',
      [EF.firstFailure]: firstFailure,
      [EF.origin]: 'fake://Created',
    });
    expect(second.headers).not.toHaveProperty(EF.retryFor);

    const last = await deliver({
      ...good(),
      origin: 'fake://retry-queue',
      headers: { ...second.headers, [EF.retryFor]: 'worker.work' },
    });
    expect(last.kind).toBe('dead-letter');
    const record = readDeadLetter({
      body: good().body,
      headers: (last as { headers: Record<string, string> }).headers,
    });
    expect(record).toMatchObject({
      reason: 'retries-exhausted',
      attempts: 3,
      firstFailure,
      origin: 'fake://Created',
      error: 'flaky',
      correlationId: 'corr-1',
    });
    expect(Date.parse(record.lastFailure)).toBeGreaterThan(Date.parse(firstFailure));

    const warn = logger.lines.find((l) => l.level === 'warn')!;
    expect(warn.fields).toMatchObject({
      consumer: 'worker.work',
      eventType: 'Created',
      eventId: 'evt-1',
      correlationId: 'corr-1',
      attempt: 1,
      nextAttempt: 2,
      delayMs: 50,
    });
  });

  it('NonRetryableError → dead letter on the first attempt', async () => {
    const { deliver } = await pipeline(async () => {
      throw new NonRetryableError('order already cancelled');
    });
    const d = await deliver(good());
    expect(
      readDeadLetter({ body: Buffer.alloc(0), headers: (d as { headers: Record<string, string> }).headers }),
    ).toMatchObject({ reason: 'non-retryable', attempts: 1, error: 'order already cancelled' });
  });

  it('a failing idempotent run does not mark the event: the redelivery runs again', async () => {
    let calls = 0;
    const { deliver } = await pipeline(async () => {
      if (++calls === 1) throw new Error('first fails');
    });
    await deliver(good());
    expect(await deliver(good())).toEqual({ kind: 'ack' });
    expect(calls).toBe(2);
  });

  it('dedupes on idempotency.key when set', async () => {
    let calls = 0;
    const { deliver } = await pipeline(async () => void calls++, { idempotency: { key: 'id' } });
    await deliver(good('evt-1'));
    await deliver(good('evt-2')); // same payload id "x"
    expect(calls).toBe(1);
  });

  it('gives the handler the envelope, attempt, consumer, a logger with delivery fields and the store tx', async () => {
    const tx = { marker: 'tx' };
    const store: IdempotencyStore = {
      name: 'test',
      init: async () => {},
      run: async (_c, _k, _w, fn) => ({ duplicate: false, value: await fn(tx) }),
      purgeExpired: async () => 0,
      close: async () => {},
    };
    let seen: { event: EventEnvelope; attempt: number; consumer: string; tx: unknown } | undefined;
    const { deliver, logger } = await pipeline(
      async (event, ctx) => {
        seen = { event, attempt: ctx.attempt, consumer: ctx.consumer, tx: ctx.tx };
        ctx.logger.info('inside', { extra: 1 });
      },
      {},
      store,
    );
    await deliver({
      ...good(),
      headers: { ...good().headers, [EF.attempt]: '2', [EF.retryFor]: 'worker.work' },
      key: 'x',
    });
    expect(seen).toMatchObject({ attempt: 2, consumer: 'worker.work', tx });
    expect(seen!.event).toMatchObject({
      id: 'evt-1',
      type: 'Created',
      data: { id: 'x' },
      key: 'x',
      correlationId: 'corr-1',
      causationId: null,
    });
    expect(logger.lines.find((l) => l.message === 'inside')!.fields).toEqual({
      consumer: 'worker.work',
      eventType: 'Created',
      eventId: 'evt-1',
      correlationId: 'corr-1',
      attempt: 2,
      extra: 1,
    });
  });
});

describe('hostile input in the pipeline', () => {
  const deep = (levels: number, leaf = '{}') => '{"child":'.repeat(levels) + leaf + '}'.repeat(levels);
  const recursive = (consumer: Partial<ConsumerSpec>) =>
    topologyFromDocument({
      topology: uniqueTopologyName('rt'),
      schemas: { Node: { type: 'object', properties: { child: { $ref: '#/schemas/Node' } } } },
      // `child` required at the top only: the dedupe-key test names it, and the format wants a key required.
      events: {
        Tree: { payload: { type: 'object', required: ['child'], properties: { child: { $ref: '#/schemas/Node' } } } },
      },
      services: {
        producer: { produces: ['Tree'] },
        worker: {
          consumes: { work: { event: 'Tree', retry: { attempts: 3, backoff: 'fixed', delay: '50ms' }, ...consumer } },
        },
      },
    });
  const tree = (body: string): Delivery => ({
    ...good(),
    headers: { ...good().headers, type: 'Tree' },
    body: Buffer.from(body),
  });
  async function treePipeline(consumer: Partial<ConsumerSpec>, options: Partial<RuntimeOptions> = {}) {
    const transport = new FakeTransport();
    const logger = captureLogger();
    let calls = 0;
    const runtime = createRuntime({ topology: recursive(consumer), transport, logger, ...options });
    runtime.handle('worker.work', async () => void calls++);
    await runtime.start();
    const deliver = async (d: Delivery) => {
      const disposition = await transport.handler!(d);
      const record =
        disposition.kind === 'dead-letter' ? readDeadLetter({ body: d.body, headers: disposition.headers }) : null;
      return { disposition, record };
    };
    return { deliver, logger, runtime, calls: () => calls };
  }

  it('a validator that overflows the stack is classified (schema-invalid), not released', async () => {
    // With the depth bound lifted, the recursive schema's validator recurses 100,000 levels deep.
    const { deliver, calls, logger } = await treePipeline({}, { limits: { maxJsonDepth: Infinity } });
    const { disposition, record } = await deliver(tree(deep(100_000)));
    expect(disposition.kind).toBe('dead-letter');
    expect(record).toMatchObject({ reason: 'schema-invalid', attempts: 1 });
    expect(record!.error).toBe('Payload of Tree could not be validated: RangeError: Maximum call stack size exceeded');
    expect(calls()).toBe(0);
    expect(logger.lines.some((l) => l.message.includes('released'))).toBe(false);
  });

  it('a dedupe key that cannot be serialised is classified (invalid-dedupe-key), not retried', async () => {
    // The recursive schema would overflow first; a permissive validator lets the payload through.
    const transport = new FakeTransport();
    let handled = 0;
    const runtime = createRuntime({
      topology: recursive({ idempotency: { key: 'child' } }),
      transport,
      logger: captureLogger(),
      validators: { Tree: () => true },
      limits: { maxJsonDepth: Infinity },
    });
    runtime.handle('worker.work', async () => void handled++);
    await runtime.start();
    const delivery = tree(deep(100_000));
    const disposition = await transport.handler!(delivery);
    expect(disposition.kind).toBe('dead-letter');
    const record = readDeadLetter({ body: delivery.body, headers: (disposition as { headers: Headers }).headers });
    expect(record).toMatchObject({ reason: 'invalid-dedupe-key', attempts: 1 });
    expect(record.error).toBe('No dedupe key from payload field "child": RangeError: Maximum call stack size exceeded');
    expect(handled).toBe(0);
  });

  it('with the default bound, both are invalid-json before anything recurses', async () => {
    const { deliver, calls } = await treePipeline({ idempotency: { key: 'child' } });
    const { record } = await deliver(tree(deep(100_000)));
    expect(record).toMatchObject({ reason: 'invalid-json', attempts: 1 });
    expect(record!.error).toBe('Body is JSON nested 100001 levels deep; this consumer accepts at most 128');
    expect((await deliver(tree(deep(127)))).disposition).toEqual({ kind: 'ack' });
    expect(calls()).toBe(1);
  });

  it('consumerLimits override limits for one consumer; an unknown consumer id is refused', async () => {
    const body = JSON.stringify({ id: 'x', n: 1 });
    const limited = await pipeline(async () => {}, {}, undefined, {
      limits: { maxBodyBytes: 4096 },
      consumerLimits: { 'worker.work': { maxBodyBytes: body.length - 1 } },
    });
    const record = readDeadLetter({
      body: Buffer.from(body),
      headers: ((await limited.deliver({ ...good(), body: Buffer.from(body) })) as { headers: Headers }).headers,
    });
    expect(record).toMatchObject({
      reason: 'too-large',
      error: `Body is ${body.length} bytes; this consumer accepts at most ${body.length - 1}`,
    });
    expect(() =>
      createRuntime({ topology: topology(), transport: new FakeTransport(), consumerLimits: { 'worker.nope': {} } }),
    ).toThrow(ConsumerRegistrationError);
    expect(() =>
      createRuntime({ topology: topology(), transport: new FakeTransport(), limits: { maxBodyBytes: 0 } }),
    ).toThrow(/limits.maxBodyBytes must be a positive integer/);
  });

  it('ignores ef-attempt on a first delivery: a forged attempt does not spend the retries', async () => {
    const { deliver } = await pipeline(async () => {
      throw new Error('flaky');
    });
    const forged = { ...good(), headers: { ...good().headers, [EF.attempt]: '999999' } };
    const disposition = await deliver(forged);
    expect(disposition).toMatchObject({ kind: 'retry', headers: { [EF.attempt]: '2' } });
  });

  it("clamps ef-attempt on a retry copy to the consumer's attempts and says so", async () => {
    const { deliver, logger } = await pipeline(async (_event, ctx) => {
      expect(ctx.attempt).toBe(3);
      throw new Error('flaky');
    });
    const copy = {
      ...good(),
      headers: { ...good().headers, [EF.attempt]: '1'.repeat(30), [EF.retryFor]: 'worker.work' },
    };
    const disposition = await deliver(copy);
    expect(disposition.kind).toBe('dead-letter');
    expect(readDeadLetter({ body: copy.body, headers: (disposition as { headers: Headers }).headers })).toMatchObject({
      reason: 'retries-exhausted',
      attempts: 3,
    });
    expect(logger.lines.find((l) => l.message === 'ef-attempt header not taken as sent')?.fields).toMatchObject({
      consumer: 'worker.work',
      eventId: 'evt-1',
      attempt: 3,
    });
  });

  it('a pipeline failure releases the message, but past maxDeliveries failures dead-letters it, also without a broker count', async () => {
    // A logger that throws inside the pipeline stands for a bug there; FakeTransport sets no deliveryCount.
    const transport = new FakeTransport();
    const lines: string[] = [];
    const logger = {
      debug: () => {},
      info: () => {},
      warn: () => {
        throw new Error('log shipper down');
      },
      error: (message: string) => void lines.push(message),
    };
    const runtime = createRuntime({ topology: topology(), transport, logger, maxDeliveries: 3 });
    let calls = 0;
    runtime.handle('worker.work', async () => {
      calls++;
      throw new Error('flaky');
    });
    await runtime.start();
    const kinds: string[] = [];
    let last: Disposition | undefined;
    for (let i = 0; i < 3; i++) kinds.push((last = await transport.handler!(good())).kind);
    expect(kinds).toEqual(['release', 'release', 'dead-letter']);
    const record = readDeadLetter({ body: good().body, headers: (last as { headers: Headers }).headers });
    expect(record).toMatchObject({ reason: 'redelivery-limit', attempts: 1 });
    expect(record.error).toBe(
      'The delivery pipeline failed on this message 3 times (maxDeliveries 3): log shipper down',
    );
    expect(calls).toBe(3);
    // Another message is counted apart.
    expect((await transport.handler!(good('evt-2'))).kind).toBe('release');
  });
});

describe('publishing', () => {
  it('validates, builds the envelope, picks the key and sends through the transport', async () => {
    const transport = new FakeTransport();
    const runtime = createRuntime({ topology: topology(), transport, logger: captureLogger() });
    const env = await runtime.publish(
      'producer',
      'Created',
      { id: 'k1', n: 1 },
      { headers: { 'x-tenant': 't' }, traceparent: 'tp' },
    );
    expect(transport.published).toHaveLength(1);
    const sent = transport.published[0]!;
    expect(sent.key).toBe('k1');
    expect(sent.headers).toEqual({
      id: env.id,
      type: 'Created',
      source: 'producer',
      specversion: '1.0',
      'content-type': 'application/json',
      time: env.time,
      correlationid: env.correlationId,
      partitionkey: 'k1',
      'x-tenant': 't',
      traceparent: 'tp',
    });
    expect(JSON.parse(sent.body.toString())).toEqual({ id: 'k1', n: 1 });
    expect(env.id).toMatch(/^[0-9a-f-]{36}$/);

    const overridden = await runtime.publish(
      'producer',
      'Created',
      { id: 'k1' },
      { key: 'custom', id: 'my-id', correlationId: 'c', causationId: 'cause' },
    );
    expect(overridden).toMatchObject({ id: 'my-id', key: 'custom', correlationId: 'c', causationId: 'cause' });
    const unkeyed = await runtime.publish('producer', 'Other', {});
    expect(unkeyed.key).toBeUndefined();
  });

  it("sends in the event's content mode from the IR", async () => {
    const transport = new FakeTransport();
    const ir = topology();
    const other = ir.events.find((e) => e.name === 'Other')!;
    const runtime = createRuntime({
      topology: {
        ...ir,
        events: ir.events.map((e) => (e === other ? { ...e, contentMode: 'structured' as const } : e)),
      },
      transport,
      logger: captureLogger(),
    });
    const env = await runtime.publish('producer', 'Other', { any: 1 }, { headers: { 'x-tenant': 't' } });
    await runtime.publish('producer', 'Created', { id: 'k1' });
    const [sentOther, sentCreated] = transport.published;
    expect(sentOther!.headers).toEqual({
      'content-type': 'application/cloudevents+json; charset=utf-8',
      'x-tenant': 't',
    });
    expect(JSON.parse(sentOther!.body.toString())).toEqual({
      specversion: '1.0',
      id: env.id,
      source: 'producer',
      type: 'Other',
      datacontenttype: 'application/json',
      time: env.time,
      correlationid: env.correlationId,
      data: { any: 1 },
    });
    expect(sentCreated!.headers['content-type']).toBe('application/json');
  });

  it.each([
    ['invalid payload', 'producer', 'Created', { id: 1 }, PublishValidationError],
    ['event not produced by the service', 'worker', 'Created', { id: 'a' }, UndeclaredEventError],
    ['unknown event', 'producer', 'Nope', {}, UndeclaredEventError],
    ['unknown service', 'ghost', 'Created', { id: 'a' }, UndeclaredEventError],
  ])('rejects %s before sending', async (_name, service, event, payload, errorClass) => {
    const transport = new FakeTransport();
    const runtime = createRuntime({ topology: topology(), transport, logger: captureLogger() });
    await expect(runtime.publish(service, event, payload)).rejects.toBeInstanceOf(errorClass);
    expect(transport.published).toHaveLength(0);
  });

  it('lists every schema error with its instancePath', async () => {
    const runtime = createRuntime({ topology: topology(), transport: new FakeTransport(), logger: captureLogger() });
    const error = (await runtime
      .publish('producer', 'Created', { n: 'x' })
      .catch((e: unknown) => e)) as PublishValidationError;
    expect(error.code).toBe('EF_PUBLISH_INVALID');
    expect(error.errors.map((e) => e.instancePath).sort()).toEqual(['', '/n']);
    expect(error.message).toMatch(/Invalid payload for Created: .*must have required property 'id'/);
  });

  it('rejects extra headers that clash with the envelope', async () => {
    const runtime = createRuntime({ topology: topology(), transport: new FakeTransport(), logger: captureLogger() });
    await expect(runtime.publish('producer', 'Other', {}, { headers: { type: 'x' } })).rejects.toBeInstanceOf(
      PublishOptionsError,
    );
  });

  it('uses given validators instead of compiling', async () => {
    const transport = new FakeTransport();
    const rejectAll = Object.assign(() => false, { errors: [{ instancePath: '/custom', message: 'no' }] });
    const runtime = createRuntime({
      topology: topology(),
      transport,
      logger: captureLogger(),
      validators: { Created: rejectAll, Other: () => true },
    });
    await expect(runtime.publish('producer', 'Created', { id: 'fine' })).rejects.toMatchObject({
      errors: [{ instancePath: '/custom' }],
    });
  });

  it('inherits a correlation id from withCorrelation', async () => {
    const runtime = createRuntime({ topology: topology(), transport: new FakeTransport(), logger: captureLogger() });
    const env = await withCorrelation({ correlationId: 'http-req-7' }, () => runtime.publish('producer', 'Other', {}));
    expect(env).toMatchObject({ correlationId: 'http-req-7', causationId: null });
  });

  it('inside a handler, inherits correlation, causation and traceparent', async () => {
    const transport = new MemoryTransport();
    const rt = createRuntime({ topology: topology(), transport, logger: captureLogger() });
    const children: EventEnvelope[] = [];
    rt.handle('worker.work', async (_e, ctx) => {
      children.push(await ctx.publish('Other', {}));
      const { publish } = ctx; // destructuring keeps working
      children.push(await publish('Other', {}, { correlationId: 'explicit' }));
    });
    await rt.start();
    const root = await rt.publish('producer', 'Created', { id: 'a' }, { traceparent: 'tp-1' });
    await transport.whenIdle(['worker.work']);
    expect(children[0]).toMatchObject({
      source: 'worker',
      correlationId: root.correlationId,
      causationId: root.id,
      traceparent: 'tp-1',
    });
    expect(children[1]).toMatchObject({ correlationId: 'explicit', causationId: root.id });
    await rt.stop();
  });
});

describe('lifecycle', () => {
  it('rejects unknown, duplicate and late registrations', async () => {
    const runtime = createRuntime({ topology: topology(), transport: new FakeTransport(), logger: captureLogger() });
    expect(() => runtime.handle('worker.nope', async () => {})).toThrow(ConsumerRegistrationError);
    runtime.handle('worker.work', async () => {});
    expect(() => runtime.handle('worker.work', async () => {})).toThrow(/already registered/);
    await runtime.start();
    expect(() => runtime.handle('worker.work', async () => {})).toThrow(/before start/);
  });

  it('reports health through its states', async () => {
    const transport = new MemoryTransport();
    const runtime = createRuntime({ topology: topology(), transport, logger: captureLogger() });
    runtime.handle('worker.work', async () => {});
    expect(runtime.health().status).toBe('stopped');
    await runtime.start();
    expect(runtime.health()).toMatchObject({
      status: 'running',
      transport: 'memory',
      consumers: [{ id: 'worker.work', inFlight: 0, handled: 0 }],
    });
    await runtime.stop();
    expect(runtime.health().status).toBe('stopped');
    await expect(runtime.publish('producer', 'Other', {})).rejects.toBeInstanceOf(RuntimeStateError);
    await expect(runtime.start()).rejects.toBeInstanceOf(RuntimeStateError);
  });

  it('start({ services }) subscribes only those services', async () => {
    const transport = new MemoryTransport();
    const runtime = createRuntime({ topology: topology(), transport, logger: captureLogger() });
    runtime.handle('worker.work', async () => {});
    await runtime.start({ services: ['producer'] });
    expect(runtime.health().consumers).toHaveLength(1);
    await runtime.publish('producer', 'Created', { id: 'a' });
    await sleep(20);
    expect(transport.depth('worker.work').ready).toBe(1);
    await runtime.stop();
  });

  it('stop finishes in-flight handlers; past the timeout it aborts ctx.signal and releases the message', async () => {
    const transport = new MemoryTransport();
    const logger = captureLogger();
    const runtime = createRuntime({ topology: topology(), transport, logger });
    let signal: AbortSignal | undefined;
    runtime.handle('worker.work', (_e, ctx) => {
      signal = ctx.signal;
      return new Promise((_r, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('aborted'))));
    });
    await runtime.start();
    await runtime.publish('producer', 'Created', { id: 'a' });
    await waitFor(() => signal);
    const started = Date.now();
    await runtime.stop({ timeoutMs: 100 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(95);
    expect(signal!.aborted).toBe(true);
    expect(transport.depth('worker.work')).toMatchObject({ ready: 1, inFlight: 0, deadLetters: 0 });
    expect(runtime.health().consumers[0]).toMatchObject({ retried: 0, deadLettered: 0 });
  });

  it('logs start and stop at info level', async () => {
    const logger = captureLogger();
    const runtime = createRuntime({ topology: topology(), logger });
    runtime.handle('worker.work', async () => {});
    await runtime.start();
    await runtime.stop();
    expect(logger.lines.filter((l) => l.level === 'info').map((l) => l.message)).toEqual([
      'runtime started',
      'runtime stopped',
    ]);
    expect(logger.lines[0]!.fields).toMatchObject({
      transport: 'memory',
      idempotencyStore: 'memory',
      consumers: ['worker.work'],
    });
  });
});
