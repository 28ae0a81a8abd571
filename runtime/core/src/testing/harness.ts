/**
 * A service test harness: run a service's handlers on the in-memory transport, with validation on,
 * feed them events and look at what they published and dead-lettered. No broker, no timers to
 * fake: `deliver` resolves once the event (retries included) has been fully handled.
 *
 * Handlers may be registered with `harness.handle` or on `harness.runtime` directly (which is what
 * the generated `register<Service>(runtime, handlers)` functions do): either way `deliver` waits
 * for them.
 *
 * @example
 * const harness = createTestHarness({ topology });
 * harness.handle('inventory-service.reserveStock', reserveStock);
 * // or: registerInventoryService(harness.runtime, handlers);
 * await harness.deliver('OrderCreated', { orderId: 'o1', ... });
 * expect(harness.published.map((e) => e.type)).toEqual(['InventoryReserved']);
 * await harness.stop();
 *
 * Transactions: with the default in-memory store, handlers get an in-memory stand-in as `ctx.tx`
 * (it records statements and returns no rows; see `harness.transactions`), so a handler written for
 * `@eventform/postgres` runs here too. Pass `idempotencyStore: createPostgresStore(...)` for real
 * PostgreSQL transactions; then what handlers publish goes through the outbox and its relay, and
 * `deliver` waits for that as well.
 */
import type { EventEnvelope, Handler, PublishOptions, Runtime, ValidatorMap } from '../api.js';
import { readDeadLetter } from '../dead-letter.js';
import type { DeadLetterRecord } from '../dead-letter.js';
import { TESTING_DEFAULTS } from '../defaults.js';
import { assertExtraHeaders, decodeDelivery, encodeEnvelope, newEnvelope } from '../envelope.js';
import { PublishValidationError } from '../errors.js';
import type { IdempotencyStore } from '../idempotency.js';
import type { EventIR, TopologyIR } from '../ir.js';
import { createRuntime } from '../runtime.js';
import type { OutgoingMessage } from '../transport.js';
import { resolveValidators, validatePayload } from '../validation.js';
import { createMemoryStore } from '../memory/memory-store.js';
import { MemoryTransport } from '../memory/memory-transport.js';
import { STAND_IN_LABEL, StandInTransactionStore } from './stand-in-transaction.js';
import type { StandInOptions, StandInTransaction } from './stand-in-transaction.js';
import { captureLogger } from './test-utils.js';
import type { CaptureLogger } from './test-utils.js';

export interface TestHarnessOptions {
  topology: TopologyIR;
  /** Generated validators. @default compiled from the IR with ajv */
  validators?: ValidatorMap | undefined;
  /**
   * A store with real transactions (`createPostgresStore`) gives handlers real ones, and its outbox.
   * @default a new in-memory store, with the `ctx.tx` stand-in (see {@link transaction})
   */
  idempotencyStore?: IdempotencyStore | undefined;
  /**
   * What handlers get as `ctx.tx` when the store has no transactions: the in-memory stand-in
   * (`respond` may give rows to answer statements with), or `false` for none, so reading `ctx.tx`
   * throws as it does in production with the memory store. Ignored with a transactional store.
   * @default the stand-in, answering every statement with no rows
   */
  transaction?: StandInOptions | false | undefined;
  /** How long `deliver` waits for handling to finish. @default 10_000 */
  timeoutMs?: number | undefined;
}

export interface DeliverOptions extends PublishOptions {
  /** The producing service in the envelope. @default the event's first producer, else `test-harness` */
  source?: string | undefined;
  /** Deliver to this consumer only. @default every registered consumer of the event */
  consumer?: string | undefined;
}

export interface TestHarness {
  /**
   * The runtime the harness drives. Handlers registered with `runtime.handle` (for example by a
   * generated `register<Service>(harness.runtime, handlers)`) count as registered with the harness.
   */
  readonly runtime: Runtime;
  readonly transport: MemoryTransport;
  /** Events published while the harness ran (by handlers, or through `runtime.publish`), in order. */
  readonly published: EventEnvelope[];
  /** Dead letters of every consumer so far. */
  readonly deadLetters: DeadLetterRecord[];
  /** Every log line of the runtime. */
  readonly logs: CaptureLogger['lines'];
  /**
   * The `ctx.tx` stand-ins handlers got, in order, each with the statements sent through it and
   * whether its handler committed or rolled back. Empty with a transactional store.
   */
  readonly transactions: readonly StandInTransaction[];
  /** Register a handler; before the first `deliver`. Same as `runtime.handle`, chainable. */
  handle(consumerId: string, handler: Handler): TestHarness;
  /**
   * Validate `payload`, deliver it as `eventName` to the registered consumer(s), wait until every
   * registered consumer is idle (retries included), whichever way it was registered.
   */
  deliver(eventName: string, payload: unknown, options?: DeliverOptions): Promise<EventEnvelope>;
  stop(): Promise<void>;
}

