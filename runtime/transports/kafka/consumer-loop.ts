/**
 * One kafkajs consumer (one group member) and the way it hands a partition's messages to the
 * runtime. A subscription runs two of these: `main` on the event topics and `retry` on the
 * consumer's retry topic.
 *
 * Contract, per partition batch:
 * - messages are submitted in offset order to a {@link KeyScheduler}: same key → one at a time in
 *   offset order; different keys → in parallel up to the consumer's concurrency;
 * - an offset is resolved and committed only when it and every offset before it in the
 *   partition are finished (disposition carried out); nothing later than a gap is committed, so
 *   a crash redelivers, never loses. Each batch commits its prefix itself before it returns;
 * - `release`, or a disposition that could not be carried out, stops the partition: nothing
 *   after it starts, the offset stays uncommitted, and the partition is paused briefly and then
 *   fetched again from that offset;
 * - in `retry` mode a message is not handled before its `ef-due-at`: the partition is paused
 *   until then (the other partitions, and the main topic, keep flowing) and re-fetched from the
 *   first unhandled offset when it resumes;
 * - on a rebalance (seen on a heartbeat) or on stop, nothing new starts, in-flight handlers get a
 *   bounded time to finish, what finished is committed, and the rest is left to whoever owns the
 *   partition next. On a rebalance, messages before the last one started still run within that
 *   bound, so no gap keeps finished work from being committed.
 *
 * Deliveries without an outcome (a message that takes its process down, every time): Kafka keeps
 * no delivery count, so the loop keeps one in the metadata of the group's committed offset,
 * `eventform:tries=<n>@<position>`; any later commit moves the position and clears it.
 * - The first batch of a partition after each group join reads the record at its committed
 *   position. Without one, it writes `tries=0` there just before the first message runs (a mark
 *   that this owner started here) and runs as usual; the batch's commit clears it.
 * - With one (an earlier owner started here and never got further: it crashed, or stopped before
 *   its first commit), the partition is suspect and the batch runs one message at a time, each
 *   alone in the process (every consumer loop's handlers hold a process-wide gate shared; see
 *   isolation.ts), its position committed before it starts with `tries` one more than recorded
 *   there. A crash during a run alone is that message's, so only such runs are counted: work
 *   that shared the process with the culprit is never blamed. The message reaches the runtime with
 *   `deliveryCount` = the runs recorded before, and the runtime dead-letters it once that reaches
 *   `maxDeliveries` (reason `redelivery-limit`). It runs at most `maxDeliveries` + 1 times: its
 *   first crash, amid concurrent work, is not counted.
 * - Waiting to run alone is bounded (`revokeTimeoutMs`): a handler elsewhere that never returns
 *   must not stop the process; past the bound the message runs shared and its run is not counted.
 * - Recording is best effort: when the record cannot be read or written, the batch runs as usual
 *   (or stops, to be fetched again) and the failure is logged.
 */
import type { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage, RetryOptions } from 'kafkajs';
import type { Logger } from '../../core/api.js';
import { EF } from '../../core/headers.js';
import { describeKafkaError, isRebalancing } from './client.js';
import { isolationGate } from './isolation.js';
import type { KeyScheduler } from './key-scheduler.js';

/** `done`: finished, may be committed. `release`: leave it (and what follows) for redelivery. */
export type MessageOutcome = 'done' | 'release';

export interface PartitionMessage {
  topic: string;
  partition: number;
  message: KafkaMessage;
  /** This process already handed out this offset (or a later one) of the partition before. */
  redelivered: boolean;
  /**
   * Earlier deliveries of this message to the group that ended without a committed outcome, as far
   * as the group's commit metadata shows (see "Deliveries without an outcome" above); absent when
   * unknown.
   */
  deliveryCount?: number;
}

