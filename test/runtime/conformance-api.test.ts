/**
 * The conformance suite's framework-neutral surface: cases as data (`run`, skipping, CI, timeout)
 * and registration with any framework's describe/it. (The checks themselves run in
 * memory-conformance.test.ts and, under node:test, in conformance-portable.test.ts.)
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryBroker, createMemoryTransport } from '@eventform/runtime';
import type { Transport } from '@eventform/runtime';
import {
  ConformanceSkipError,
  conformanceCases,
  conformanceSuiteName,
  describeTransportConformance,
} from '@eventform/runtime/testing';
import type { TestFramework } from '@eventform/runtime/testing';
import { topologyFromDocument } from '../../generator/src/spec/index.js';

const topology = topologyFromDocument;

afterEach(() => {
  vi.unstubAllEnvs();
  vi.useRealTimers();
});

const neverCalled = (): Transport => {
  throw new Error('the factory of a skipped suite was called');
};

/** A framework that records what is registered; `it` returns a mocha-like Test with timeout(). */
function recordingFramework() {
  const suites: string[] = [];
  const tests: { name: string; fn: (...args: unknown[]) => Promise<void>; timeoutMs?: number; skipped: boolean }[] = [];
  const timeouts: number[] = [];
  const register =
    (skipped: boolean) => (name: string, fn: (...args: unknown[]) => Promise<void>, timeoutMs?: number) => {
      tests.push({ name, fn, timeoutMs, skipped });
      return { timeout: (ms: number) => void timeouts.push(ms) };
    };
  const framework: TestFramework = {
    describe: (name, body) => {
      suites.push(name);
      body();
    },
    it: Object.assign(register(false), { skip: register(true) }),
  };
  return { framework, suites, tests, timeouts };
}

describe('conformanceCases', () => {
  it('returns every check with a unique name and the scaled timeout', () => {
    const broker = new MemoryBroker();
    const cases = conformanceCases('memory', () => createMemoryTransport({ broker }), { topology });
    expect(cases.length).toBeGreaterThanOrEqual(12);
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
    // waitTimeoutMs × 3 + 10 s, with waitTimeoutMs = 10 s × timeScale.
    expect(cases.every((c) => c.timeoutMs === 40_000)).toBe(true);
    const slow = conformanceCases('memory', () => createMemoryTransport({ broker }), { topology, timeScale: 2 });
    expect(slow.every((c) => c.timeoutMs === 70_000)).toBe(true);
  });

  it('skips through context.skip when switched off outside CI, without making a transport', async () => {
    vi.stubEnv('CI', '');
    for (const skipIf of [true, () => true, async () => true]) {
      const [first] = conformanceCases('off', neverCalled, { topology, skipIf });
      const skip = vi.fn();
      await first!.run({ skip });
      expect(skip).toHaveBeenCalledWith('transport "off" is unavailable (skipIf)');
    }
  });

  it('lets a throwing context.skip (vitest, mocha) stop the case', async () => {
    vi.stubEnv('CI', 'false');
    const [first] = conformanceCases('off', neverCalled, { topology, skipIf: true });
    const pending = new Error('pending');
    await expect(
      first!.run({
        skip: () => {
          throw pending;
        },
      }),
    ).rejects.toBe(pending);
  });

  it('rejects with ConformanceSkipError when it must skip and the runner gave no skip', async () => {
    vi.stubEnv('CI', '0');
    const [first] = conformanceCases('off', neverCalled, { topology, skipIf: true });
    const error = await first!.run().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConformanceSkipError);
    expect((error as Error).message).toMatch(/transport "off" is unavailable \(skipIf\)/);
  });

  it('fails instead of skipping in CI', async () => {
    for (const CI of ['true', '1', 'yes']) {
      vi.stubEnv('CI', CI);
      const [first] = conformanceCases('off', neverCalled, { topology, skipIf: () => true });
      const skip = vi.fn();
      await expect(first!.run({ skip })).rejects.toThrow(
        `Transport "off" is unavailable, and CI=${CI} forbids skipping its conformance suite`,
      );
      expect(skip).not.toHaveBeenCalled();
    }
  });

  it('evaluates a skipIf function once for all cases', async () => {
    vi.stubEnv('CI', '');
    const skipIf = vi.fn(async () => true);
    const cases = conformanceCases('off', neverCalled, { topology, skipIf });
    expect(skipIf).not.toHaveBeenCalled();
    for (const c of cases) await c.run({ skip: () => undefined });
    expect(skipIf).toHaveBeenCalledTimes(1);
  });

  it('rejects, naming the case, when it runs longer than timeoutMs', async () => {
    vi.useFakeTimers();
    const [first] = conformanceCases('hang', () => new Promise<Transport>(() => {}), { topology, waitTimeoutMs: 0 });
    expect(first!.timeoutMs).toBe(10_000);
    const outcome = first!.run().then(
      () => 'resolved',
      (e: unknown) => (e as Error).message,
    );
    await vi.advanceTimersByTimeAsync(9_999);
    await vi.advanceTimersByTimeAsync(1);
    expect(await outcome).toBe(`Conformance case "${first!.name}" timed out after 10000 ms`);
  });
});

