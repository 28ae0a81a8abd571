/**
 * The outbox relay: publishes committed outbox rows through a transport, with its confirms.
 *
 * How it works, and why it is safe with any number of relays at once:
 *
 * - **Identity.** A relay holds one session for as long as it runs, a connection of its own made
 *   with the pool's settings but outside the pool, so its work never queues for a client behind the
 *   application's transactions. On it, a session-level advisory lock on a random token (the relay's
 *   id) and `LISTEN` on the outbox channel. A claim (`claimed_by = token`) counts only while a
 *   session holds that token's lock: a relay killed with SIGKILL, cut off from the database, or
 *   whose database restarted holds nothing, at once, with no lease to wait out.
 * - **Claims.** One short transaction, serialised between relays by a transaction-level advisory
 *   lock, takes the next `batchSize` unpublished rows of the relay's topology in `seq` order — but no
 *   row with an earlier unpublished row of the same key claimed by another live relay. So one key is
 *   never in flight at two relays, and claiming can never reorder a key.
 * - **One round trip per batch.** The claim and the marking of published rows are statements
 *   prepared once per session, sent together as one query (one implicit transaction: mark, take the
 *   claim lock, claim — the claim's snapshot is taken after the lock). The session commits with
 *   `synchronous_commit = off`: a claim dies with its session anyway, and a mark lost in a database
 *   crash only means the rows are sent again, which at-least-once delivery allows.
 * - **Publishing.** A batch goes out in waves: the first row of each key (and every keyless row),
 *   then the second of each key, and so on, each wave after the previous one was confirmed. A row is
 *   never sent before the earlier rows of its key were confirmed, even when a send fails half-way.
 *   While a batch is published the next one is claimed (leaving out the rows in flight; it may hold
 *   later rows of their keys), and it is published only once the whole batch was confirmed. The
 *   published rows are marked with a later claim; on a failure they are marked at once, the rest and
 *   the batch claimed ahead released (attempts and the error recorded on the failed rows only) and
 *   the relay backs off.
 * - **Waking.** After a commit that wrote rows, the writer wakes the relays of its own process
 *   directly and the others by NOTIFY (sent after the commit, so it never holds PostgreSQL's global
 *   NOTIFY lock during a commit). A slow poll covers what nothing announced. A relay loops without
 *   waiting while batches come back non-empty.
 * - **Retention.** Published rows are deleted once older than `retentionMs`, a bounded batch per
 *   statement.
 *
 * Delivery is at least once: a relay that dies after sending and before marking leaves rows that are
 * sent again. Consumers with idempotency (the inbox) absorb those duplicates; see the package README.
 */
import type { Client, ClientConfig, Pool, QueryResult } from 'pg';
import type {
  EventIR,
  Logger,
  OutboxHealth,
  OutboxRelayHandle,
  OutboxRelayTarget,
  OutgoingMessage,
} from '@eventform/runtime';
import { POSTGRES_OUTBOX_DEFAULTS } from './defaults.js';
import type { OutboxTable } from './outbox-table.js';

/** How a relay paces itself; every field has a default in `POSTGRES_OUTBOX_DEFAULTS`. */
export interface OutboxRelaySettings {
  /** Rows claimed and published at once. @default 500 */
  batchSize?: number | undefined;
  /**
   * How often an idle relay looks for rows nobody announced (rows committed through eventform wake
   * it at once). @default 5_000
   */
  pollIntervalMs?: number | undefined;
  /** How long published rows are kept. @default 3_600_000 (1 h) */
  retentionMs?: number | undefined;
  /** How often published rows past the retention are deleted; `0` disables it. @default 60_000 */
  purgeIntervalMs?: number | undefined;
  /** How often `health()`'s pending count and oldest age are measured. @default 1_000 */
  statsIntervalMs?: number | undefined;
  /** Wait after a failed batch, doubled per failure up to the maximum. @default { initialDelayMs: 100, maxDelayMs: 5_000 } */
  retry?: { initialDelayMs?: number | undefined; maxDelayMs?: number | undefined } | undefined;
}

/** Names of the statements a relay prepares on its session. */
const CLAIM = 'eventform_outbox_claim';
const MARK = 'eventform_outbox_mark';

interface ClaimedRow {
  seq: string;
  event_type: string;
  key: string | null;
  headers: Record<string, string>;
  body: Buffer;
}

/** A claimed batch, with the claim's cycle (for flush) and the session token it was claimed under. */
interface Claim {
  cycle: number;
  token: number;
  rows: ClaimedRow[];
}

