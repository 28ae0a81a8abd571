/**
 * A start (a pool, a table, a connection) that runs once: later calls share its promise; after it
 * rejected, or after `reset()` (a close), the next call runs it again.
 */
export class OnceUntilRejected {
  private pending: Promise<void> | undefined;

  constructor(private readonly start: () => Promise<void>) {}

  run(): Promise<void> {
    this.pending ??= this.start().catch((error: unknown) => {
      this.pending = undefined;
      throw error;
    });
    return this.pending;
  }

  reset(): void {
    this.pending = undefined;
  }
}