describe('describeTransportConformance', () => {
  it('registers one describe and one it per case, with a timeout beyond the case’s own', () => {
    const { framework, suites, tests, timeouts } = recordingFramework();
    const broker = new MemoryBroker();
    describeTransportConformance('memory', () => createMemoryTransport({ broker }), { topology, test: framework });
    const cases = conformanceCases('memory', () => createMemoryTransport({ broker }), { topology });
    expect(suites).toEqual([conformanceSuiteName('memory')]);
    expect(tests.map((t) => t.name)).toEqual(cases.map((c) => c.name));
    expect(tests.every((t) => !t.skipped)).toBe(true);
    for (const t of tests) {
      expect(t.timeoutMs).toBeGreaterThan(40_000);
      // No declared parameter: mocha, jest and node:test would otherwise wait for a done callback.
      expect(t.fn.length).toBe(0);
    }
    // A mocha-style Test returned by it() gets the same timeout.
    expect(timeouts).toEqual(tests.map((t) => t.timeoutMs));
  });

  it('registers with it.skip for skipIf: true outside CI, with it in CI', () => {
    vi.stubEnv('CI', '');
    const local = recordingFramework();
    describeTransportConformance('off', neverCalled, { topology, test: local.framework, skipIf: true });
    expect(local.tests.length).toBeGreaterThan(0);
    expect(local.tests.every((t) => t.skipped)).toBe(true);

    vi.stubEnv('CI', 'true');
    const ci = recordingFramework();
    describeTransportConformance('off', neverCalled, { topology, test: ci.framework, skipIf: true });
    expect(ci.tests.every((t) => !t.skipped)).toBe(true);
  });

  it('skips through the test context: the first argument (vitest, node:test) or this (mocha)', async () => {
    vi.stubEnv('CI', '');
    const { framework, tests } = recordingFramework();
    describeTransportConformance('off', neverCalled, { topology, test: framework, skipIf: () => true });
    const [first, second, third] = tests;

    const nodeTest = { skip: vi.fn() };
    await first!.fn(nodeTest);
    expect(nodeTest.skip).toHaveBeenCalledWith('transport "off" is unavailable (skipIf)');

    const pending = new Error('mocha Pending');
    const mocha = {
      skip: vi.fn(function (this: unknown) {
        expect(this).toBe(mocha);
        throw pending;
      }),
    };
    await expect(second!.fn.call(mocha)).rejects.toBe(pending);
    expect(mocha.skip).toHaveBeenCalledOnce();

    // jest: no context with skip, so the case fails rather than pass silently.
    await expect(third!.fn.call(undefined)).rejects.toBeInstanceOf(ConformanceSkipError);
  });

  it('uses the global describe and it by default, and says so when there are none', () => {
    const globals = globalThis as { describe?: unknown; it?: unknown };
    expect(globals.describe).toBeUndefined();
    expect(() => describeTransportConformance('memory', neverCalled, { topology })).toThrow(/no test framework/);
    const { framework, suites, tests } = recordingFramework();
    globals.describe = framework.describe;
    globals.it = framework.it;
    try {
      describeTransportConformance('memory', neverCalled, { topology });
    } finally {
      delete globals.describe;
      delete globals.it;
    }
    expect(suites).toEqual([conformanceSuiteName('memory')]);
    expect(tests.length).toBeGreaterThan(0);
  });
});