interface Resolved {
  batchSize: number;
  pollIntervalMs: number;
  retentionMs: number;
  purgeIntervalMs: number;
  statsIntervalMs: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

function resolve(settings: OutboxRelaySettings): Resolved {
  const D = POSTGRES_OUTBOX_DEFAULTS;
  const r: Resolved = {
    batchSize: settings.batchSize ?? D.batchSize,
    pollIntervalMs: settings.pollIntervalMs ?? D.pollIntervalMs,
    retentionMs: settings.retentionMs ?? D.retentionMs,
    purgeIntervalMs: settings.purgeIntervalMs ?? D.purgeIntervalMs,
    statsIntervalMs: settings.statsIntervalMs ?? D.statsIntervalMs,
    initialDelayMs: settings.retry?.initialDelayMs ?? D.retry.initialDelayMs,
    maxDelayMs: settings.retry?.maxDelayMs ?? D.retry.maxDelayMs,
  };
  for (const [name, value] of Object.entries(r)) {
    const zeroOk = name === 'purgeIntervalMs' || name === 'retentionMs';
    if (!Number.isFinite(value) || value < (zeroOk ? 0 : 1)) {
      throw new RangeError(
        `outbox relay: ${name} must be a ${zeroOk ? 'non-negative' : 'positive'} number, got ${value}`,
      );
    }
  }
  if (!Number.isInteger(r.batchSize)) throw new RangeError(`outbox relay: batchSize must be an integer`);
  return r;
}

/** A signal that can be awaited once per arming: the relay's "there may be work" flag. */
class Wakeup {
  private pending = false;
  private waiter: (() => void) | undefined;
  set(): void {
    this.pending = true;
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }
  /** Consume a pending wake-up, if any. */
  take(): boolean {
    const was = this.pending;
    this.pending = false;
    return was;
  }
  /** Resolves on `set()` or after `ms`. */
  wait(ms: number): Promise<void> {
    if (this.pending) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        resolve();
      }, ms);
      this.waiter = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

export class OutboxRelay implements OutboxRelayHandle {
  private readonly settings: Resolved;
  private readonly events = new Map<string, EventIR>();
  private readonly logger: Logger;
  private session: Client | undefined;
  /** The token of the advisory lock the session holds; 0 while it has none. */
  private token = 0;
  /** The claim statement's arguments after the token, as SQL literals (escaped by the session). */
  private claimArgs = '';
  /** Rows published and confirmed, to be marked by the next statement on the session. */
  private unmarked: string[] = [];
  /** The next batch, claimed while the current one is published. */
  private ahead: Promise<Claim> | undefined;
  private readonly wakeup = new Wakeup();
  /** Resolves when the relay stops (interrupts backoff waits). */
  private stopSignal: (() => void) | undefined;
  private readonly stopped: Promise<void>;
  private stopping = false;
  private loopDone: Promise<void> | undefined;
  private cycles = 0;
  private readonly flushes: { after: number; resolve: () => void }[] = [];
  private timers: NodeJS.Timeout[] = [];
  private status: OutboxHealth['relay'] = 'stopped';
  private stats = { pending: 0, oldestAgeMs: null as number | null, measuredAt: null as string | null };
  private lagMs: number | null = null;
  private published = 0;
  private failures = 0;
  private lastError: string | undefined;

  constructor(
    private readonly pool: Pool,
    private readonly table: OutboxTable,
    private readonly target: OutboxRelayTarget,
    settings: OutboxRelaySettings = {},
    private readonly onStop: (relay: OutboxRelay) => Promise<void> | void = () => {},
  ) {
    this.settings = resolve(settings);
    this.logger = target.logger;
    for (const event of target.topology.events) this.events.set(event.name, event);
    this.stopped = new Promise<void>((r) => (this.stopSignal = r));
  }

  /** Connect (the relay's session), start the transport (idempotent), then run until {@link stop}. */
  async start(): Promise<void> {
    if (this.loopDone) return;
    await this.target.transport.start(this.target.topology);
    await this.connectSession();
    this.status = 'running';
    this.loopDone = this.loop();
    const { statsIntervalMs, purgeIntervalMs, retentionMs } = this.settings;
    this.timers.push(setInterval(() => void this.measure(), statsIntervalMs));
    if (purgeIntervalMs > 0) this.timers.push(setInterval(() => void this.purgeQuietly(), purgeIntervalMs));
    for (const timer of this.timers) timer.unref();
    void this.measure();
    this.logger.info('outbox relay started', {
      table: this.table.name,
      topology: this.target.topology.name,
      transport: this.target.transport.name,
      retentionMs,
    });
  }

