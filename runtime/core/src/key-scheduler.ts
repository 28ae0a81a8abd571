/**
 * Runs tasks with a concurrency limit while keeping tasks of the same key strictly sequential,
 * in submission order. Tasks without a key only take a slot.
 *
 * A broker binding submits messages in the order the broker delivers them (Kafka: a partition's
 * offsets; a queue or stream: its sequence), so same-key messages are handled in publish order
 * while different keys run in parallel.
 *
 * Plain queues rather than promise chains: a task whose key is idle and for which a slot is free
 * starts at once, and each task costs one promise however busy its key is (the consumer runs every
 * message through here): the one {@link KeyScheduler.run} returns, or with
 * {@link KeyScheduler.submit} only the reaction to the task's own promise.
 */
import type { AsyncResource } from 'node:async_hooks';
import { Deque } from './deque.js';

/**
 * How a job of {@link KeyScheduler.submit} ended: `failed` false with the task's value, or true with
 * what it threw or rejected with.
 */
export type SettledCallback<T> = (...outcome: [failed: false, value: T] | [failed: true, error: unknown]) => void;

interface Job {
  key: string | undefined;
  task: () => unknown;
  /** The submitter's async context, for a job that waits (see `run`). */
  context: AsyncResource | undefined;
  settled: (failed: boolean, result: unknown) => void;
}

export class KeyScheduler {
  private active = 0;
  /** Jobs whose key is free, waiting for a slot, in the order they became ready. */
  private readonly ready = new Deque<Job>();
  /**
   * Keys with a job queued or running → the jobs submitted behind it (`null` while none). A key
   * is absent when it has nothing queued or running.
   */
  private readonly keys = new Map<string, Deque<Job> | null>();

  constructor(private readonly concurrency: number) {
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new Error(`concurrency must be a positive integer, got ${String(concurrency)}`);
    }
  }

  /** Tasks currently holding a slot. */
  get inFlight(): number {
    return this.active;
  }

  /**
   * Run `task` once every earlier task with the same key has settled and a slot is free.
   * Settles with the task's outcome.
   *
   * A task that has to wait starts from another task's callback, in that task's async context.
   * Pass `context` (an AsyncResource made where the work was submitted, e.g. one per fetched
   * batch) to run it in the submitter's context instead: what tracing spans and
   * AsyncLocalStorage see. One resource for many tasks keeps that cheap; one per task costs far
   * more than the scheduling itself.
   */
  run<T>(key: string | undefined, task: () => Promise<T>, context?: AsyncResource): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.submit<T>(key, task, (failed, result) => (failed ? reject(result) : resolve(result)), context);
    });
  }

  /**
   * {@link run} without a promise of its own: `settled` is called once the task has settled (and
   * before the next task of its key starts), with its value or what it threw. For a caller that
   * runs every message through here and has its own bookkeeping per message: each promise costs
   * the async hooks of every `AsyncLocalStorage` in the process, and `run`'s is one per message.
   * A task that returns a plain value (or throws) still settles in a later microtask, never inside
   * `submit`. `settled` must not throw; if it does, the error is reported as uncaught.
   */
  submit<T>(
    key: string | undefined,
    task: () => Promise<T> | T,
    settled: SettledCallback<T>,
    context?: AsyncResource,
  ): void {
    const job: Job = { key, task, context, settled: settled as Job['settled'] };
    if (key !== undefined) {
      const behind = this.keys.get(key);
      if (behind !== undefined) {
        if (behind) behind.push(job);
        else this.keys.set(key, Deque.of(job));
        return;
      }
      this.keys.set(key, null);
    }
    // A newcomer never overtakes a job already waiting for a slot.
    if (this.active < this.concurrency && this.ready.length === 0) this.start(job, false);
    else this.ready.push(job);
  }

  /** `waited`: the job starts from another job's callback, so in its own `context` if it has one. */
  private start(job: Job, waited: boolean): void {
    this.active++;
    let outcome: unknown;
    try {
      const context = waited ? job.context : undefined;
      outcome = context ? context.runInAsyncScope(job.task) : job.task();
    } catch (error) {
      queueMicrotask(() => this.settle(job, true, error));
      return;
    }
    if (outcome instanceof Promise) {
      outcome.then(
        (value: unknown) => this.settle(job, false, value),
        (error: unknown) => this.settle(job, true, error),
      );
    } else if (isThenable(outcome)) {
      Promise.resolve(outcome).then(
        (value: unknown) => this.settle(job, false, value),
        (error: unknown) => this.settle(job, true, error),
      );
    } else {
      // A task that returns a plain value still settles (and frees its slot and key), later.
      queueMicrotask(() => this.settle(job, false, outcome));
    }
  }

  private settle(job: Job, failed: boolean, result: unknown): void {
    try {
      job.settled(failed, result);
    } finally {
      this.finish(job);
    }
  }

  private finish(job: Job): void {
    this.active--;
    if (job.key !== undefined) {
      const next = this.keys.get(job.key)?.shift();
      if (next) this.ready.push(next);
      else this.keys.delete(job.key);
    }
    while (this.active < this.concurrency && this.ready.length > 0) this.start(this.ready.shift() as Job, true);
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
