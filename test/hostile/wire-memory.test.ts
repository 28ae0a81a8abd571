/**
 * Hostile input on the in-memory broker: raw messages put on a consumer's queue as anyone allowed
 * to publish could send them (`MemoryTransport.injectRaw`: any bytes, any headers). Each test is
 * one class of the issue, and each failed before the runtime bounded its input:
 *
 * - JSON nested 100,000 levels deep against a recursive schema: the validator threw RangeError,
 *   the message was released and redelivered until `redelivery-limit`, a wrong diagnosis. Now:
 *   `invalid-json`, saying how deep, before anything recurses.
 * - The same depth in the field the dedupe key is read from: retried to `retries-exhausted`. Now:
 *   `invalid-json`, no retry.
 * - A body over the consumer's size bound (default 1 MiB): handled. Now: `too-large`.
 * - A body that is not UTF-8: handled with U+FFFD in it. Now: `invalid-encoding`.
 * - A forged `ef-attempt`: no retry at all. Now: a first delivery gets every attempt; a retry copy
 *   with an attempt out of range is clamped to the consumer's attempts, with a warning.
 * - A pipeline failure on a broker that does not count deliveries: released forever. Now:
 *   dead-lettered as `redelivery-limit` after `maxDeliveries` failures.
 *
 * The consumer goes on after each: a valid message sent behind the hostile one is handled.
 * Assertions are on counts and outcomes; a wait ends early when the old behaviour shows.
 */
import { describe, expect, it } from 'vitest';
import { EF, MemoryTransport, createRuntime, readDeadLetter, setHeader } from '@eventform/runtime';
import type { DeadLetterRecord, Logger, RuntimeOptions, Subscription, Transport } from '@eventform/runtime';
import { captureLogger, waitFor } from '@eventform/runtime/testing';
import { headersOf, hostileTopology, nested } from './fixtures.js';

const ATTEMPTS = 3;

interface Service {
  transport: MemoryTransport;
  /** Event ids each handler was called with, in order (repeats included). */
  calls: Record<'onTree' | 'onOrder', string[]>;
  attempts: number[];
  logger: ReturnType<typeof captureLogger>;
  inject(handler: 'onTree' | 'onOrder', body: Buffer | string, headers: Record<string, string>): void;
  deadLetters(handler: 'onTree' | 'onOrder'): DeadLetterRecord[];
  stop(): Promise<void>;
}

async function startService(
  options: Partial<RuntimeOptions> & { failOrders?: boolean; wrap?: (t: MemoryTransport) => Transport } = {},
): Promise<Service> {
  const topology = hostileTopology({ name: 'hostile', retry: { attempts: ATTEMPTS, backoff: 'fixed', delay: '10ms' } });
  const memory = new MemoryTransport();
  const logger = captureLogger();
  const { failOrders, wrap, ...runtimeOptions } = options;
  const runtime = createRuntime({
    topology,
    transport: wrap ? wrap(memory) : memory,
    logger,
    ...runtimeOptions,
  });
  const calls: Service['calls'] = { onTree: [], onOrder: [] };
  const attempts: number[] = [];
  runtime.handle('victim.onTree', async (event) => void calls.onTree.push(event.id));
  runtime.handle('victim.onOrder', async (event, ctx) => {
    calls.onOrder.push(event.id);
    attempts.push(ctx.attempt);
    if (failOrders) throw new Error('order service down');
  });
  await runtime.start();
  return {
    transport: memory,
    calls,
    attempts,
    logger,
    inject: (handler, body, headers) =>
      memory.injectRaw(`victim.${handler}`, { body: Buffer.isBuffer(body) ? body : Buffer.from(body), headers }),
    deadLetters: (handler) => memory.deadLetters(`victim.${handler}`).map(readDeadLetter),
    stop: () => runtime.stop({ timeoutMs: 1_000 }),
  };
}

/** Log lines of the catch-all that released a message because the pipeline threw. */
const releases = (logger: ReturnType<typeof captureLogger>) =>
  logger.lines.filter((l) => l.message === 'delivery pipeline failed; message released').length;

