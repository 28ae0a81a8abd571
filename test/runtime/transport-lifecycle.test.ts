import { describe, expect, it } from 'vitest';
import { EventformError, TransportLifecycle } from '@eventform/runtime';
import type { LifecycleSubscription, TopologyIR } from '@eventform/runtime';
import { uniqueTopologyName } from '@eventform/runtime/testing';
import { topologyFromDocument } from '../../generator/src/spec/index.js';

class StateError extends EventformError {
  readonly code = 'EF_TEST_STATE';
}

function topology(): TopologyIR {
  return topologyFromDocument({
    topology: uniqueTopologyName('lifecycle'),
    events: { A: { payload: true } },
    services: { p: { produces: ['A'] } },
  });
}

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A subscription that writes what happens to it into `log`. */
class LoggedSubscription implements LifecycleSubscription {
  constructor(
    private readonly log: string[],
    private readonly name: string,
    private readonly startError?: Error,
  ) {}
  start(): Promise<void> {
    this.log.push(`start ${this.name}`);
    return this.startError ? Promise.reject(this.startError) : Promise.resolve();
  }
  stop(options?: { timeoutMs?: number }): Promise<void> {
    this.log.push(`stop ${this.name} ${options?.timeoutMs}`);
    return Promise.resolve();
  }
}

const lifecycle = () => new TransportLifecycle<LoggedSubscription>('TestTransport', StateError);

describe('TransportLifecycle.start', () => {
  it('runs the start once while it is pending or done', async () => {
    const l = lifecycle();
    const t = topology();
    let runs = 0;
    const run = () => {
      runs++;
      return Promise.resolve();
    };
    const first = l.start(t, null, run);
    expect(l.start(t, null, run)).toBe(first);
    await first;
    expect(l.start(t, t, run)).toBe(first);
    expect(runs).toBe(1);
  });

  it('runs it again after it rejected', async () => {
    const l = lifecycle();
    const t = topology();
    let runs = 0;
    const run = () => (++runs === 1 ? Promise.reject(new Error('broker away')) : Promise.resolve());
    await expect(l.start(t, null, run)).rejects.toThrow('broker away');
    await l.start(t, null, run);
    expect(runs).toBe(2);
  });

  it('refuses another topology than the started one, naming both', async () => {
    const l = lifecycle();
    const [a, b] = [topology(), topology()];
    await l.start(a, null, () => Promise.resolve());
    const error = await l.start(b, a, () => Promise.reject(new Error('must not run'))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StateError);
    expect((error as Error).message).toBe(`TestTransport: already started for topology "${a.name}", not "${b.name}"`);
  });

  it('refuses after close()', async () => {
    const l = lifecycle();
    await l.close(10, () => Promise.resolve());
    let runs = 0;
    const started = l.start(topology(), null, () => {
      runs++;
      return Promise.resolve();
    });
    await expect(started).rejects.toThrow(new StateError('TestTransport: start() after close()'));
    expect(runs).toBe(0);
  });
});

describe('TransportLifecycle.require', () => {
  it('hands out the client once started, and refuses before and after', async () => {
    const l = lifecycle();
    expect(() => l.require('publish', null)).toThrow(
      new StateError('TestTransport: publish() before start() finished'),
    );
    const client = { id: 1 };
    expect(l.require('publish', client)).toBe(client);
    await l.close(10, () => Promise.resolve());
    expect(() => l.require('subscribe', client)).toThrow(new StateError('TestTransport: subscribe() after close()'));
  });
});

describe('TransportLifecycle.subscribe', () => {
  it('keeps a started subscription; stops one whose start failed at once and rethrows', async () => {
    const l = lifecycle();
    const log: string[] = [];
    const good = new LoggedSubscription(log, 'good');
    expect(await l.subscribe(good)).toBe(good);
    const failure = new Error('no such consumer');
    const bad = new LoggedSubscription(log, 'bad', failure);
    await expect(l.subscribe(bad)).rejects.toBe(failure);
    expect(log).toEqual(['start good', 'start bad', 'stop bad 0']);
    expect(l.subscriptions.has(good)).toBe(true);
  });

  it('rejects, and stops it, a subscription whose start finishes after close() began', async () => {
    const l = lifecycle();
    const log: string[] = [];
    const started = deferred();
    const slow = new LoggedSubscription(log, 'slow');
    slow.start = () => {
      log.push('start slow');
      return started.promise;
    };
    const subscribing = l.subscribe(slow);
    const closed = l.close(5, async () => void log.push('release'));
    started.resolve();
    await expect(subscribing).rejects.toThrow(new StateError('TestTransport: subscribe() after close()'));
    await closed;
    // Stopped by close() (its bound) and again, at once, by subscribe() once its start returned.
    expect(log.filter((e) => e.startsWith('stop slow'))).toEqual(['stop slow 5', 'stop slow 0']);
  });
});

describe('TransportLifecycle.close', () => {
  it('stops the subscriptions, waits for a pending start, then releases; once', async () => {
    const l = lifecycle();
    const log: string[] = [];
    const pending = deferred();
    const started = l.start(topology(), null, () => pending.promise);
    await l.subscribe(new LoggedSubscription(log, 'one'));
    let releases = 0;
    const release = () => {
      releases++;
      log.push('release');
      return Promise.resolve();
    };
    const closed = l.close(250, release);
    expect(l.close(0, release)).toBe(closed);
    // Give the close every chance to run ahead of the start.
    for (let i = 0; i < 10; i++) await Promise.resolve();
    expect(log).toEqual(['start one', 'stop one 250']);
    pending.reject(new Error('start failed'));
    await expect(started).rejects.toThrow('start failed');
    await closed;
    expect(log).toEqual(['start one', 'stop one 250', 'release']);
    expect(releases).toBe(1);
  });
});
