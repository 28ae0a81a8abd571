/**
 * Unit tests of the binding's broker-free parts: the key scheduler, the batching publisher and
 * what a consumer loop resolves when a rebalance stops a batch (with a stand-in kafkajs payload).
 */
import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import type { EachBatchPayload, Kafka, KafkaMessage, Message, Producer } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { KeyScheduler } from '@eventform/runtime';
import { BatchingPublisher, KafkaPublishError, recordingPartitioner } from '../../runtime/kafka/src/publisher.js';
import {
  ConsumerLoop,
  MAX_TIMER_MS,
  dueAtOf,
  type ConsumerLoopOptions,
  type MessageOutcome,
  type PartitionMessage,
} from '../../runtime/kafka/src/consumer-loop.js';
import { sleep } from './helpers.js';

describe('KeyScheduler', () => {
  it('runs one key at a time in submission order, different keys in parallel up to the limit', async () => {
    const scheduler = new KeyScheduler(3);
    const order = new Map<string, number[]>();
    const running = new Set<string>();
    let active = 0;
    let maxActive = 0;
    let overlap = 0;
    const tasks: Promise<void>[] = [];
    for (let i = 0; i < 60; i++) {
      const key = `k${i % 5}`;
      tasks.push(
        scheduler.run(key, async () => {
          if (running.has(key)) overlap++;
          running.add(key);
          active++;
          maxActive = Math.max(maxActive, active);
          await sleep(1 + (i % 3));
          order.set(key, [...(order.get(key) ?? []), i]);
          active--;
          running.delete(key);
        }),
      );
    }
    await Promise.all(tasks);
    for (const [key, list] of order) expect(list, key).toEqual([...list].sort((a, b) => a - b));
    expect(overlap).toBe(0);
    expect(maxActive).toBe(3);
    expect(scheduler.inFlight).toBe(0);
  });

  it('lets keyless tasks run in parallel and keeps a key going after a failure', async () => {
    const scheduler = new KeyScheduler(2);
    const failed = scheduler.run('a', async () => {
      throw new Error('boom');
    });
    const next = scheduler.run('a', async () => 'after');
    await expect(failed).rejects.toThrow('boom');
    await expect(next).resolves.toBe('after');
    let concurrent = 0;
    let max = 0;
    await Promise.all(
      [1, 2, 3, 4].map(() =>
        scheduler.run(undefined, async () => {
          max = Math.max(max, ++concurrent);
          await sleep(5);
          concurrent--;
        }),
      ),
    );
    expect(max).toBe(2);
  });

  it('does not let a newcomer overtake a task waiting for a slot', async () => {
    const scheduler = new KeyScheduler(1);
    const started: string[] = [];
    let release!: () => void;
    const first = scheduler.run('a', () => {
      started.push('a1');
      return new Promise<void>((resolve) => (release = resolve));
    });
    const waiting = scheduler.run('b', async () => void started.push('b'));
    release();
    // Submitted after the slot was handed back, before `b` had its turn: must still come after it.
    const late = scheduler.run('c', async () => void started.push('c'));
    await Promise.all([first, waiting, late]);
    expect(started).toEqual(['a1', 'b', 'c']);
  });

  it('turns a task that throws synchronously into a rejection and frees its slot and key', async () => {
    const scheduler = new KeyScheduler(1);
    const bad = scheduler.run('a', (() => {
      throw new Error('sync');
    }) as () => Promise<void>);
    await expect(bad).rejects.toThrow('sync');
    await expect(scheduler.run('a', async () => 'next')).resolves.toBe('next');
    expect(scheduler.inFlight).toBe(0);
  });

  it('runs a task that had to wait in the async context it was submitted from, given one', async () => {
    const scheduler = new KeyScheduler(1);
    const storage = new AsyncLocalStorage<string>();
    const seen = await Promise.all(
      ['a', 'a', 'b', 'c'].map((key, i) =>
        storage.run(`submitter ${i}`, () =>
          scheduler.run(
            key,
            async () => {
              await sleep(1);
              return storage.getStore();
            },
            new AsyncResource('test submission'),
          ),
        ),
      ),
    );
    expect(seen).toEqual(['submitter 0', 'submitter 1', 'submitter 2', 'submitter 3']);
  });

  it('settles a task that returns a plain value and frees its slot and key', async () => {
    const scheduler = new KeyScheduler(1);
    await expect(scheduler.run('a', (() => 'plain') as unknown as () => Promise<string>)).resolves.toBe('plain');
    await expect(scheduler.run('a', async () => 'next')).resolves.toBe('next');
  });

  it('keeps a hot key in order without slowing down (100k tasks of one key)', async () => {
    const hot = async (n: number): Promise<number> => {
      const scheduler = new KeyScheduler(4);
      const seen: number[] = [];
      const started = performance.now();
      await Promise.all(Array.from({ length: n }, (_, i) => scheduler.run('hot', async () => void seen.push(i))));
      const ms = performance.now() - started;
      expect(seen).toEqual(Array.from({ length: n }, (_, i) => i));
      return ms;
    };
    await hot(10_000); // warm-up
    // Linear queueing: 10× the tasks take about 10× as long; quadratic would take 100×. A ratio
    // measured in this run, not a wall-clock limit.
    const small = Math.max(await hot(10_000), 1);
    const large = await hot(100_000);
    expect(large / small).toBeLessThan(40);
  });

  it.each([0, -1, 1.5])('rejects concurrency %s', (n) => {
    expect(() => new KeyScheduler(n)).toThrow(/positive integer/);
  });
});