export interface ConsumerLoopSettings {
  sessionTimeout: number;
  heartbeatInterval: number;
  rebalanceTimeout: number;
  maxWaitTimeInMs: number;
  retry: RetryOptions;
  fromBeginning: boolean;
  releaseBackoffMs: number;
  crashRestartDelayMs: number;
  /** Longest wait for in-flight handlers when the group rebalances. */
  revokeTimeoutMs: number;
  /**
   * Count deliveries without an outcome in the group's commit metadata, so a message that
   * crashes its consumer process reaches the runtime's `maxDeliveries`. @default true
   */
  countDeliveries?: boolean;
}

export interface ConsumerLoopOptions {
  kafka: Kafka;
  groupId: string;
  topics: string[];
  mode: 'main' | 'retry';
  scheduler: KeyScheduler;
  /** kafkajs `partitionsConsumedConcurrently`. */
  partitionsConcurrently: number;
  /**
   * Hand one message to the runtime and carry out its disposition. Rejects when the disposition
   * could not be made durable (the message is then treated like `release`).
   */
  handle(message: PartitionMessage): Promise<MessageOutcome>;
  logger: Logger;
  settings: ConsumerLoopSettings;
}

/** Per-batch stop state, shared with the loop so a rebalance or stop reaches every batch. */
interface BatchRun {
  stopRequested: boolean;
  boundMs: number;
  /** Epoch ms when the bound of a requested stop runs out. */
  deadline: number;
  wake: () => void;
  revokeError?: unknown;
}

export class ConsumerLoop {
  private readonly consumer: Consumer;
  private stopping = false;
  private stopped: Promise<void> | null = null;
  private readonly active = new Set<BatchRun>();
  private readonly timers = new Set<NodeJS.Timeout>();
  /**
   * Highest offset handed out per `topic|partition`, to flag redeliveries. A number: offsets stay
   * far below 2^53 (a million messages a second for 285 years).
   */
  private readonly seen = new Map<string, { max: number }>();
  /** `topic|partition` whose delivery record was read since the last group join. */
  private readonly recordsRead = new Set<string>();
  private admin: Promise<Admin> | null = null;
  private readonly log: Logger;