describe('hostile input on the in-memory broker', () => {
  it('dead-letters JSON nested 100,000 deep against a recursive schema as invalid-json, and goes on', async () => {
    const service = await startService();
    service.inject('onTree', `{"id":"deep","tree":${nested(100_000)}}`, headersOf('Tree', 'deep'));
    service.inject('onTree', '{"id":"fine","tree":[[[]]]}', headersOf('Tree', 'fine'));
    await waitFor(() => service.deadLetters('onTree').length > 0 || releases(service.logger) > 0, {
      what: 'a dead letter or a release',
    });
    await waitFor(() => service.calls.onTree.includes('fine'), { what: 'the valid event behind it' });

    expect(releases(service.logger)).toBe(0);
    const dead = service.deadLetters('onTree');
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ reason: 'invalid-json', eventId: 'deep', attempts: 1 });
    expect(dead[0]!.error).toBe('Body is JSON nested 100001 levels deep; this consumer accepts at most 128');
    expect(service.calls.onTree).toEqual(['fine']);
    await service.stop();
  });

  it('dead-letters a dedupe-key field nested 100,000 deep as invalid-json, without retrying it', async () => {
    const service = await startService();
    service.inject('onOrder', `{"orderId":"o1","ref":${nested(100_000)}}`, headersOf('Order', 'deep'));
    service.inject('onOrder', '{"orderId":"o2","ref":{"a":1}}', headersOf('Order', 'fine'));
    await waitFor(() => service.deadLetters('onOrder').length > 0, { what: 'a dead letter' });
    await waitFor(() => service.calls.onOrder.includes('fine'), { what: 'the valid event behind it' });

    const dead = service.deadLetters('onOrder');
    expect(dead.map((d) => ({ reason: d.reason, eventId: d.eventId, attempts: d.attempts }))).toEqual([
      { reason: 'invalid-json', eventId: 'deep', attempts: 1 },
    ]);
    expect(service.transport.depth('victim.onOrder').delayed).toBe(0);
    expect(service.calls.onOrder).toEqual(['fine']);
    await service.stop();
  });

  it("dead-letters a body over the default 1 MiB as too-large, and one over a consumer's own bound", async () => {
    const service = await startService({ consumerLimits: { 'victim.onTree': { maxBodyBytes: 64 } } });
    const big = JSON.stringify({ orderId: 'big', ref: 'x'.repeat(1_048_576) });
    service.inject('onOrder', big, headersOf('Order', 'big'));
    service.inject('onOrder', '{"orderId":"o2","ref":"r2"}', headersOf('Order', 'fine'));
    const small = JSON.stringify({ id: 'x', tree: [], pad: 'y'.repeat(64) });
    service.inject('onTree', small, headersOf('Tree', 'over-64'));
    await waitFor(() => service.calls.onOrder.includes('fine'), { what: 'the valid event behind it' });
    await waitFor(() => service.deadLetters('onTree').length + service.calls.onTree.length > 0, {
      what: 'the Tree event handled or dead-lettered',
    });

    const [order] = service.deadLetters('onOrder');
    expect(order).toMatchObject({ reason: 'too-large', eventId: 'big', attempts: 1 });
    expect(order!.error).toBe(`Body is ${big.length} bytes; this consumer accepts at most 1048576`);
    expect(order!.body.equals(Buffer.from(big))).toBe(true);
    const [tree] = service.deadLetters('onTree');
    expect(tree).toMatchObject({ reason: 'too-large', eventId: 'over-64' });
    expect(service.calls).toEqual({ onOrder: ['fine'], onTree: [] });
    await service.stop();
  });

  it('dead-letters a body that is not valid UTF-8 as invalid-encoding instead of decoding U+FFFD', async () => {
    const service = await startService();
    const latin1 = Buffer.from('{"orderId":"caf\xe9"}', 'latin1'); // é as one byte 0xE9: not UTF-8
    service.inject('onOrder', latin1, headersOf('Order', 'latin1'));
    service.inject('onOrder', '{"orderId":"café","ref":"r"}', headersOf('Order', 'fine'));
    await waitFor(() => service.calls.onOrder.includes('fine'), { what: 'the valid event behind it' });

    const dead = service.deadLetters('onOrder');
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ reason: 'invalid-encoding', eventId: 'latin1', attempts: 1 });
    expect(dead[0]!.body.equals(latin1)).toBe(true);
    expect(service.calls.onOrder).toEqual(['fine']);
    await service.stop();
  });

  it('a forged ef-attempt neither spends the retries of a first delivery nor leaves the range on a retry copy', async () => {
    const service = await startService({ failOrders: true });
    service.inject('onOrder', '{"orderId":"o1","ref":"r1"}', {
      ...headersOf('Order', 'forged'),
      [EF.attempt]: '999999',
    });
    await waitFor(() => service.deadLetters('onOrder').length > 0, { what: 'a dead letter' });
    expect(service.calls.onOrder).toEqual(['forged', 'forged', 'forged']);
    expect(service.attempts).toEqual([1, 2, 3]);
    expect(service.deadLetters('onOrder')[0]).toMatchObject({ reason: 'retries-exhausted', attempts: ATTEMPTS });

    // Dressed as a retry copy for this consumer: read as its last attempt, and said so.
    service.inject('onOrder', '{"orderId":"o2","ref":"r2"}', {
      ...headersOf('Order', 'copy'),
      [EF.attempt]: '9007199254740993',
      [EF.retryFor]: 'victim.onOrder',
    });
    await waitFor(() => service.deadLetters('onOrder').length > 1, { what: 'a second dead letter' });
    expect(service.attempts.slice(3)).toEqual([ATTEMPTS]);
    expect(service.deadLetters('onOrder')[1]).toMatchObject({ reason: 'retries-exhausted', attempts: ATTEMPTS });
    expect(service.logger.lines.find((l) => l.message === 'ef-attempt header not taken as sent')?.fields).toMatchObject(
      { eventId: 'copy', attempt: ATTEMPTS },
    );
    await service.stop();
  });

  it('keeps a header named __proto__ through every retry copy into the dead letter, prototypes untouched', async () => {
    const service = await startService({ failOrders: true });
    const headers = headersOf('Order', 'proto');
    setHeader(headers, '__proto__', 'sent');
    service.inject('onOrder', '{"orderId":"o1","ref":"r1"}', headers);
    await waitFor(() => service.deadLetters('onOrder').length > 0, { what: 'a dead letter' });
    expect(service.attempts).toEqual([1, 2, 3]);
    const [dead] = service.deadLetters('onOrder');
    expect(Object.getOwnPropertyDescriptor(dead!.headers, '__proto__')?.value).toBe('sent');
    expect(Object.getPrototypeOf(dead!.headers)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>)['sent']).toBeUndefined();
    await service.stop();
  });

  it('dead-letters a message the pipeline keeps failing on after maxDeliveries, also where the broker does not count', async () => {
    const maxDeliveries = 4;
    // A logger that throws while the pipeline schedules a retry stands for a bug in the pipeline.
    const logger = captureLogger();
    const failing: Logger = {
      ...logger,
      warn: () => {
        throw new Error('log shipper down');
      },
    };
    // Like a classic RabbitMQ queue: the deliveries reach the runtime without a delivery count.
    const withoutCount = (memory: MemoryTransport): Transport => ({
      name: memory.name,
      capabilities: memory.capabilities,
      start: (t) => memory.start(t),
      publish: (e, m) => memory.publish(e, m),
      close: (o) => memory.close(o),
      subscribe: (consumer, handler): Promise<Subscription> =>
        memory.subscribe(consumer, ({ deliveryCount: _ignored, ...delivery }) => handler(delivery)),
    });
    const service = await startService({ failOrders: true, logger: failing, maxDeliveries, wrap: withoutCount });
    service.inject('onOrder', '{"orderId":"o1","ref":"r1"}', headersOf('Order', 'doomed'));
    await waitFor(() => service.deadLetters('onOrder').length > 0 || service.calls.onOrder.length > maxDeliveries * 3, {
      what: 'a dead letter, or the handler called again and again',
    });

    expect(service.calls.onOrder).toHaveLength(maxDeliveries);
    const dead = service.deadLetters('onOrder');
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ reason: 'redelivery-limit', eventId: 'doomed' });
    expect(dead[0]!.error).toBe(
      `The delivery pipeline failed on this message ${maxDeliveries} times (maxDeliveries ${maxDeliveries}): log shipper down`,
    );
    await service.stop();
  });
});
