/**
 * Hostile input on the Kafka wire, on the real broker: records produced with a plain kafkajs
 * producer, as anyone allowed to write to the topics could, straight onto an event topic or a
 * consumer's retry topic. Each test is one class of the issue, and each failed before:
 *
 * - JSON nested 100,000 deep against a recursive schema: the validator threw RangeError, the
 *   runtime released the record, and the partition looped on it for good, blocking every record
 *   behind it. Now: `invalid-json`, and the records behind it are handled.
 * - The same depth in the dedupe-key field: retried to `retries-exhausted`. Now: `invalid-json`.
 * - A body over the consumer's bound: handled. Now: `too-large`.
 * - A body that is not UTF-8: handled with U+FFFD in it. Now: `invalid-encoding`.
 * - A forged far-future `ef-due-at` on the retry topic overflowed Node's timer (1 ms instead, a
 *   busy pause/resume loop) and held every later retry of the partition back for good. Now: the
 *   due time is clamped to the consumer's longest delay plus `retryDueMarginMs`.
 * - A forged `ef-attempt` on the event topic: no retry at all. Now: every attempt.
 * - A record the pipeline keeps failing on: released forever (Kafka counts no deliveries). Now the
 *   consumer counts them per offset and the runtime dead-letters it as `redelivery-limit`.
 *
 * With CI=true a missing broker fails this file (requireKafka); it never skips there. Assertions
 * are on counts and outcomes; a wait ends early when the old behaviour shows.
 */
import kafkajs from 'kafkajs';
import type { Producer } from 'kafkajs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { EF, createRuntime, fromWireHeaders, readDeadLetter, toWireHeaders } from '@eventform/runtime';
import type {
  DeadLetterRecord,
  Handler,
  Logger,
  Runtime,
  RuntimeOptions,
  TopologyIR,
  Transport,
} from '@eventform/runtime';
import { captureLogger, waitFor } from '@eventform/runtime/testing';
import type { KafkaTransport, KafkaTransportOptions } from '@eventform/kafka';
import { requireKafka } from '../support/kafka.js';
import { cleanupTopology, readTopic, testTransport } from '../kafka/helpers.js';
import { headersOf, hostileTopology, nested } from './fixtures.js';

const kafka = await requireKafka();

const ATTEMPTS = 3;
const DELAY_MS = 200;

type HandlerName = 'onTree' | 'onOrder';

