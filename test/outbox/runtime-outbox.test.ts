/**
 * The runtime's side of the transactional outbox, with a fake transactional store and outbox (the
 * PostgreSQL ones are tested in postgres-outbox.test.ts): where publishes go while a transaction is
 * open, what a rollback leaves, the per-service switch, the relay's lifecycle and `ctx.tx`.
 */
import { describe, expect, it } from 'vitest';
import {
  ConsumerRegistrationError,
  MemoryTransport,
  OutboxTransaction,
  OutboxTransactionClosedError,
  TransactionUnavailableError,
  createRuntime,
  decodeDelivery,
  runInOutboxTransaction,
} from '@eventform/runtime';
import type {
  EventIR,
  IdempotencyStore,
  OutboxHealth,
  OutboxRecord,
  OutboxRelayHandle,
  OutboxRelayTarget,
  OutgoingMessage,
  RuntimeOptions,
  TopologyIR,
  TransactionalOutbox,
} from '@eventform/runtime';
import { captureLogger, uniqueTopologyName, waitFor } from '@eventform/runtime/testing';
import { topologyFromDocument } from '../../generator/src/spec/index.js';

function topology(): TopologyIR {
  return topologyFromDocument({
    topology: uniqueTopologyName('outbox-rt'),
    events: {
      Placed: {
        key: 'id',
        payload: { type: 'object', required: ['id'], properties: { id: { type: 'string' } } },
      },
      Confirmed: {
        key: 'id',
        payload: { type: 'object', required: ['id'], properties: { id: { type: 'string' } } },
      },
      Noted: { payload: { type: 'object' } },
    },
    services: {
      shop: { produces: ['Placed'] },
      confirmer: {
        produces: ['Confirmed'],
        consumes: { confirm: { event: 'Placed', retry: { attempts: 3, backoff: 'fixed', delay: '10ms' } } },
      },
      notes: {
        produces: ['Noted'],
        consumes: { note: { event: 'Confirmed', idempotency: false } },
      },
    },
  });
}

interface Row {
  event: string;
  message: OutgoingMessage;
}
interface FakeTx {
  rows: Row[];
}

/** A transactional store whose transactions keep their outbox rows until they commit. */
class FakeStore implements IdempotencyStore {
  readonly name = 'fake';
  readonly outbox: FakeOutbox;
  readonly seen = new Set<string>();
  transactions = 0;
  constructor() {
    this.outbox = new FakeOutbox();
  }
  async init(): Promise<void> {}
  async run<T>(consumer: string, key: string, _w: number, fn: (tx: unknown) => Promise<T>) {
    if (this.seen.has(`${consumer}/${key}`)) return { duplicate: true as const };
    const value = await this.transaction(fn);
    this.seen.add(`${consumer}/${key}`);
    return { duplicate: false as const, value };
  }
  async transaction<T>(fn: (tx: unknown) => Promise<T>): Promise<T> {
    this.transactions++;
    const tx: FakeTx = { rows: [] };
    const value = await fn(tx); // a throw rolls back: the rows are dropped with tx
    this.outbox.table.push(...tx.rows);
    return value;
  }
  async purgeExpired(): Promise<number> {
    return 0;
  }
  async close(): Promise<void> {}
}

class FakeOutbox implements TransactionalOutbox {
  readonly name = 'fake';
  readonly table: Row[] = [];
  commits = 0;
  relays: FakeRelay[] = [];
  async write(tx: unknown, record: OutboxRecord): Promise<void> {
    (tx as FakeTx).rows.push({ event: record.event.name, message: record.message });
  }
  committed(): void {
    this.commits++;
    for (const relay of this.relays) void relay.flush();
  }
  async startRelay(target: OutboxRelayTarget): Promise<OutboxRelayHandle> {
    const relay = new FakeRelay(this, target);
    this.relays.push(relay);
    return relay;
  }
  async flush(): Promise<void> {
    for (const relay of this.relays) await relay.flush();
  }
}

class FakeRelay implements OutboxRelayHandle {
  published = 0;
  stopped = false;
  constructor(
    private readonly outbox: FakeOutbox,
    private readonly target: OutboxRelayTarget,
  ) {}
  async flush(): Promise<void> {
    while (this.published < this.outbox.table.length && !this.stopped) {
      const row = this.outbox.table[this.published++]!;
      const event = this.target.topology.events.find((e) => e.name === row.event)!;
      await this.target.transport.publish(event, row.message);
    }
  }
  health(): OutboxHealth {
    const pending = this.outbox.table.length - this.published;
    return {
      relay: 'running',
      pending,
      oldestAgeMs: null,
      lagMs: null,
      published: this.published,
      failures: 0,
      measuredAt: null,
    };
  }
  async stop(): Promise<void> {
    this.stopped = true;
  }
}