  /** There may be rows to publish: run a batch now instead of at the next poll. */
  wake(): void {
    this.wakeup.set();
  }

  flush(): Promise<void> {
    if (!this.loopDone || this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      // Resolved by the first batch that starts after this call and finds nothing to claim.
      this.flushes.push({ after: this.cycles, resolve });
      this.wake();
    });
  }

  health(): OutboxHealth {
    const health: OutboxHealth = {
      relay: this.status,
      pending: this.stats.pending,
      oldestAgeMs: this.stats.oldestAgeMs,
      lagMs: this.lagMs,
      published: this.published,
      failures: this.failures,
      measuredAt: this.stats.measuredAt,
    };
    if (this.status === 'failing' && this.lastError !== undefined) health.lastError = this.lastError;
    return health;
  }

  async stop(): Promise<void> {
    if (this.stopping) return this.loopDone;
    this.stopping = true;
    this.stopSignal?.();
    this.wakeup.set();
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    await this.loopDone;
    this.dropSession(undefined);
    this.status = 'stopped';
    for (const f of this.flushes.splice(0)) f.resolve();
    await this.onStop(this);
    this.logger.info('outbox relay stopped', { table: this.table.name, published: this.published });
  }

  /** Delete published rows older than the retention now; returns how many. */
  async purge(): Promise<number> {
    let total = 0;
    for (;;) {
      const result = await this.pool.query(this.table.sql.purge, [
        this.settings.retentionMs,
        POSTGRES_OUTBOX_DEFAULTS.purgeBatch,
      ]);
      const n = result.rowCount ?? 0;
      total += n;
      if (n < POSTGRES_OUTBOX_DEFAULTS.purgeBatch || this.stopping) return total;
    }
  }

  // ---- the loop ------------------------------------------------------------------------------

  private async loop(): Promise<void> {
    let delay = this.settings.initialDelayMs;
    while (!this.stopping) {
      if (!this.session) {
        try {
          await this.connectSession();
        } catch (error) {
          this.failed('outbox relay cannot reach PostgreSQL; retrying', error);
          await this.pause(delay);
          delay = Math.min(delay * 2, this.settings.maxDelayMs);
          continue;
        }
      }
      let outcome: { cycle: number; claimed: number; failed: boolean };
      try {
        outcome = await this.batch();
      } catch (error) {
        this.failed('outbox relay batch failed; retrying', error);
        outcome = { cycle: 0, claimed: 0, failed: true };
      }
      if (outcome.failed) {
        await this.dropAhead();
        await this.pause(delay);
        delay = Math.min(delay * 2, this.settings.maxDelayMs);
        continue;
      }
      delay = this.settings.initialDelayMs;
      if (this.status === 'failing') this.logger.info('outbox relay recovered', { table: this.table.name });
      this.status = 'running';
      if (outcome.claimed > 0 || this.ahead) continue;
      for (let i = this.flushes.length - 1; i >= 0; i--) {
        if (this.flushes[i]!.after < outcome.cycle) this.flushes.splice(i, 1)[0]!.resolve();
      }
      if (!this.stopping) await this.wakeup.wait(this.settings.pollIntervalMs);
    }
    // Its claims end with the session; what was confirmed is marked (else it is sent again).
    await this.dropAhead();
    if (this.unmarked.length > 0 && this.session) {
      await this.mark(this.session).catch((error: unknown) =>
        this.logger.warn('outbox relay could not mark its last batch; those rows will be sent again', {
          table: this.table.name,
          error: errorText(error),
        }),
      );
    }
  }

  private failed(message: string, error: unknown): void {
    this.failures++;
    this.status = 'failing';
    this.lastError = error instanceof Error ? error.message : String(error);
    this.logger.warn(message, { table: this.table.name, error: this.lastError });
  }

  /** Wait `ms`, or less if the relay stops. */
  private async pause(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.stopped, new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
    clearTimeout(timer);
  }