  constructor(private readonly options: ConsumerLoopOptions) {
    const s = options.settings;
    this.log = options.logger;
    this.consumer = options.kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: s.sessionTimeout,
      heartbeatInterval: s.heartbeatInterval,
      rebalanceTimeout: s.rebalanceTimeout,
      maxWaitTimeInMs: s.maxWaitTimeInMs,
      allowAutoTopicCreation: false,
      retry: { ...s.retry, restartOnFailure: async () => !this.stopping },
    });
    this.consumer.on(this.consumer.events.CRASH, (event) => {
      const { error, restart } = event.payload;
      if (this.stopping) return;
      this.log.warn('kafka consumer crashed', {
        group: options.groupId,
        error: describeKafkaError(error),
        restartedByKafkajs: restart,
      });
      // kafkajs does not restart after a non-retriable error; a consumer that silently stops
      // consuming is worse than one that retries, so restart it ourselves.
      if (!restart) this.later(s.crashRestartDelayMs, () => void this.restart());
    });
    this.consumer.on(this.consumer.events.GROUP_JOIN, (event) => {
      // A new generation: each partition's first batch records its start again.
      this.recordsRead.clear();
      this.log.debug('kafka consumer joined group', {
        group: options.groupId,
        memberAssignment: event.payload.memberAssignment,
      });
    });
  }

  get groupId(): string {
    return this.options.groupId;
  }

  /** Connect, subscribe and join the group; resolves once the first assignment is received. */
  async start(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: this.options.topics, fromBeginning: this.options.settings.fromBeginning });
    await this.run();
  }

  /**
   * Stop fetching, give in-flight handlers up to `timeoutMs`, commit what finished, leave the
   * group and disconnect. Idempotent.
   */
  stop(timeoutMs: number): Promise<void> {
    if (this.stopped) return this.stopped;
    this.stopping = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const run of this.active) requestStop(run, timeoutMs);
    const disconnect = this.consumer.disconnect().catch((error: unknown) => {
      this.log.warn('kafka consumer did not disconnect cleanly', {
        group: this.options.groupId,
        error: describeKafkaError(error),
      });
    });
    // Leaving the group needs the coordinator; with the broker down that could retry for a long
    // time. Bound it: the broker evicts a silent member after the session timeout anyway.
    const admin = this.admin;
    this.admin = null;
    void admin?.then((a) => a.disconnect()).catch(() => undefined);
    this.stopped = raceTimeout(disconnect, timeoutMs + 5_000).then((finished) => {
      if (!finished) {
        this.log.warn('kafka consumer stop timed out; the broker will evict the member', {
          group: this.options.groupId,
        });
      }
    });
    return this.stopped;
  }

  private run(): Promise<void> {
    return this.consumer.run({
      // Offsets are *resolved* here only for the contiguous prefix of finished messages
      // (eachBatchAutoResolve off), and kafkajs' commits only ever commit resolved offsets. So
      // letting kafkajs commit too can never get ahead of a durable disposition; it adds the
      // commits a purely manual scheme misses: when a rebalance is detected between batches and
      // after a batch that failed. No interval/threshold: each batch commits explicitly anyway.
      autoCommit: true,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.partitionsConcurrently,
      eachBatch: (payload) => this.eachBatch(payload),
    });
  }

  private async restart(): Promise<void> {
    if (this.stopping) return;
    try {
      await this.consumer.connect();
      await this.run();
      this.log.info('kafka consumer restarted', { group: this.options.groupId });
    } catch (error) {
      this.log.warn('kafka consumer restart failed; trying again', {
        group: this.options.groupId,
        error: describeKafkaError(error),
      });
      this.later(this.options.settings.crashRestartDelayMs, () => void this.restart());
    }
  }

  private later(ms: number, fn: () => void): void {
    if (this.stopping) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.stopping) fn();
    }, ms);
    this.timers.add(timer);
  }

  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const { topic, partition } = batch;
    const messages = batch.messages;
    const s = this.options.settings;

    const run: BatchRun = { stopRequested: false, boundMs: 0, deadline: 0, wake: () => undefined };
    const stopSignal = new Promise<void>((resolve) => (run.wake = resolve));
    this.active.add(run);
    if (this.stopping) requestStop(run, 0);

    const finished: boolean[] = new Array<boolean>(messages.length).fill(false);
    const seen = this.seenOf(topic, partition);
    let lastStarted = -1;
    let halted = false;
    let notDue: { offset: string; dueAt: number } | null = null;
    const shouldStop = (): boolean =>
      halted || run.stopRequested || this.stopping || !payload.isRunning() || payload.isStale();
    // On a rebalance, a message whose turn comes after the stop still runs (within the bound) when
    // a later message of the batch has started: it closes the gap in front of that work, which can
    // then be committed before the handover instead of being handled again by the next owner.
    // With concurrency across keys such gaps are the rule, not the exception. Not on shutdown, a
    // halt or a seek.
    const closesGap = (i: number): boolean =>
      run.revokeError !== undefined &&
      i < lastStarted &&
      Date.now() < run.deadline &&
      !halted &&
      !this.stopping &&
      payload.isRunning() &&
      !payload.isStale();

    // kafkajs heartbeats only between batches; a long batch must heartbeat itself, and that is
    // also where a rebalance shows up.
    const heartbeat = setInterval(() => {
      payload.heartbeat().catch((error: unknown) => {
        if (isRevocation(error)) this.revokeAll(error, s.revokeTimeoutMs);
        else
          this.log.debug('kafka heartbeat failed', { group: this.options.groupId, error: describeKafkaError(error) });
      });
    }, s.heartbeatInterval);

    try {
      // Deliveries without an outcome (see the module comment): is this partition suspect?
      const first = messages[0];
      const partitionKey = `${topic}|${partition}`;
      let record: DeliveryRecord | undefined;
      if (first && s.countDeliveries !== false && !this.recordsRead.has(partitionKey) && !shouldStop()) {
        this.recordsRead.add(partitionKey);
        record = await this.readDeliveryRecord(topic, partition, first.offset);
        if (record?.tries !== null && record !== undefined) {
          // Once can be a rebalance or a stop before the first commit; more, most likely a crash loop.
          const level = record.tries > 0 ? 'warn' : 'info';
          this.log[level]('kafka: a partition restarts where an earlier owner stopped without an outcome', {
            group: this.options.groupId,
            topic,
            partition,
            offset: record.anchor,
            isolatedRuns: record.tries,
            note: 'handling its batch one message at a time, each alone in the process',
          });
        }
      }
      const suspect = record !== undefined && record.tries !== null;
      const gate = isolationGate();
      /** The last delivery record this batch wrote. */
      let written: { position: string; tries: number } | undefined;

      const tasks: Promise<void>[] = [];
      for (let i = 0; i < messages.length; i++) {
        const message = messages[i] as KafkaMessage;
        if (shouldStop()) break;
        if (this.options.mode === 'retry') {
          const dueAt = dueAtOf(message);
          if (dueAt > Date.now()) {
            notDue = { offset: message.offset, dueAt };
            break;
          }
        }
        let deliveryCount: number | undefined;
        let alone = false;
        if (suspect) {
          // Alone in the process, within a bound; record the run before it starts.
          let boundTimer: NodeJS.Timeout | undefined;
          const bound = new Promise<void>((resolve) => (boundTimer = setTimeout(resolve, s.revokeTimeoutMs)));
          alone = await gate.enterAlone(Promise.race([bound, stopSignal]));
          clearTimeout(boundTimer);
          if (shouldStop()) {
            if (alone) gate.leaveAlone();
            break;
          }
          const previous = messages[i - 1];
          if (previous) payload.resolveOffset(previous.offset);
          const position = previous ? nextOffset(previous.offset) : record!.anchor;
          const earlier = previous ? 0 : (record!.tries as number);
          deliveryCount = earlier;
          const tries = alone ? earlier + 1 : earlier;
          if (!(await this.commitDeliveryRecord(payload, topic, partition, position, tries))) {
            if (alone) gate.leaveAlone();
            halted = true;
            break;
          }
          written = { position, tries };
        } else if (i === 0 && record !== undefined) {
          // Mark where this owner starts, just before the first message runs (not while a retry
          // waits to be due); the batch's commit clears it.
          if (await this.commitDeliveryRecord(payload, topic, partition, record.anchor, 0)) {
            written = { position: record.anchor, tries: 0 };
          }
        }
        const offset = Number(message.offset);
        const redelivered = offset <= seen.max;
        if (!redelivered) seen.max = offset;
        const key = message.key ? message.key.toString('utf8') : undefined;
        const handleOne = async (): Promise<void> => {
          // Its turn may come after a stop or a halt: then leave it for redelivery.
          if (shouldStop() && !closesGap(i)) return;
          lastStarted = Math.max(lastStarted, i);
          const delivered: PartitionMessage = { topic, partition, message, redelivered };
          if (deliveryCount !== undefined) delivered.deliveryCount = deliveryCount;
          if (!alone) {
            const entering = gate.enterShared();
            if (entering) await entering;
          }
          let outcome: MessageOutcome;
          try {
            outcome = await this.options.handle(delivered);
          } finally {
            if (alone) gate.leaveAlone();
            else gate.leaveShared();
          }
          if (outcome === 'done') finished[i] = true;
          else halted = true;
        };
        // A run alone bypasses the scheduler: its slots may be held by tasks waiting for the gate,
        // and nothing else runs meanwhile, so per-key order holds anyway.
        const task = (alone ? handleOne() : this.options.scheduler.run(key, handleOne)).catch((error: unknown) => {
          halted = true;
          this.log.error('kafka: could not carry out the outcome of a message; it will be redelivered', {
            group: this.options.groupId,
            topic,
            partition,
            offset: message.offset,
            error: describeKafkaError(error),
          });
        });
        tasks.push(task);
        // A stop or rebalance ends the wait; the bound below then applies as usual.
        if (suspect) await Promise.race([task, stopSignal]);
      }

      // Normally wait for every handler; once a stop or rebalance is requested, only as long as
      // its bound (a handler still running after that is not committed).
      let boundTimer: NodeJS.Timeout | undefined;
      let settled = false;
      const bound = stopSignal.then(
        () => new Promise<void>((resolve) => (settled ? resolve() : (boundTimer = setTimeout(resolve, run.boundMs)))),
      );
      await Promise.race([Promise.all(tasks), bound]);
      settled = true;
      clearTimeout(boundTimer);

      // Resolve the contiguous finished prefix: the next fetch of this partition starts right
      // after it, and the commit below makes it durable.
      let last = -1;
      while (last + 1 < messages.length && finished[last + 1]) last++;
      if (last >= 0) payload.resolveOffset((messages[last] as KafkaMessage).offset);
      await this.commit(payload, run);
      // Shutting down before getting past the last record written: nothing crashed, so take back
      // what the record claims (the mark, or the run alone), lest the next owner suspect a crash.
      const position = last >= 0 ? nextOffset((messages[last] as KafkaMessage).offset) : undefined;
      if (this.stopping && written && (position === undefined || position === written.position)) {
        const tries = written.tries > 0 ? written.tries - 1 : null;
        await this.commitDeliveryRecord(payload, topic, partition, written.position, tries);
      }
      if (run.stopRequested) {
        const left = finished.filter((done, i) => done && i > last).length;
        this.log.debug('kafka batch stopped', {
          group: this.options.groupId,
          topic,
          partition,
          reason: run.revokeError && !this.stopping ? 'rebalance' : 'stop',
          committedThrough: last >= 0 ? (messages[last] as KafkaMessage).offset : null,
          // finished past the first unfinished message: handled again by the next owner
          finishedPastGap: left,
        });
      }

      if (!this.stopping && !run.revokeError) {
        if (notDue) {
          const wait = Math.max(0, notDue.dueAt - Date.now());
          this.pauseFor(payload, topic, partition, wait);
        } else if (halted) {
          this.pauseFor(payload, topic, partition, s.releaseBackoffMs);
        }
      }
      if (run.revokeError) throw run.revokeError;
    } finally {
      clearInterval(heartbeat);
      this.active.delete(run);
    }
  }

  private async commit(payload: EachBatchPayload, run: BatchRun): Promise<void> {
    const offsets = payload.uncommittedOffsets();
    if (offsets.topics.length === 0) return;
    try {
      await payload.commitOffsetsIfNecessary(offsets);
    } catch (error) {
      if (isRevocation(error)) {
        run.revokeError ??= error;
        this.log.debug('kafka offset commit refused: the group is rebalancing', {
          group: this.options.groupId,
          error: describeKafkaError(error),
        });
        return;
      }
      // The offsets stay resolved; the next batch's commit includes them.
      this.log.warn('kafka offset commit failed; will retry with the next commit', {
        group: this.options.groupId,
        error: describeKafkaError(error),
      });
    }
  }

  /**
   * The delivery record of a partition's committed position: `tries` is `null` when there is none
   * (no earlier owner stopped here without an outcome). `undefined` when it could not be read.
   */
  private async readDeliveryRecord(
    topic: string,
    partition: number,
    firstOffset: string,
  ): Promise<DeliveryRecord | undefined> {
    try {
      this.admin ??= (async () => {
        const admin = this.options.kafka.admin();
        await admin.connect();
        return admin;
      })();
      const admin = await this.admin;
      const [offsets] = await admin.fetchOffsets({ groupId: this.options.groupId, topics: [topic] });
      const committed = offsets?.partitions.find((p) => p.partition === partition);
      // No commit yet: the group starts at the first message.
      const anchor = committed && Number(committed.offset) >= 0 ? committed.offset : firstOffset;
      return { anchor, tries: triesAt(committed?.metadata, anchor) };
    } catch (error) {
      const admin = this.admin;
      this.admin = null;
      void admin?.then((a) => a.disconnect()).catch(() => undefined);
      this.log.warn('kafka: could not read the partition’s delivery record; handling it as usual', {
        group: this.options.groupId,
        topic,
        partition,
        error: describeKafkaError(error),
      });
      return undefined;
    }
  }

  /**
   * Commit `position` (the next offset to handle) with `tries` isolated runs recorded for it, or
   * with no record (`null`).
   */
  private async commitDeliveryRecord(
    payload: EachBatchPayload,
    topic: string,
    partition: number,
    position: string,
    tries: number | null,
  ): Promise<boolean> {
    try {
      const metadata = tries === null ? null : `${TRIES_PREFIX}${tries}@${position}`;
      const entry = { partition, offset: position, metadata };
      // kafkajs passes `metadata` through to the OffsetCommit request; its types omit it.
      await payload.commitOffsetsIfNecessary({ topics: [{ topic, partitions: [entry] }] });
      return true;
    } catch (error) {
      if (isRevocation(error)) this.revokeAll(error, this.options.settings.revokeTimeoutMs);
      this.log.warn('kafka: could not record a delivery in the commit metadata', {
        group: this.options.groupId,
        topic,
        partition,
        offset: position,
        error: describeKafkaError(error),
      });
      return false;
    }
  }

  private pauseFor(payload: EachBatchPayload, topic: string, partition: number, ms: number): void {
    payload.pause();
    this.later(ms, () => {
      try {
        this.consumer.resume([{ topic, partitions: [partition] }]);
      } catch (error) {
        // Not running any more (crash/restart): a new run starts unpaused anyway.
        this.log.debug('kafka resume skipped', { group: this.options.groupId, error: describeKafkaError(error) });
      }
    });
  }

  private revokeAll(error: unknown, boundMs: number): void {
    for (const run of this.active) {
      run.revokeError ??= error;
      requestStop(run, boundMs);
    }
  }

  private seenOf(topic: string, partition: number): { max: number } {
    const key = `${topic}|${partition}`;
    let seen = this.seen.get(key);
    if (!seen) this.seen.set(key, (seen = { max: -1 }));
    return seen;
  }
}