/** Records what reaches the broker, in order. */
class RecordingTransport extends MemoryTransport {
  readonly sent: { event: string; message: OutgoingMessage }[] = [];
  override async publish(event: EventIR, message: OutgoingMessage): Promise<void> {
    this.sent.push({ event: event.name, message });
    await super.publish(event, message);
  }
}

function setup(options: Partial<RuntimeOptions> = {}) {
  const ir = topology();
  const store = new FakeStore();
  const transport = new RecordingTransport();
  const logger = captureLogger();
  const runtime = createRuntime({ topology: ir, transport, idempotencyStore: store, logger, ...options });
  return { ir, store, transport, runtime, logger };
}

const sentTypes = (t: RecordingTransport) => t.sent.map((s) => s.event);

describe('runtime with a transactional outbox', () => {
  it('writes what a handler publishes in its transaction and sends it only through the relay', async () => {
    const { store, transport, runtime } = setup();
    let rowsDuringHandler = -1;
    runtime.handle('confirmer.confirm', async (event, ctx) => {
      await ctx.publish('Confirmed', { id: (event.data as { id: string }).id });
      rowsDuringHandler = (ctx.tx as unknown as FakeTx).rows.length;
      expect(sentTypes(transport)).toEqual(['Placed']); // written, not sent
    });
    await runtime.start();
    await runtime.publish('shop', 'Placed', { id: 'o1' });
    await waitFor(() => sentTypes(transport).includes('Confirmed'));
    expect(rowsDuringHandler).toBe(1);
    expect(store.outbox.table.map((r) => r.event)).toEqual(['Confirmed']);
    expect(store.outbox.commits).toBe(1);
    await runtime.stop();
  });

  it('sends the message a direct publish would have sent: same id, headers, key, correlation and causation', async () => {
    const { transport, runtime } = setup();
    let handled: { id: string; correlationId: string } | undefined;
    runtime.handle('confirmer.confirm', async (event, ctx) => {
      handled = event;
      await ctx.publish('Confirmed', { id: 'o2' }, { id: 'fixed-id', headers: { 'x-tenant': 't1' } });
    });
    await runtime.start();
    await runtime.publish('shop', 'Placed', { id: 'o2' });
    await waitFor(() => sentTypes(transport).includes('Confirmed'));
    const sent = transport.sent.find((s) => s.event === 'Confirmed')!.message;
    const envelope = decodeDelivery(sent);
    expect(envelope).toMatchObject({
      id: 'fixed-id',
      type: 'Confirmed',
      source: 'confirmer',
      key: 'o2',
      correlationId: handled!.correlationId,
      causationId: handled!.id,
      data: { id: 'o2' },
    });
    expect(sent.headers['x-tenant']).toBe('t1');
    await runtime.stop();
  });

  it('leaves nothing behind when the handler throws after publishing; the retry publishes once', async () => {
    const { store, transport, runtime } = setup();
    let attempts = 0;
    runtime.handle('confirmer.confirm', async (_event, ctx) => {
      attempts++;
      await ctx.publish('Confirmed', { id: `attempt-${ctx.attempt}` });
      if (ctx.attempt === 1) throw new Error('fails after publishing');
    });
    await runtime.start();
    await runtime.publish('shop', 'Placed', { id: 'o3' });
    await waitFor(() => sentTypes(transport).includes('Confirmed'));
    await runtime.stop();
    expect(attempts).toBe(2);
    expect(store.outbox.table.map((r) => decodeDelivery(r.message).data)).toEqual([{ id: 'attempt-2' }]);
    expect(sentTypes(transport).filter((t) => t === 'Confirmed')).toHaveLength(1);
  });

  it('turns the outbox off per service, or everywhere', async () => {
    const perService = setup({ outbox: { services: { confirmer: false } } });
    perService.runtime.handle('confirmer.confirm', async (_e, ctx) => {
      await ctx.publish('Confirmed', { id: 'direct' });
      expect(sentTypes(perService.transport)).toContain('Confirmed'); // sent before the handler returned
    });
    await perService.runtime.start();
    await perService.runtime.publish('shop', 'Placed', { id: 'o4' });
    await waitFor(() => perService.runtime.health().consumers[0]!.handled === 1);
    expect(perService.store.outbox.table).toEqual([]);
    expect(perService.runtime.health().outbox).toBeDefined(); // the relay still runs for withOutbox
    await perService.runtime.stop();

    const off = setup({ outbox: false });
    off.runtime.handle('confirmer.confirm', async (_e, ctx) => void (await ctx.publish('Confirmed', { id: 'x' })));
    await off.runtime.start();
    await off.runtime.publish('shop', 'Placed', { id: 'o5' });
    await waitFor(() => sentTypes(off.transport).includes('Confirmed'));
    expect(off.store.outbox.table).toEqual([]);
    expect(off.store.outbox.relays).toEqual([]);
    expect(off.runtime.health().outbox).toBeUndefined();
    await off.runtime.stop();
  });

  it('rejects a service the topology does not declare in outbox.services', () => {
    expect(() => setup({ outbox: { services: { nobody: false } } })).toThrow(ConsumerRegistrationError);
    expect(() => setup({ outbox: { services: { nobody: false } } })).toThrow(/nobody/);
  });

  it('gives consumers without idempotency a transaction too', async () => {
    const { store, transport, runtime } = setup();
    runtime.handle('confirmer.confirm', async (_e, ctx) => void (await ctx.publish('Confirmed', { id: 'c1' })));
    runtime.handle('notes.note', async (_e, ctx) => {
      expect((ctx.tx as unknown as FakeTx).rows).toEqual([]);
      await ctx.publish('Noted', {});
    });
    await runtime.start();
    await runtime.publish('shop', 'Placed', { id: 'o6' });
    await waitFor(() => sentTypes(transport).includes('Noted'));
    expect(store.outbox.table.map((r) => r.event)).toEqual(['Confirmed', 'Noted']);
    await runtime.stop();
  });

  it('refuses a publish made after the handler returned, with a message that says why', async () => {
    const { store, runtime, logger } = setup();
    let late: Promise<unknown> | undefined;
    runtime.handle('confirmer.confirm', async (_e, ctx) => {
      if (ctx.attempt === 1) {
        // Not awaited, and published after the handler returned: refused.
        late = new Promise((resolve) => setTimeout(resolve, 5)).then(() => ctx.publish('Confirmed', { id: 'late' }));
        late.catch(() => {});
        return;
      }
      await ctx.publish('Confirmed', { id: 'on-time' });
    });
    await runtime.start();
    await runtime.publish('shop', 'Placed', { id: 'o7' });
    await waitFor(() => late !== undefined);
    await expect(late).rejects.toBeInstanceOf(OutboxTransactionClosedError);
    await expect(late).rejects.toThrow(/Await every publish/);
    await runtime.stop();
    expect(store.outbox.table.map((r) => decodeDelivery(r.message).data)).toEqual([]);
    expect(logger.lines.filter((l) => l.message.includes('dead-lettered'))).toEqual([]);
  });

  it('routes runtime.publish (and generated producers) into an outbox transaction opened around it', async () => {
    const { store, transport, runtime } = setup();
    await runtime.start();
    const tx: FakeTx = { rows: [] };
    const outboxTx = new OutboxTransaction(store.outbox, tx);
    const envelope = await runInOutboxTransaction(outboxTx, () => runtime.publish('shop', 'Placed', { id: 'o8' }));
    await outboxTx.close();
    expect(outboxTx.written).toBe(1);
    expect(tx.rows[0]!.message.headers['id']).toBe(envelope.id);
    expect(sentTypes(transport)).toEqual([]);
    // Outside it, publishing is direct again.
    await runtime.publish('shop', 'Placed', { id: 'o9' });
    expect(sentTypes(transport)).toEqual(['Placed']);
    await runtime.stop();
  });

  it('says why ctx.tx is missing when the store has no transaction', async () => {
    const transport = new MemoryTransport();
    const runtime = createRuntime({ topology: topology(), transport, logger: captureLogger() });
    let error: unknown;
    runtime.handle('confirmer.confirm', async (_e, ctx) => {
      try {
        void ctx.tx;
      } catch (e) {
        error = e;
      }
    });
    await runtime.start();
    await runtime.publish('shop', 'Placed', { id: 'o10' });
    await waitFor(() => error !== undefined);
    expect(error).toBeInstanceOf(TransactionUnavailableError);
    expect((error as Error).message).toMatch(/ctx\.tx is missing: confirmer\.confirm .*"memory"/);
    await runtime.stop();
  });

  it('reports the relay in health() and publishes what handlers committed before it stops', async () => {
    const { store, transport, runtime } = setup();
    const gate = { open: false };
    runtime.handle('confirmer.confirm', async (_e, ctx) => {
      await ctx.publish('Confirmed', { id: 'at-stop' });
    });
    await runtime.start();
    // Commits happen, but the relay is not woken: only the flush at stop() publishes them.
    store.outbox.committed = () => void (gate.open = true);
    await runtime.publish('shop', 'Placed', { id: 'o11' });
    await waitFor(() => gate.open);
    expect(runtime.health().outbox).toMatchObject({ relay: 'running', pending: 1 });
    expect(sentTypes(transport)).toEqual(['Placed']);
    await runtime.stop();
    expect(sentTypes(transport)).toEqual(['Placed', 'Confirmed']);
    expect(store.outbox.relays[0]!.stopped).toBe(true);
  });
});
