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
 *   first unhandled offset when it resumes. The header is untrusted: a due time further ahead than
 *   `maxDueAheadMs` is clamped to that (remembered, so a re-fetch does not push it out again), an
 *   unreadable one means due now, and no timer is longer than Node allows;
 * - each delivery of an offset that ends without an outcome (`release`, or a disposition that
 *   could not be carried out) is counted in this process, and the count is handed out with the
 *   next delivery of that offset (`PartitionMessage.deliveryCount`), so the runtime can
 *   dead-letter a message the pipeline never gets through. Kafka keeps no such count; a restart
 *   or a partition moving to another member starts it again from 0;
 * - on a rebalance (seen on a heartbeat) or on stop, nothing new starts, in-flight handlers get a
 *   bounded time to finish, what finished is committed, and the rest is left to whoever owns the
 *   partition next. On a rebalance, messages before the last one started still run within that
 *   bound, so no gap keeps finished work from being committed.
 */
import { AsyncResource } from 'node:async_hooks';
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage, RetryOptions } from 'kafkajs';
import type { Logger } from '@eventform/runtime';
import { EF } from '@eventform/runtime';
import { describeKafkaError, isRebalancing } from './client.js';
import type { KeyScheduler } from '@eventform/runtime';

/** `done`: finished, may be committed. `release`: leave it (and what follows) for redelivery. */
export type MessageOutcome = 'done' | 'release';

export interface PartitionMessage {
  topic: string;
  partition: number;
  message: KafkaMessage;
  /** This process already handed out this offset (or a later one) of the partition before. */
  redelivered: boolean;
  /** Earlier deliveries of this offset in this process that ended without an outcome. */
  deliveryCount: number;
  /** The record's key as text (UTF-8), as the loop scheduled it by. */
  key: string | undefined;
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
   * `retry` mode: the furthest ahead of now an `ef-due-at` is believed (the consumer's longest
   * retry delay plus a margin for clock skew). @default Infinity
   */
  maxDueAheadMs?: number | undefined;
  /**
   * Hand one message to the runtime and carry out its disposition. Rejects when the disposition
   * could not be made durable (the message is then treated like `release`).
   */
  handle(message: PartitionMessage): Promise<MessageOutcome>;
  logger: Logger;
  settings: ConsumerLoopSettings;
}

/** What the loop remembers about one partition it has consumed. */
interface PartitionState {
  /**
   * Highest offset handed out, to flag redeliveries. A number: offsets stay far below 2^53 (a
   * million messages a second for 285 years).
   */
  max: number;
  /** Offset → deliveries that ended without an outcome; dropped once the offset is finished. */
  unfinished: Map<number, number>;
  /** `retry` mode: the message the partition is paused for, with its (clamped) due time. */
  waiting: { offset: string; dueAt: number } | null;
}

