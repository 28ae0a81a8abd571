import { AsyncLocalStorage, AsyncResource, createHook } from 'node:async_hooks';
import { describe, expect, it } from 'vitest';
import { KeyScheduler } from '@eventform/runtime';

/** A task's outcome as `submit` reports it. */
type Outcome = { failed: false; value: unknown } | { failed: true; error: unknown };

function submitted(scheduler: KeyScheduler, key: string | undefined, task: () => unknown): Promise<Outcome> {
  return new Promise((resolve) => {
    scheduler.submit(key, task, (failed, result) =>
      resolve(failed ? { failed: true, error: result } : { failed: false, value: result }),
    );
  });
}

describe('KeyScheduler.submit', () => {
  it('keeps one key in submission order and runs other keys beside it, up to the limit', async () => {
    const scheduler = new KeyScheduler(2);
    const events: string[] = [];
    let active = 0;
    let maxActive = 0;
    const gates = new Map<string, () => void>();
    const task = (name: string) => () => {
      events.push(`start ${name}`);
      maxActive = Math.max(maxActive, ++active);
      return new Promise<string>((resolve) =>
        gates.set(name, () => {
          active--;
          events.push(`end ${name}`);
          resolve(name);
        }),
      );
    };
    const outcomes = [
      submitted(scheduler, 'a', task('a1')),
      submitted(scheduler, 'a', task('a2')),
      submitted(scheduler, 'b', task('b1')),
      submitted(scheduler, 'c', task('c1')),
    ];
    // a1 and b1 hold both slots; a2 waits for a1, c1 for a slot.
    expect(events).toEqual(['start a1', 'start b1']);
    const settle = async () => {
      for (let i = 0; i < 5; i++) await Promise.resolve();
    };
    gates.get('a1')!();
    await settle();
    // c1 waited for a slot before a2's key was free: it goes first.
    expect(events).toEqual(['start a1', 'start b1', 'end a1', 'start c1']);
    gates.get('b1')!();
    await settle();
    expect(events).toEqual(['start a1', 'start b1', 'end a1', 'start c1', 'end b1', 'start a2']);
    gates.get('a2')!();
    gates.get('c1')!();
    expect(await Promise.all(outcomes)).toEqual([
      { failed: false, value: 'a1' },
      { failed: false, value: 'a2' },
      { failed: false, value: 'b1' },
      { failed: false, value: 'c1' },
    ]);
    expect(maxActive).toBe(2);
    expect(scheduler.inFlight).toBe(0);
  });

  it('reports a rejection, a synchronous throw and a plain value, never inside submit itself', async () => {
    const scheduler = new KeyScheduler(1);
    let insideSubmit = true;
    const calledDuringSubmit: boolean[] = [];
    const outcome = (task: () => unknown) =>
      new Promise<Outcome>((resolve) => {
        insideSubmit = true;
        scheduler.submit('k', task, (failed, result) => {
          calledDuringSubmit.push(insideSubmit);
          resolve(failed ? { failed: true, error: result } : { failed: false, value: result });
        });
        insideSubmit = false;
      });
    const boom = new Error('boom');
    const sync = new Error('sync');
    await expect(outcome(() => Promise.reject(boom))).resolves.toEqual({ failed: true, error: boom });
    await expect(
      outcome(() => {
        throw sync;
      }),
    ).resolves.toEqual({ failed: true, error: sync });
    await expect(outcome(() => 'plain')).resolves.toEqual({ failed: false, value: 'plain' });
    await expect(outcome(() => ({ then: (ok: (v: string) => void) => ok('thenable') }))).resolves.toEqual({
      failed: false,
      value: 'thenable',
    });
    expect(calledDuringSubmit).toEqual([false, false, false, false]);
    expect(scheduler.inFlight).toBe(0);
  });

  it('reports a job before the next job of its key starts', async () => {
    const scheduler = new KeyScheduler(4);
    const events: string[] = [];
    const done = [1, 2, 3].map(
      (n) =>
        new Promise<void>((resolve) =>
          scheduler.submit(
            'k',
            async () => void events.push(`run ${n}`),
            () => {
              events.push(`settled ${n}`);
              resolve();
            },
          ),
        ),
    );
    await Promise.all(done);
    expect(events).toEqual(['run 1', 'settled 1', 'run 2', 'settled 2', 'run 3', 'settled 3']);
  });

  it('runs a job that waited in the async context of its submitter, given one', async () => {
    const scheduler = new KeyScheduler(1);
    const storage = new AsyncLocalStorage<string>();
    const seen = await Promise.all(
      ['a', 'a', 'b'].map(
        (key, i) =>
          new Promise<unknown>((resolve) =>
            storage.run(`submitter ${i}`, () =>
              scheduler.submit(
                key,
                async () => storage.getStore(),
                (_failed, result) => resolve(result),
                new AsyncResource('test submission'),
              ),
            ),
          ),
      ),
    );
    expect(seen).toEqual(['submitter 0', 'submitter 1', 'submitter 2']);
  });

  it('makes no promise of its own for a task that returns one (run makes one more)', async () => {
    const count = async (use: 'run' | 'submit'): Promise<number> => {
      const scheduler = new KeyScheduler(8);
      let promises = 0;
      const hook = createHook({ init: (_id, type) => void (type === 'PROMISE' && promises++) });
      const tasks = 200;
      const ready = Array.from({ length: tasks }, () => Promise.resolve());
      let settled = 0;
      let all!: () => void;
      const finished = new Promise<void>((resolve) => (all = resolve));
      hook.enable();
      for (let i = 0; i < tasks; i++) {
        const task = () => ready[i]!;
        const key = `k${i % 10}`;
        if (use === 'run') void scheduler.run(key, task).then(() => ++settled === tasks && all());
        else scheduler.submit(key, task, () => ++settled === tasks && all());
      }
      await finished;
      hook.disable();
      return promises / tasks;
    };
    const submit = await count('submit');
    const run = await count('run');
    // submit: the reaction to each task's promise; run: that, its own promise and the caller's then.
    // (The test's own await adds a promise or two to the whole.)
    expect(submit).toBeGreaterThanOrEqual(1);
    expect(submit).toBeLessThan(1.05);
    expect(run).toBeGreaterThanOrEqual(3);
    expect(run).toBeLessThan(3.05);
  });
});
