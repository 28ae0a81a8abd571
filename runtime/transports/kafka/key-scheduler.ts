/**
 * Runs tasks with a concurrency limit while keeping tasks of the same key strictly sequential,
 * in submission order. Tasks without a key only take a slot.
 *
 * The Kafka binding submits a partition's messages in offset order, so same-key messages are
 * handled in publish order while different keys of the same partition run in parallel.
 */
export class KeyScheduler {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  /** Tail of each key's chain; removed when the chain drains. */
  private readonly tails = new Map<string, Promise<void>>();

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
   */
  run<T>(key: string | undefined, task: () => Promise<T>): Promise<T> {
    if (key === undefined) return this.withSlot(task);
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(() => this.withSlot(task));
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  private async withSlot<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.concurrency) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.active++;
    }
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      // Hand the slot straight to the next waiter so a newcomer cannot overtake it.
      if (next) next();
      else this.active--;
    }
  }
}