function requestStop(run: BatchRun, boundMs: number): void {
  if (run.stopRequested) return;
  run.stopRequested = true;
  run.boundMs = boundMs;
  run.deadline = Date.now() + boundMs;
  run.wake();
}

const TRIES_PREFIX = 'eventform:tries=';

interface DeliveryRecord {
  /** The committed position the record is about (the next offset to handle). */
  anchor: string;
  /** Isolated runs recorded there, or `null` when nothing is recorded there. */
  tries: number | null;
}

/**
 * Isolated runs recorded at `position` in commit metadata written by {@link ConsumerLoop}; `null`
 * when the metadata is not such a record or is about another position.
 */
export function triesAt(metadata: string | null | undefined, position: string): number | null {
  if (!metadata?.startsWith(TRIES_PREFIX)) return null;
  const [count, at] = metadata.slice(TRIES_PREFIX.length).split('@');
  const n = Number(count);
  return at === position && Number.isInteger(n) && n >= 0 ? n : null;
}

/** The offset after `offset`. */
function nextOffset(offset: string): string {
  return (BigInt(offset) + 1n).toString();
}

/** Errors meaning this member's assignment is gone or about to go. */
function isRevocation(error: unknown): boolean {
  return isRebalancing(error) || (error as { type?: unknown } | null)?.type === 'UNKNOWN_MEMBER_ID';
}

/** `ef-due-at` of a retry-topic message, epoch ms; `0` (due now) when absent or unreadable. */
export function dueAtOf(message: KafkaMessage): number {
  const raw = message.headers?.[EF.dueAt];
  const first = Array.isArray(raw) ? raw[0] : raw;
  if (first === undefined) return 0;
  const value = Number(Buffer.isBuffer(first) ? first.toString('utf8') : first);
  return Number.isFinite(value) ? value : 0;
}

/** Resolves `true` if `promise` settled within `ms`, else `false` (the promise keeps running). */
function raceTimeout(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  return Promise.race([promise.then(() => true), timeout]).finally(() => clearTimeout(timer));
}