/** A stand-in kafkajs producer: records requests, fails the ones `failWhen` says. */
function fakeProducer(failWhen: (request: number) => boolean) {
  const requests: { topic: string; count: number }[][] = [];
  let producers = 0;
  const create = (): Producer => {
    producers++;
    return {
      connect: async () => undefined,
      disconnect: async () => undefined,
      sendBatch: async ({ topicMessages }: { topicMessages: { topic: string; messages: unknown[] }[] }) => {
        const n = requests.length;
        requests.push(topicMessages.map((t) => ({ topic: t.topic, count: t.messages.length })));
        await sleep(5);
        if (failWhen(n)) throw Object.assign(new Error('NOT_ENOUGH_REPLICAS'), { name: 'KafkaJSProtocolError' });
        return [];
      },
    } as unknown as Producer;
  };
  return { create, requests, producers: () => producers };
}

describe('BatchingPublisher', () => {
  const options = { maxBatchMessages: 100, maxBatchBytes: 1 << 20, produceTimeoutMs: 1_000 };
  const record = (value: string) => ({ value: Buffer.from(value), headers: { ce_id: value } });

  it('sends what queues up while a request is in flight as one request, within the bounds', async () => {
    const fake = fakeProducer(() => false);
    const publisher = new BatchingPublisher(fake.create, options);
    await publisher.connect();
    await Promise.all(Array.from({ length: 250 }, (_, i) => publisher.send(i % 2 ? 'a' : 'b', record(`m${i}`))));
    const sizes = fake.requests.map((r) => r.reduce((n, t) => n + t.count, 0));
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(250);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(100);
    expect(fake.requests.length).toBeLessThanOrEqual(4);
    await publisher.close();
  });

  it('rejects every message of a failed request with KafkaPublishError and replaces the producer', async () => {
    const fake = fakeProducer((n) => n === 0);
    const publisher = new BatchingPublisher(fake.create, options);
    await publisher.connect();
    const results = await Promise.allSettled([publisher.send('t', record('x')), publisher.send('t', record('y'))]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    const reason = (results[0] as PromiseRejectedResult).reason as KafkaPublishError;
    expect(reason).toBeInstanceOf(KafkaPublishError);
    expect(reason.code).toBe('EF_KAFKA_PUBLISH');
    expect(reason.message).toMatch(/to t .*NOT_ENOUGH_REPLICAS/);
    await publisher.send('t', record('z'));
    expect(fake.producers()).toBe(2);
    await publisher.close();
    await expect(publisher.send('t', record('late'))).rejects.toThrow(/closed/);
  });
});

describe('BatchingPublisher, a response without a partition', () => {
  it('rejects the messages of a partition the response leaves out, resolves the others, and replaces the producer', async () => {
    // Partition = the message's value modulo 3, recorded on the message as the transport's partitioner does.
    const partitioner = recordingPartitioner(
      () =>
        ({ message }) =>
          Number(String(message.value)) % 3,
    )();
    let producers = 0;
    const create = (): Producer => {
      producers++;
      return {
        connect: async () => undefined,
        disconnect: async () => undefined,
        sendBatch: async ({ topicMessages }: { topicMessages: { topic: string; messages: Message[] }[] }) => {
          const response: { topicName: string; partition: number; errorCode: number }[] = [];
          for (const { topic, messages } of topicMessages) {
            for (const message of messages) partitioner({ topic, partitionMetadata: [], message });
            // Partition 1 of topic a answered for, but not partition 2; topic b complete.
            const answered = topic === 'a' ? [0, 1] : [0, 1, 2];
            for (const partition of answered) response.push({ topicName: topic, partition, errorCode: 0 });
          }
          return response;
        },
      } as unknown as Producer;
    };
    const publisher = new BatchingPublisher(create, {
      maxBatchMessages: 100,
      maxBatchBytes: 1 << 20,
      produceTimeoutMs: 1_000,
    });
    await publisher.connect();
    const sends = ['a', 'b'].flatMap((topic) =>
      [0, 1, 2, 3, 4, 5].map((n) =>
        publisher.send(topic, { value: Buffer.from(String(n)), headers: { ce_id: `${n}` } }),
      ),
    );
    const results = await Promise.allSettled(sends);
    const rejected = results.flatMap((r, i) => (r.status === 'rejected' ? [i] : []));
    // Topic a's values 2 and 5 went to partition 2.
    expect(rejected).toEqual([2, 5]);
    const reason = (results[2] as PromiseRejectedResult).reason as KafkaPublishError;
    expect(reason).toBeInstanceOf(KafkaPublishError);
    expect(reason.message).toMatch(/to a \(partition 2 is not in the response/);
    expect(producers).toBe(1);
    await publisher.send('b', { value: Buffer.from('0'), headers: {} });
    expect(producers).toBe(2);
    await publisher.close();
  });
});

describe('dueAtOf', () => {
  it.each([
    [{ 'ef-due-at': Buffer.from('1700000000000') }, 1_700_000_000_000],
    [{ 'ef-due-at': '42' }, 42],
    [{ 'ef-due-at': Buffer.from('soon') }, 0],
    [{ 'ef-due-at': Buffer.from('-5') }, 0],
    [{ 'ef-due-at': Buffer.from('1e400') }, 0],
    [{ 'ef-due-at': Buffer.from('1e20') }, 1e20], // bounded by the loop, not here
    [{}, 0],
    [undefined, 0],
  ])('%j → %d', (headers, expected) => {
    expect(
      dueAtOf({ headers, key: null, value: null, offset: '0', timestamp: '0', attributes: 0, size: 0 } as never),
    ).toBe(expected);
  });
});

/** A kafkajs consumer that is never run: `ConsumerLoop` only registers listeners on construction. */
const fakeKafka = {
  consumer: () => ({ on: () => undefined, events: { CRASH: 'crash', GROUP_JOIN: 'join' } }),
} as unknown as Kafka;

const message = (offset: number, key: string): KafkaMessage =>
  ({ offset: String(offset), key: Buffer.from(key), value: Buffer.from(`m${offset}`), headers: {} }) as KafkaMessage;

describe('ConsumerLoop on a rebalance', () => {
  it('runs the messages before the last one it started, so finished work is committed, not redelivered', async () => {
    // Offsets 0 and 1 share key A and 0 is slow: 2..5 (other keys) overtake 1 and finish first.
    // The rebalance arrives while 0 is still running; 1's turn comes after the stop.
    const keys = ['A', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I'];
    const messages = keys.map((key, offset) => message(offset, key));
    const started: number[] = [];
    let rebalancing = false;
    const loop = new ConsumerLoop({
      kafka: fakeKafka,
      groupId: 'g',
      topics: ['t'],
      mode: 'main',
      scheduler: new KeyScheduler(2),
      partitionsConcurrently: 1,
      logger: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
      settings: {
        sessionTimeout: 6_000,
        heartbeatInterval: 5,
        rebalanceTimeout: 2_000,
        maxWaitTimeInMs: 100,
        retry: {},
        fromBeginning: true,
        releaseBackoffMs: 100,
        crashRestartDelayMs: 100,
        revokeTimeoutMs: 1_000,
      },
      handle: async (m: PartitionMessage) => {
        const offset = Number(m.message.offset);
        started.push(offset);
        await sleep(offset === 0 ? 120 : 10);
        if (offset === 3) rebalancing = true;
        return 'done';
      },
    });
    const resolved: string[] = [];
    const payload = {
      batch: { topic: 't', partition: 0, messages },
      isRunning: () => true,
      isStale: () => false,
      heartbeat: async () => {
        if (rebalancing) throw Object.assign(new Error('The group is rebalancing'), { type: 'REBALANCE_IN_PROGRESS' });
      },
      resolveOffset: (offset: string) => void resolved.push(offset),
      uncommittedOffsets: () => ({ topics: [] }),
      commitOffsetsIfNecessary: async () => undefined,
      pause: () => () => undefined,
    } as unknown as EachBatchPayload;

    const eachBatch = (loop as unknown as { eachBatch(p: EachBatchPayload): Promise<void> }).eachBatch.bind(loop);
    await expect(eachBatch(payload)).rejects.toMatchObject({ type: 'REBALANCE_IN_PROGRESS' });

    const last = Math.max(...started);
    // Not everything ran: the batch stopped handing out new messages...
    expect(last).toBeLessThan(messages.length - 1);
    // ...but 1, overtaken before the stop, still ran, so everything up to the last started
    // message is finished and resolved in one contiguous prefix.
    expect(started).toContain(1);
    expect([...started].sort((a, b) => a - b)).toEqual(Array.from({ length: last + 1 }, (_, i) => i));
    expect(resolved).toEqual([String(last)]);
  });
});

describe('ConsumerLoop on untrusted input', () => {
  const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
  const loopOf = (options: Partial<ConsumerLoopOptions> & Pick<ConsumerLoopOptions, 'handle'>) =>
    new ConsumerLoop({
      kafka: {
        consumer: () => ({
          on: () => undefined,
          events: { CRASH: 'crash', GROUP_JOIN: 'join' },
          resume: () => undefined,
          disconnect: async () => undefined,
        }),
      } as unknown as Kafka,
      groupId: 'g',
      topics: ['t'],
      mode: 'main',
      scheduler: new KeyScheduler(1),
      partitionsConcurrently: 1,
      logger: quiet,
      settings: {
        sessionTimeout: 6_000,
        heartbeatInterval: 1_000,
        rebalanceTimeout: 2_000,
        maxWaitTimeInMs: 100,
        retry: {},
        fromBeginning: true,
        releaseBackoffMs: 1,
        crashRestartDelayMs: 100,
        revokeTimeoutMs: 1_000,
      },
      ...options,
    });
  /** One eachBatch call over `messages`; returns the offsets resolved and how often it paused. */
  const batch = async (loop: ConsumerLoop, messages: KafkaMessage[]) => {
    const resolved: string[] = [];
    let pauses = 0;
    const payload = {
      batch: { topic: 't', partition: 0, messages },
      isRunning: () => true,
      isStale: () => false,
      heartbeat: async () => undefined,
      resolveOffset: (offset: string) => void resolved.push(offset),
      uncommittedOffsets: () => ({ topics: [] }),
      commitOffsetsIfNecessary: async () => undefined,
      pause: () => {
        pauses++;
        return () => undefined;
      },
    } as unknown as EachBatchPayload;
    await (loop as unknown as { eachBatch(p: EachBatchPayload): Promise<void> }).eachBatch(payload);
    return { resolved, pauses };
  };
  const retryCopy = (offset: number, dueAt: string): KafkaMessage =>
    ({ ...message(offset, 'k'), headers: { 'ef-due-at': Buffer.from(dueAt) } }) as KafkaMessage;

  it('clamps a far-future ef-due-at to maxDueAheadMs, remembers it across fetches, and sets no overflowing timer', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => void warnings.push(w.name);
    process.on('warning', onWarning);
    const timers: number[] = [];
    const realSetTimeout = globalThis.setTimeout;
    const spy = ((fn: () => void, ms?: number) => {
      timers.push(ms ?? 0);
      return realSetTimeout(fn, ms);
    }) as typeof setTimeout;
    const handled: string[] = [];
    const loop = loopOf({
      mode: 'retry',
      maxDueAheadMs: 60,
      handle: async (m) => {
        handled.push(m.message.offset);
        return 'done';
      },
    });
    const forged = [retryCopy(0, '999999999999999'), retryCopy(1, '0')];
    try {
      globalThis.setTimeout = spy;
      const first = await batch(loop, forged);
      globalThis.setTimeout = realSetTimeout;
      expect(first).toEqual({ resolved: [], pauses: 1 });
      expect(handled).toEqual([]);
      expect(Math.max(...timers)).toBeLessThanOrEqual(MAX_TIMER_MS);
      // Fetched again before it is due: the clamped due time holds, it is not pushed out again.
      await batch(loop, forged);
      expect(handled).toEqual([]);
      await sleep(80);
      const later = await batch(loop, forged);
      expect(handled).toEqual(['0', '1']);
      expect(later.resolved).toEqual(['1']);
    } finally {
      globalThis.setTimeout = realSetTimeout;
      process.off('warning', onWarning);
      await loop.stop(0);
    }
    expect(warnings).not.toContain('TimeoutOverflowWarning');
  });

  it('counts deliveries of an offset that end without an outcome and hands the count out', async () => {
    const seen: number[] = [];
    const outcomes: MessageOutcome[] = ['release', 'release', 'done'];
    const loop = loopOf({
      handle: async (m) => {
        seen.push(m.deliveryCount);
        const outcome = outcomes.shift()!;
        if (outcome === 'release' && seen.length === 2) throw new Error('disposition not durable');
        return outcome;
      },
    });
    try {
      for (let i = 0; i < 3; i++) await batch(loop, [message(7, 'k')]);
      expect(seen).toEqual([0, 1, 2]);
      // Finished: a redelivery of the offset (after a rebalance) starts from 0 again.
      outcomes.push('done');
      await batch(loop, [message(7, 'k')]);
      expect(seen).toEqual([0, 1, 2, 0]);
    } finally {
      await loop.stop(0);
    }
  });
});
