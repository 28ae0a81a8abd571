/**
 * A start (a pool, a table, a connection, a transport) that runs once: calls while it runs, and
 * after it succeeded, share its promise; after it rejected, or after `reset()` (a close), the next
 * call runs it again.
 */
export class OnceUntilRejected {
  private pending: Promise<void> | undefined;

  /** The promise of the start under way or done, else of `start()`, begun now. */
  run(start: () => Promise<void>): Promise<void> {
    this.pending ??= start().catch((error: unknown) => {
      this.pending = undefined;
      throw error;
    });
    return this.pending;
  }

  /** Resolves once a start under way has settled, whichever way; at once when none is. */
  async settled(): Promise<void> {
    await this.pending?.catch(() => undefined);
  }

  reset(): void {
    this.pending = undefined;
  }
}