  /**
   * Claim a batch (or take the one claimed ahead), publish it in per-key waves while the next one is
   * claimed; what was confirmed is marked by a later claim, or at once (and the rest released) when
   * a send failed.
   */
  private async batch(): Promise<{ cycle: number; claimed: number; failed: boolean }> {
    const ahead = this.ahead;
    this.ahead = undefined;
    let claim = ahead ? await ahead : await this.claimNext([]);
    // Claimed ahead before the last batch was confirmed, so not carrying its marks: a relay about to
    // go idle (or resolve a flush) marks first, with a claim that also sees what came since.
    if (claim.rows.length === 0 && this.unmarked.length > 0) claim = await this.claimNext([]);
    const { cycle, token, rows } = claim;
    if (rows.length === 0) return { cycle, claimed: 0, failed: false };
    // Claimed by a session that is gone: those claims are void, another relay may hold the rows.
    if (token !== this.token) return { cycle, claimed: rows.length, failed: false };
    this.logger.debug('outbox batch claimed', { table: this.table.name, rows: rows.length, firstSeq: rows[0]!.seq });
    // The next batch is claimed while this one is published, and published only after it: rows of
    // a key this batch holds may be in it, behind theirs.
    this.ahead = this.claimNext(rows.map((r) => r.seq));
    this.ahead.catch(() => {}); // awaited by the next batch, or dropped
    const done: string[] = [];
    const failed: string[] = [];
    let error: unknown;
    for (const wave of waves(rows)) {
      // Lost the session (and so the claim): another relay may have these rows now; stop sending.
      if (this.token !== token) break;
      const results = await Promise.allSettled(
        wave.map((row) => this.target.transport.publish(this.events.get(row.event_type)!, messageOf(row))),
      );
      results.forEach((result, i) => {
        if (result.status === 'fulfilled') done.push(wave[i]!.seq);
        else {
          failed.push(wave[i]!.seq);
          error ??= result.reason;
        }
      });
      if (failed.length > 0) break;
    }
    this.unmarked.push(...done);
    const left = rows.length - done.length;
    if (left === 0) return { cycle, claimed: rows.length, failed: false };
    // Not everything went out, so the batch claimed ahead must not go either (it may hold later rows
    // of a failed key). The claims die with a lost session; else mark what was sent now (the relay
    // is about to back off) and release the rest, this batch's and the next's.
    const next = await this.dropAhead();
    const session = this.session;
    if (session && this.token === token) {
      await this.mark(session);
      const doneSet = new Set(done);
      const unsent = rows.filter((r) => !doneSet.has(r.seq)).map((r) => r.seq);
      if (next?.token === token) unsent.push(...next.rows.map((r) => r.seq));
      const reason = error === undefined ? 'relay lost its database session' : errorText(error);
      await session.query(this.table.sql.release, [unsent, token, failed, reason]);
    }
    if (error !== undefined) {
      this.failed('outbox relay could not publish; rows released and retried', error);
      return { cycle, claimed: rows.length, failed: true };
    }
    return { cycle, claimed: rows.length, failed: false };
  }

  /** Forget the batch claimed ahead (once its claim has finished); its claims are released by the caller or die with the session. */
  private async dropAhead(): Promise<Claim | undefined> {
    const ahead = this.ahead;
    this.ahead = undefined;
    return ahead?.catch(() => undefined);
  }

  /** Claim the next batch, leaving out the rows this relay has in flight. */
  private async claimNext(inFlight: readonly string[]): Promise<Claim> {
    this.wakeup.take(); // commits from here on are either in this claim's snapshot or wake the loop again
    const cycle = ++this.cycles;
    const token = this.token;
    return { cycle, token, rows: await this.claim(token, inFlight) };
  }

  /** One query on the session: mark the rows waiting for it, take the claim lock, claim. */
  private async claim(token: number, inFlight: readonly string[]): Promise<ClaimedRow[]> {
    const session = this.session;
    if (token === 0 || !session) throw new Error('the relay has no database session');
    const marking = [...this.unmarked];
    const statements = [
      ...(marking.length > 0 ? [`EXECUTE ${MARK}(${seqArray(marking)})`] : []),
      `SELECT pg_advisory_xact_lock(${this.table.lockNamespace}, 0)`,
      `EXECUTE ${CLAIM}(${token}, ${this.claimArgs}, ${seqArray(inFlight)})`,
    ];
    // Several statements in one query run as one transaction: a failure rolls the marks back too.
    const results = (await session.query(statements.join('; '))) as unknown as QueryResult[];
    if (marking.length > 0) this.marked(marking, results[0]!);
    return (results[results.length - 1]!.rows as ClaimedRow[]).sort((a, b) => compareSeq(a.seq, b.seq));
  }

  /** Mark the rows waiting for it, alone. */
  private async mark(session: Client): Promise<void> {
    const marking = [...this.unmarked];
    if (marking.length === 0) return;
    this.marked(marking, await session.query(`EXECUTE ${MARK}(${seqArray(marking)})`));
  }

  private marked(seqs: readonly string[], result: QueryResult): void {
    const markedNow = new Set(seqs);
    this.unmarked = this.unmarked.filter((seq) => !markedNow.has(seq));
    this.published += seqs.length;
    const lag = (result.rows[0] as { lag_ms: number | null } | undefined)?.lag_ms;
    if (lag !== undefined && lag !== null) this.lagMs = lag;
  }