/** Records what is published, then routes it like the plain memory transport. */
class RecordingTransport extends MemoryTransport {
  readonly published: EventEnvelope[] = [];
  override async publish(event: EventIR, message: OutgoingMessage): Promise<void> {
    this.published.push(decodeDelivery(message));
    await super.publish(event, message);
  }
}

export function createTestHarness(options: TestHarnessOptions): TestHarness {
  const { topology } = options;
  const transport = new RecordingTransport();
  const logger = captureLogger();
  const validators = resolveValidators(topology, options.validators);
  const given = options.idempotencyStore;
  // A store without transactions gets the stand-in, so handlers that use ctx.tx run here too.
  const standIns =
    options.transaction !== false && !given?.transaction
      ? new StandInTransactionStore(given ?? createMemoryStore(), options.transaction || {})
      : undefined;
  const store = standIns ?? given;
  const runtimeOptions: Parameters<typeof createRuntime>[0] = { topology, transport, validators, logger };
  if (store) runtimeOptions.idempotencyStore = store;
  const runtime = createRuntime(runtimeOptions);
  if (standIns) logger.info(`ctx.tx is the ${STAND_IN_LABEL}; pass a PostgreSQL store for real transactions`);
  const timeoutMs = options.timeoutMs ?? TESTING_DEFAULTS.waitTimeoutMs;
  const registered: string[] = [];
  // Observe every registration on the runtime, not only those made through the harness, so
  // `deliver` also waits for handlers wired by generated code. Recorded only once the runtime
  // accepted the handler (it throws for an unknown consumer, a duplicate, or after start).
  const register = runtime.handle.bind(runtime);
  runtime.handle = (consumerId, handler) => {
    register(consumerId, handler);
    registered.push(consumerId);
  };
  let started: Promise<void> | undefined;

  const harness: TestHarness = {
    runtime,
    transport,
    published: transport.published,
    logs: logger.lines,
    transactions: standIns?.transactions ?? [],
    get deadLetters(): DeadLetterRecord[] {
      if (!started) return [];
      return topology.consumers.flatMap((c) => transport.deadLetters(c.id).map((m) => readDeadLetter(m)));
    },
    handle(consumerId, handler) {
      runtime.handle(consumerId, handler);
      return harness;
    },
    async deliver(eventName, payload, deliverOptions = {}) {
      const event = topology.events.find((e) => e.name === eventName);
      if (!event) throw new Error(`Unknown event "${eventName}"`);
      const issues = validatePayload(validators[eventName]!, payload);
      if (issues) throw new PublishValidationError(eventName, issues);
      const targets = deliverOptions.consumer
        ? [deliverOptions.consumer]
        : registered.filter((id) => event.consumers.includes(id));
      if (targets.length === 0)
        throw new Error(
          `No registered handler consumes ${eventName}; register one with harness.handle() or on harness.runtime first`,
        );
      for (const target of targets) {
        if (!event.consumers.includes(target)) throw new Error(`Consumer "${target}" does not consume ${eventName}`);
      }
      started ??= runtime.start();
      await started;
      if (deliverOptions.headers) assertExtraHeaders(deliverOptions.headers);
      // The envelope the runtime would send for this payload: same key, same content mode.
      const envelope = newEnvelope(event, deliverOptions.source ?? event.producers[0] ?? 'test-harness', payload, {
        id: deliverOptions.id,
        correlationId: deliverOptions.correlationId,
        causationId: deliverOptions.causationId,
        traceparent: deliverOptions.traceparent,
        key: deliverOptions.key,
      });
      const message = encodeEnvelope(envelope, deliverOptions.headers, event.contentMode);
      for (const target of targets) transport.injectRaw(target, message);
      await transport.whenIdle(registered, timeoutMs);
      // With an outbox, what handlers published is sent after their commits, by the relay: wait for
      // it, and for what that in turn sets off, until nothing more is published.
      const outbox = given?.transaction ? given.outbox : undefined;
      for (let sent = -1; outbox && sent !== transport.published.length;) {
        sent = transport.published.length;
        await withTimeout(outbox.flush(), timeoutMs, 'the outbox relay to publish what handlers committed');
        await transport.whenIdle(registered, timeoutMs);
      }
      return envelope;
    },
    stop: () => runtime.stop({ timeoutMs: TESTING_DEFAULTS.harnessStopTimeoutMs }),
  };
  return harness;
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
