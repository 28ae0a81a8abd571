/**
 * A process-wide gate between the handlers of every Kafka consumer loop: each handler holds it
 * shared while it runs; a message suspected of crashing the process holds it alone, so that if the
 * process dies during that run, the crash is that message's (see consumer-loop.ts, "Deliveries
 * without an outcome"). Waiting for the gate alone has a bound: a handler that never returns must
 * not stop every other partition of the process.
 *
 * One instance per process, also when this module is loaded more than once.
 */
export class IsolationGate {
  private shared = 0;
  private exclusive = false;
  /** Waiting for the gate alone, in order. */
  private readonly exclusiveWaiters: (() => void)[] = [];
  /** Waiting to share it while a run alone is active or waiting. */
  private sharedWaiters: (() => void)[] = [];

  /** Enter shared: `undefined` when entered at once, else a promise that resolves once entered. */
  enterShared(): Promise<void> | undefined {
    if (!this.exclusive && this.exclusiveWaiters.length === 0) {
      this.shared++;
      return undefined;
    }
    return new Promise<void>((resolve) =>
      this.sharedWaiters.push(() => {
        this.shared++;
        resolve();
      }),
    );
  }

  leaveShared(): void {
    this.shared--;
    this.pump();
  }

  /**
   * Enter alone once every shared holder has left. Resolves `true` when entered, `false` when
   * `giveUp` settles first (a bound, a stop); then nothing is held.
   */
  async enterAlone(giveUp: Promise<unknown>): Promise<boolean> {
    let entered!: () => void;
    const turn = new Promise<void>((resolve) => (entered = resolve));
    this.exclusiveWaiters.push(entered);
    this.pump();
    const won = await Promise.race([turn.then(() => true), giveUp.then(() => false)]);
    if (won) return true;
    const at = this.exclusiveWaiters.indexOf(entered);
    if (at >= 0) {
      this.exclusiveWaiters.splice(at, 1);
      this.pump();
      return false;
    }
    // Entered in the same turn the bound ran out: give it back.
    this.leaveAlone();
    return false;
  }

  leaveAlone(): void {
    this.exclusive = false;
    this.pump();
  }

  private pump(): void {
    if (this.exclusive) return;
    const next = this.exclusiveWaiters[0];
    if (next) {
      if (this.shared > 0) return;
      this.exclusiveWaiters.shift();
      this.exclusive = true;
      next();
      return;
    }
    const waiters = this.sharedWaiters;
    this.sharedWaiters = [];
    for (const wake of waiters) wake();
  }
}

const KEY = Symbol.for('eventform.kafka.isolation-gate');

/** The process's gate. */
export function isolationGate(): IsolationGate {
  const holder = globalThis as { [KEY]?: IsolationGate };
  holder[KEY] ??= new IsolationGate();
  return holder[KEY];
}