describe.skipIf(!kafka.available)('hostile input on the Kafka wire (real broker)', () => {
  const brokers = kafka.brokers;
  const topologies: TopologyIR[] = [];
  const runtimes: Runtime[] = [];
  let producer: Producer | null = null;

  afterEach(async () => {
    await Promise.all(runtimes.splice(0).map((r) => r.stop({ timeoutMs: 2_000 })));
  });
  afterAll(async () => {
    await producer?.disconnect();
    await Promise.all(topologies.map((ir) => cleanupTopology(brokers, ir)));
  });

  /** Produce one record as an attacker would: raw bytes, any headers (logical names → ce_ wire names). */
  async function produceRaw(topic: string, key: string, body: Buffer | string, headers: Record<string, string>) {
    if (!producer) {
      producer = new kafkajs.Kafka({
        brokers: brokers.split(','),
        clientId: 'eventform-hostile',
        logLevel: kafkajs.logLevel.NOTHING,
      }).producer({ allowAutoTopicCreation: false, createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
      await producer.connect();
    }
    await producer.send({
      topic,
      messages: [
        { key, value: Buffer.isBuffer(body) ? body : Buffer.from(body), headers: toWireHeaders(headers, 'kafka') },
      ],
    });
  }

  interface Service {
    topology: TopologyIR;
    runtime: Runtime;
    logger: ReturnType<typeof captureLogger>;
    topic(event: 'Tree' | 'Order'): string;
    retryTopic(handler: HandlerName): string;
    deadLetters(handler: HandlerName, count: number): Promise<DeadLetterRecord[]>;
    deadLettered(handler: HandlerName): number;
  }

  async function startService(options: {
    handlers: Partial<Record<HandlerName, Handler>>;
    runtime?: Partial<RuntimeOptions>;
    transport?: Partial<KafkaTransportOptions>;
    wrap?: (t: KafkaTransport) => Transport;
  }): Promise<Service> {
    const topology = hostileTopology({
      name: 'hostile',
      retry: { attempts: ATTEMPTS, backoff: 'fixed', delay: `${DELAY_MS}ms`, maxDelay: `${DELAY_MS}ms` },
      extra: { kafka: { partitions: 1, replicationFactor: 1, minInsyncReplicas: 1 } },
    });
    topologies.push(topology);
    const logger = captureLogger();
    const transport = testTransport(brokers, { logger, ...options.transport });
    const runtime = createRuntime({
      topology,
      transport: options.wrap ? options.wrap(transport) : transport,
      logger,
      ...options.runtime,
    });
    runtimes.push(runtime);
    for (const [name, handler] of Object.entries(options.handlers)) runtime.handle(`victim.${name}`, handler);
    await runtime.start();
    const consumer = (handler: HandlerName) => topology.consumers.find((c) => c.id === `victim.${handler}`)!;
    return {
      topology,
      runtime,
      logger,
      topic: (event) => topology.events.find((e) => e.name === event)!.kafka.topic,
      retryTopic: (handler) => consumer(handler).kafka.retryTopic!,
      deadLetters: async (handler, count) =>
        (await readTopic(brokers, consumer(handler).kafka.deadLetterTopic!, count)).map((m) =>
          readDeadLetter({
            body: m.value ?? Buffer.alloc(0),
            headers: fromWireHeaders(m.headers as Record<string, unknown>, 'kafka'),
          }),
        ),
      deadLettered: (handler) => runtime.health().consumers.find((c) => c.id === `victim.${handler}`)!.deadLettered,
    };
  }

  /** Lines of the catch-all that released a record because the pipeline threw. */
  const releases = (logger: ReturnType<typeof captureLogger>) =>
    logger.lines.filter((l) => l.message === 'delivery pipeline failed; message released').length;

  it('dead-letters JSON nested 100,000 deep against a recursive schema as invalid-json; the partition goes on', async () => {
    const handled: string[] = [];
    const service = await startService({ handlers: { onTree: async (e) => void handled.push(e.id) } });
    await produceRaw(service.topic('Tree'), 'k', `{"id":"deep","tree":${nested(100_000)}}`, headersOf('Tree', 'deep'));
    await produceRaw(service.topic('Tree'), 'k', '{"id":"fine","tree":[[[]]]}', headersOf('Tree', 'fine'));
    await waitFor(() => handled.includes('fine') || releases(service.logger) >= 3, {
      timeoutMs: 30_000,
      what: 'the record behind the deep one handled, or the deep one released again and again',
    });

    expect(releases(service.logger)).toBe(0);
    expect(handled).toEqual(['fine']);
    const [dead] = await service.deadLetters('onTree', 1);
    expect(dead).toMatchObject({ reason: 'invalid-json', eventId: 'deep', attempts: 1, consumer: 'victim.onTree' });
    expect(dead!.error).toBe('Body is JSON nested 100001 levels deep; this consumer accepts at most 128');
  });

  it('dead-letters a dedupe-key field nested 100,000 deep as invalid-json, without a retry', async () => {
    const handled: string[] = [];
    const service = await startService({ handlers: { onOrder: async (e) => void handled.push(e.id) } });
    await produceRaw(
      service.topic('Order'),
      'k',
      `{"orderId":"o1","ref":${nested(100_000)}}`,
      headersOf('Order', 'deep'),
    );
    await produceRaw(service.topic('Order'), 'k', '{"orderId":"o2","ref":{"a":1}}', headersOf('Order', 'fine'));
    await waitFor(() => handled.includes('fine') && service.deadLettered('onOrder') > 0, {
      timeoutMs: 30_000,
      what: 'the deep record dead-lettered and the one behind it handled',
    });

    expect(service.runtime.health().consumers[0]).toMatchObject({ retried: 0, deadLettered: 1 });
    const [dead] = await service.deadLetters('onOrder', 1);
    expect(dead).toMatchObject({ reason: 'invalid-json', eventId: 'deep', attempts: 1 });
    expect(handled).toEqual(['fine']);
  });

  it("dead-letters a body over the consumer's maxBodyBytes as too-large", async () => {
    const handled: string[] = [];
    const service = await startService({
      handlers: { onOrder: async (e) => void handled.push(e.id) },
      runtime: { consumerLimits: { 'victim.onOrder': { maxBodyBytes: 1_024 } } },
    });
    const big = JSON.stringify({ orderId: 'big', pad: 'x'.repeat(4_096) });
    await produceRaw(service.topic('Order'), 'k', big, headersOf('Order', 'big'));
    await produceRaw(service.topic('Order'), 'k', '{"orderId":"o2","ref":"r2"}', headersOf('Order', 'fine'));
    await waitFor(() => handled.includes('fine'), { timeoutMs: 30_000, what: 'the record behind it handled' });

    expect(handled).toEqual(['fine']);
    const [dead] = await service.deadLetters('onOrder', 1);
    expect(dead).toMatchObject({ reason: 'too-large', eventId: 'big', attempts: 1 });
    expect(dead!.error).toBe(`Body is ${big.length} bytes; this consumer accepts at most 1024`);
    expect(dead!.body.toString()).toBe(big);
  });

  it('dead-letters a body that is not valid UTF-8 as invalid-encoding', async () => {
    const handled: string[] = [];
    const service = await startService({ handlers: { onOrder: async (e) => void handled.push(e.id) } });
    const latin1 = Buffer.from('{"orderId":"caf\xe9"}', 'latin1');
    await produceRaw(service.topic('Order'), 'k', latin1, headersOf('Order', 'latin1'));
    await produceRaw(service.topic('Order'), 'k', '{"orderId":"café","ref":"r"}', headersOf('Order', 'fine'));
    await waitFor(() => handled.includes('fine'), { timeoutMs: 30_000, what: 'the record behind it handled' });

    expect(handled).toEqual(['fine']);
    const [dead] = await service.deadLetters('onOrder', 1);
    expect(dead).toMatchObject({ reason: 'invalid-encoding', eventId: 'latin1', attempts: 1 });
    expect(dead!.body.equals(latin1)).toBe(true);
  });

  it('clamps a forged far-future ef-due-at on the retry topic: no timer overflow, later retries still run', async () => {
    const overflows: string[] = [];
    const onWarning = (warning: Error) => {
      if (warning.name === 'TimeoutOverflowWarning') overflows.push(warning.message);
    };
    process.on('warning', onWarning);
    try {
      const seen: { id: string; attempt: number }[] = [];
      const service = await startService({
        handlers: {
          onOrder: async (event, ctx) => {
            seen.push({ id: event.id, attempt: ctx.attempt });
            if (event.id === 'legit' && ctx.attempt === 1) throw new Error('warehouse down');
          },
        },
        transport: { retryDueMarginMs: 300 },
      });
      // Sits at the head of the retry partition, due in 31,000 years.
      await produceRaw(service.retryTopic('onOrder'), 'k', '{"orderId":"o1","ref":"r1"}', {
        ...headersOf('Order', 'forged'),
        [EF.dueAt]: '999999999999999',
        [EF.retryFor]: 'victim.onOrder',
        [EF.attempt]: '2',
      });
      await service.runtime.publish('producer', 'Order', { orderId: 'k', ref: 'legit' }, { id: 'legit' });
      await waitFor(() => seen.some((s) => s.id === 'legit' && s.attempt === 2) || overflows.length > 0, {
        timeoutMs: 30_000,
        what: 'the legitimate retry handled behind the forged record',
      });

      expect(overflows).toEqual([]);
      expect(seen).toHaveLength(3);
      expect(seen).toEqual(
        expect.arrayContaining([
          { id: 'legit', attempt: 1 },
          { id: 'forged', attempt: 2 },
          { id: 'legit', attempt: 2 },
        ]),
      );
      // The retry partition is read in order: the forged record first, once its clamped time came.
      const at = (id: string, attempt: number) => seen.findIndex((s) => s.id === id && s.attempt === attempt);
      expect(at('forged', 2)).toBeLessThan(at('legit', 2));
      expect(
        service.logger.lines.filter(
          (l) => l.message === "kafka: ef-due-at beyond the consumer's longest retry delay; clamped",
        ),
      ).toHaveLength(1);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('a forged ef-attempt on the event topic does not spend the retries', async () => {
    const attempts: number[] = [];
    const service = await startService({
      handlers: {
        onOrder: async (_event, ctx) => {
          attempts.push(ctx.attempt);
          throw new Error('order service down');
        },
      },
    });
    await produceRaw(service.topic('Order'), 'k', '{"orderId":"o1","ref":"r1"}', {
      ...headersOf('Order', 'forged'),
      [EF.attempt]: '999999',
    });
    await waitFor(() => service.deadLettered('onOrder') > 0, { timeoutMs: 30_000, what: 'a dead letter' });

    expect(attempts).toEqual([1, 2, 3]);
    const [dead] = await service.deadLetters('onOrder', 1);
    expect(dead).toMatchObject({ reason: 'retries-exhausted', eventId: 'forged', attempts: ATTEMPTS });
  });

  it('dead-letters a record the pipeline keeps failing on as redelivery-limit, counting its deliveries per offset', async () => {
    const maxDeliveries = 3;
    // A logger that throws while the pipeline schedules a retry stands for a bug in the pipeline.
    const failing: Logger = {
      ...captureLogger(),
      warn: () => {
        throw new Error('log shipper down');
      },
    };
    const counts: (number | undefined)[] = [];
    const recording = (t: KafkaTransport): Transport => ({
      name: t.name,
      capabilities: t.capabilities,
      start: (topology) => t.start(topology),
      publish: (event, message) => t.publish(event, message),
      close: (options) => t.close(options),
      subscribe: (consumer, handler) =>
        t.subscribe(consumer, (delivery) => {
          counts.push(delivery.deliveryCount);
          return handler(delivery);
        }),
    });
    let calls = 0;
    const service = await startService({
      handlers: {
        onOrder: async () => {
          calls++;
          throw new Error('order service down');
        },
      },
      runtime: { logger: failing, maxDeliveries },
      wrap: recording,
    });
    await produceRaw(service.topic('Order'), 'k', '{"orderId":"o1","ref":"r1"}', headersOf('Order', 'doomed'));
    await waitFor(() => service.deadLettered('onOrder') > 0 || calls > maxDeliveries * 3, {
      timeoutMs: 30_000,
      what: 'a dead letter, or the record handled again and again',
    });

    expect(calls).toBe(maxDeliveries);
    expect(counts).toEqual([0, 1, 2]);
    const [dead] = await service.deadLetters('onOrder', 1);
    expect(dead).toMatchObject({ reason: 'redelivery-limit', eventId: 'doomed' });
    expect(dead!.error).toMatch(/^The delivery pipeline failed on this message 3 times \(maxDeliveries 3\)/);
  });
});
