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
 * - **Publishing.** Rows are sent as soon as they are claimed, each after the earlier rows of its
 *   key that this relay holds were confirmed (keyless rows and the first row of each key at once),
 *   so a key is never reordered, even when a send fails half-way, and rows of other keys never wait
 *   for it. Claims go on while sends are in flight (leaving out the rows in flight; a claim may hold
 *   later rows of their keys, which then wait behind them), up to about two batches unconfirmed.
 *   Confirmed rows are marked by the next claim (or by a claim of their own before the relay goes
 *   idle). On a failed send the relay stops sending, lets what is in flight settle, marks what was
 *   confirmed, releases the rest (attempts and the error recorded on the refused rows only) and
 *   backs off.
 * - **Waking.** After a commit that wrote rows, the writer wakes the relays of its own process
 *   directly and the others by NOTIFY (sent after the commit, so it never holds PostgreSQL's global
 *   NOTIFY lock during a commit). A slow poll covers what nothing announced. A relay claims again at
 *   once when a claim came back full, and when it was woken while claiming.
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
  /** Rows one claim takes at most; at most about twice as many are sent and not yet confirmed. @default 500 */
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

/** After a step: claim again at once, wait for a wake-up, go idle (flushes resolve), or back off. */
interface Step {
  next: 'claim' | 'wait' | 'idle' | 'back off';
  cycle: number;
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
  /** Claimed rows whose send has not settled, by seq: left out of claims. */
  private readonly inFlight = new Map<string, Promise<boolean>>();
  private readonly chains = new KeyChains();
  /** The first failed send since the relay last backed off; no row is sent while it is set. */
  private sendError: unknown;
  /** Rows claimed under the current token and not sent because a send failed: released on recovery. */
  private unsent: { seq: string; token: number }[] = [];
  /** Rows the broker refused (their attempts and error are recorded on release). */
  private refused: string[] = [];
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
      let step: Step;
      try {
        step = await this.step();
      } catch (error) {
        this.failed('outbox relay claim failed; retrying', error);
        step = { next: 'back off', cycle: 0 };
      }
      if (step.next === 'back off') {
        await this.recover();
        await this.pause(delay);
        delay = Math.min(delay * 2, this.settings.maxDelayMs);
        continue;
      }
      delay = this.settings.initialDelayMs;
      if (step.next === 'claim') continue;
      if (step.next === 'idle') {
        this.recovered(); // nothing left to send, and the database answers
        for (let i = this.flushes.length - 1; i >= 0; i--) {
          if (this.flushes[i]!.after < step.cycle) this.flushes.splice(i, 1)[0]!.resolve();
        }
      }
      // Woken by a commit, a send that settled the last one in flight, dropped below the limit or failed, or the poll.
      if (!this.stopping) await this.wakeup.wait(this.settings.pollIntervalMs);
    }
    // Its claims end with the session; what was confirmed is marked (else it is sent again).
    await this.settled();
    if (this.unmarked.length > 0 && this.session) {
      await this.mark(this.session).catch((error: unknown) =>
        this.logger.warn('outbox relay could not mark its last batch; those rows will be sent again', {
          table: this.table.name,
          error: errorText(error),
        }),
      );
    }
  }

  /** Something worked after a failure: a send was confirmed, or a claim found nothing left to send. */
  private recovered(): void {
    if (this.status !== 'failing' || this.sendError !== undefined) return;
    this.logger.info('outbox relay recovered', { table: this.table.name });
    this.status = 'running';
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
   * One claim (carrying the marks of what was confirmed since the last one), its rows sent at once
   * behind the earlier rows of their keys; then what to do next.
   */
  private async step(): Promise<Step> {
    if (this.sendError !== undefined) return { next: 'back off', cycle: 0 };
    if (this.inFlight.size >= this.settings.batchSize) {
      // Two batches unconfirmed at most: wait for the sends (a commit's wake-up is seen by the next claim).
      this.wakeup.take();
      return { next: 'wait', cycle: 0 };
    }
    this.wakeup.take(); // commits from here on are either in this claim's snapshot or wake the loop again
    const cycle = ++this.cycles;
    const token = this.token;
    const rows = await this.claim(token, [...this.inFlight.keys()]);
    // Claimed by a session that is gone: those claims are void, another relay may hold the rows.
    if (token !== this.token) return { next: 'claim', cycle };
    if (rows.length > 0) {
      this.logger.debug('outbox batch claimed', { table: this.table.name, rows: rows.length, firstSeq: rows[0]!.seq });
      for (const row of rows) this.send(row, token);
    }
    if (rows.length >= this.settings.batchSize) return { next: 'claim', cycle };
    if (this.inFlight.size > 0) return { next: 'wait', cycle };
    // Nothing in flight: mark what was confirmed during the claim before going idle.
    if (this.unmarked.length > 0) return { next: 'claim', cycle };
    return { next: rows.length > 0 ? 'wait' : 'idle', cycle };
  }

  /** Send one claimed row once the earlier rows of its key this relay holds were confirmed. */
  private send(row: ClaimedRow, token: number): void {
    const event = this.events.get(row.event_type)!;
    const sent = this.chains.after(row.key, async () => {
      // Lost the session (so the claim: another relay may hold the row now) or backing off.
      if (this.token !== token) return false;
      if (this.sendError !== undefined) {
        this.unsent.push({ seq: row.seq, token });
        return false;
      }
      try {
        await this.target.transport.publish(event, messageOf(row));
      } catch (error) {
        this.sendError ??= error;
        this.unsent.push({ seq: row.seq, token });
        this.refused.push(row.seq);
        return false;
      }
      this.unmarked.push(row.seq);
      this.recovered();
      return true;
    });
    this.inFlight.set(row.seq, sent);
    void sent.then((ok) => {
      this.inFlight.delete(row.seq);
      const left = this.inFlight.size;
      if (!ok || left === 0 || left === this.settings.batchSize - 1) this.wakeup.set();
    });
  }

  /** Every send settled. */
  private async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight.values());
  }

  /**
   * After a failed send or claim: once every send settled, mark what was confirmed and release what
   * was not sent (its claims die with a lost session anyway).
   */
  private async recover(): Promise<void> {
    await this.settled();
    const error = this.sendError;
    const unsent = this.unsent.filter((u) => u.token === this.token).map((u) => u.seq);
    const refused = this.refused;
    this.sendError = undefined;
    this.unsent = [];
    this.refused = [];
    const session = this.session;
    if (session && this.token !== 0) {
      try {
        await this.mark(session);
        const reason = error === undefined ? 'relay lost its database session' : errorText(error);
        if (unsent.length > 0) await session.query(this.table.sql.release, [unsent, this.token, refused, reason]);
      } catch (releaseError) {
        // The rows stay claimed by this relay and are claimed again by its next claim.
        this.logger.warn('outbox relay could not release unsent rows', {
          table: this.table.name,
          error: errorText(releaseError),
        });
      }
    }
    if (error !== undefined) this.failed('outbox relay could not publish; rows released and retried', error);
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

/**
 * Runs tasks one after the other per key: a task starts once the previous task of its key resolved
 * `true`, and is skipped (resolving `false`) when it resolved `false` or threw. Keyless tasks start at once.
 */
export class KeyChains {
  private readonly tails = new Map<string, Promise<boolean>>();

  after(key: string | null, task: () => Promise<boolean>): Promise<boolean> {
    const safely = () => task().catch(() => false);
    if (key === null) return safely();
    const before = this.tails.get(key);
    const run = before ? before.then((ok) => (ok ? safely() : false)) : safely();
    this.tails.set(key, run);
    void run.then(() => {
      if (this.tails.get(key) === run) this.tails.delete(key);
    });
    return run;
  }

  /** Keys with a task pending. */
  get size(): number {
    return this.tails.size;
  }
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