/** Node's longest timer (setTimeout fires after 1 ms when given more, with a warning). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

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
  /** Per `topic|partition`. */
  private readonly partitions = new Map<string, PartitionState>();
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

  /** Run `fn` after `ms`, at most {@link MAX_TIMER_MS} (a pause that long is simply renewed). */
  private later(ms: number, fn: () => void): void {
    if (this.stopping) return;
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        if (!this.stopping) fn();
      },
      Math.min(Math.max(0, ms), MAX_TIMER_MS),
    );
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
    // Handlers that wait for a slot run in this batch's async context (tracing, AsyncLocalStorage).
    const context = new AsyncResource('eventform.kafka.batch');
    const state = this.stateOf(topic, partition);
    // Offsets before this batch are finished (fetching resumes after the last resolved one).
    const first = messages.length > 0 ? Number((messages[0] as KafkaMessage).offset) : 0;
    for (const offset of state.unfinished.keys()) if (offset < first) state.unfinished.delete(offset);
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
      // Settles once every message submitted below has settled: one promise per batch, none per message.
      let pending = 0;
      let submitting = true;
      let allSettled!: () => void;
      const all = new Promise<void>((resolve) => (allSettled = resolve));
      for (let i = 0; i < messages.length; i++) {
        const message = messages[i] as KafkaMessage;
        if (shouldStop()) break;
        if (this.options.mode === 'retry') {
          const dueAt = this.dueAt(state, topic, partition, message);
          if (dueAt > Date.now()) {
            notDue = { offset: message.offset, dueAt };
            state.waiting = notDue;
            break;
          }
          if (state.waiting?.offset === message.offset) state.waiting = null;
        }
        const offset = Number(message.offset);
        const redelivered = offset <= state.max;
        if (!redelivered) state.max = offset;
        const key = message.key ? message.key.toString() : undefined; // UTF-8
        let deliveryCount = -1; // set when the message starts; -1: it never did
        pending++;
        this.options.scheduler.submit<MessageOutcome | undefined>(
          key,
          () => {
            // Its turn may come after a stop or a halt: then leave it for redelivery.
            if (shouldStop() && !closesGap(i)) return undefined;
            lastStarted = Math.max(lastStarted, i);
            deliveryCount = state.unfinished.get(offset) ?? 0;
            return this.options.handle({ topic, partition, message, redelivered, deliveryCount, key });
          },
          (failed, result) => {
            if (!failed && result === 'done') {
              state.unfinished.delete(offset);
              finished[i] = true;
            } else if (failed || deliveryCount >= 0) {
              if (deliveryCount >= 0) state.unfinished.set(offset, deliveryCount + 1);
              halted = true;
              if (failed) {
                this.log.error('kafka: could not carry out the outcome of a message; it will be redelivered', {
                  group: this.options.groupId,
                  topic,
                  partition,
                  offset: message.offset,
                  error: describeKafkaError(result),
                });
              }
            }
            if (--pending === 0 && !submitting) allSettled();
          },
          context,
        );
      }
      submitting = false;
      if (pending === 0) allSettled();

      // Normally wait for every handler; once a stop or rebalance is requested, only as long as
      // its bound (a handler still running after that is not committed).
      let boundTimer: NodeJS.Timeout | undefined;
      let settled = false;
      const bound = stopSignal.then(
        () => new Promise<void>((resolve) => (settled ? resolve() : (boundTimer = setTimeout(resolve, run.boundMs)))),
      );
      await Promise.race([all, bound]);
      settled = true;
      clearTimeout(boundTimer);

      // Resolve the contiguous finished prefix: the next fetch of this partition starts right
      // after it, and the commit below makes it durable.
      let last = -1;
      while (last + 1 < messages.length && finished[last + 1]) last++;
      if (last >= 0) payload.resolveOffset((messages[last] as KafkaMessage).offset);
      await this.commit(payload, run);
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

  private stateOf(topic: string, partition: number): PartitionState {
    const key = `${topic}|${partition}`;
    let state = this.partitions.get(key);
    if (!state) this.partitions.set(key, (state = { max: -1, unfinished: new Map(), waiting: null }));
    return state;
  }

  /**
   * When a retry-topic message is due: its `ef-due-at`, but never further ahead than
   * `maxDueAheadMs` from when this process first met it (a forged or skewed far-future time would
   * otherwise hold every later retry of the partition back for good).
   */
  private dueAt(state: PartitionState, topic: string, partition: number, message: KafkaMessage): number {
    if (state.waiting?.offset === message.offset) return state.waiting.dueAt;
    const raw = dueAtOf(message);
    const limit = Date.now() + (this.options.maxDueAheadMs ?? Infinity);
    if (raw <= limit) return raw;
    this.log.warn("kafka: ef-due-at beyond the consumer's longest retry delay; clamped", {
      group: this.options.groupId,
      topic,
      partition,
      offset: message.offset,
      dueAt: raw,
      clampedTo: limit,
    });
    return limit;
  }
}

function requestStop(run: BatchRun, boundMs: number): void {
  if (run.stopRequested) return;
  run.stopRequested = true;
  run.boundMs = boundMs;
  run.deadline = Date.now() + boundMs;
  run.wake();
}

/** Errors meaning this member's assignment is gone or about to go. */
function isRevocation(error: unknown): boolean {
  return isRebalancing(error) || (error as { type?: unknown } | null)?.type === 'UNKNOWN_MEMBER_ID';
}

/**
 * `ef-due-at` of a retry-topic message, epoch ms, as sent; `0` (due now) when absent, unreadable,
 * negative or not finite. Not bounded here: see `ConsumerLoopOptions.maxDueAheadMs`.
 */
export function dueAtOf(message: KafkaMessage): number {
  const raw = message.headers?.[EF.dueAt];
  const first = Array.isArray(raw) ? raw[0] : raw;
  if (first === undefined) return 0;
  const value = Number(Buffer.isBuffer(first) ? first.toString('utf8') : first);
  return Number.isFinite(value) && value > 0 ? value : 0;
}

/** Resolves `true` if `promise` settled within `ms`, else `false` (the promise keeps running). */
function raceTimeout(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  return Promise.race([promise.then(() => true), timeout]).finally(() => clearTimeout(timer));
}