  // ---- the session ---------------------------------------------------------------------------

  private async connectSession(): Promise<void> {
    // The pool's own client class and settings, but not one of its clients: the relay never waits
    // for the pool, and the pool's users never wait for the relay.
    const { Client: SessionClient } = this.pool as unknown as { Client: new (config: ClientConfig) => Client };
    const client = new SessionClient(this.pool.options);
    const lost = (error: unknown) => this.dropSession(client, error);
    const ended = () => this.dropSession(client, new Error('the connection ended'));
    client.on('error', lost);
    client.on('end', ended);
    try {
      await client.connect();
      await client.query(
        `SET synchronous_commit = off; ` +
          `PREPARE ${CLAIM} (integer, text, text[], integer, bigint[]) AS ${this.table.sql.claim}; ` +
          `PREPARE ${MARK} (bigint[]) AS ${this.table.sql.mark}`,
      );
      let token = 0;
      for (let attempt = 0; attempt < 10 && token === 0; attempt++) {
        const candidate = 1 + Math.floor(Math.random() * 0x7ffffffe);
        const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [
          this.table.lockNamespace,
          candidate,
        ]);
        if (rows[0]?.ok) token = candidate;
      }
      if (token === 0) throw new Error('outbox relay: no free relay token after 10 tries');
      await client.query(`LISTEN ${this.table.channelSql}`);
      client.on('notification', (n) => {
        if (n.channel === this.table.channel) this.wake();
      });
      const types = [...this.events.keys()].map((name) => client.escapeLiteral(name));
      this.claimArgs = `${client.escapeLiteral(this.target.topology.name)}, ARRAY[${types.join(', ')}]::text[], ${this.settings.batchSize}`;
      this.session = client;
      this.token = token;
      this.wake(); // what was committed while it was not listening
    } catch (error) {
      client.off('end', ended);
      // Keeps `lost` attached: a late error from a half-open connection must not kill the process.
      void client.end().catch(() => {});
      throw error;
    }
  }

  private dropSession(client: Client | undefined, error?: unknown): void {
    const current = this.session;
    if (!current || (client && client !== current)) return;
    this.session = undefined;
    this.token = 0;
    current.removeAllListeners('notification');
    // Ending the session releases its advisory lock: every claim of this relay is void now.
    void current.end().catch(() => {});
    if (error !== undefined && !this.stopping) {
      this.logger.warn('outbox relay lost its PostgreSQL session; reconnecting', {
        table: this.table.name,
        error: errorText(error),
      });
      this.wake();
    }
  }

  // ---- background ----------------------------------------------------------------------------

  private async measure(): Promise<void> {
    try {
      const { rows } = await this.pool.query<{ pending: number; oldest_ms: number | null }>(this.table.sql.stats);
      this.stats = {
        pending: rows[0]?.pending ?? 0,
        oldestAgeMs: rows[0]?.oldest_ms ?? null,
        measuredAt: new Date().toISOString(),
      };
    } catch {
      // The loop reports database trouble; health() keeps the last measurement and its time.
    }
  }

  private async purgeQuietly(): Promise<void> {
    try {
      const n = await this.purge();
      if (n > 0) this.logger.debug('outbox rows purged', { table: this.table.name, rows: n });
    } catch (error) {
      this.logger.warn('outbox purge failed', { table: this.table.name, error: errorText(error) });
    }
  }
}

/** Rows in `seq` order → waves: the n-th wave holds the n-th row of each key; keyless rows go first. */
export function waves<R extends { key: string | null }>(rows: readonly R[]): R[][] {
  const out: R[][] = [];
  const seen = new Map<string, number>();
  for (const row of rows) {
    let n = 0;
    if (row.key !== null) {
      n = seen.get(row.key) ?? 0;
      seen.set(row.key, n + 1);
    }
    (out[n] ??= []).push(row);
  }
  return out;
}

function messageOf(row: ClaimedRow): OutgoingMessage {
  const message: OutgoingMessage = { body: row.body, headers: row.headers };
  if (row.key !== null) message.key = row.key;
  return message;
}

/** A bigint[] literal of seqs (which PostgreSQL gave as digits; checked, since they go into SQL text). */
function seqArray(seqs: readonly string[]): string {
  for (const seq of seqs) if (!/^[0-9]{1,19}$/.test(seq)) throw new Error(`outbox relay: not a seq: ${seq}`);
  return `'{${seqs.join(',')}}'`;
}

/** bigint text comparison without BigInt: shorter is smaller (no sign, no leading zeros). */
function compareSeq(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
