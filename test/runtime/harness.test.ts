import { describe, expect, it, vi } from 'vitest';
import { ConsumerRegistrationError, NonRetryableError, PublishValidationError } from '@eventform/runtime';
import type { Handler, Runtime } from '@eventform/runtime';
import { createTestHarness } from '@eventform/runtime/testing';
import { topologyFromDocument } from '../../generator/src/spec/index.js';

const topology = topologyFromDocument({
  topology: 'harness-shop',
  defaults: { retry: { attempts: 3, backoff: 'fixed', delay: '20ms' } },
  events: {
    OrderCreated: {
      key: 'orderId',
      payload: {
        type: 'object',
        required: ['orderId', 'qty'],
        properties: { orderId: { type: 'string' }, qty: { type: 'integer', minimum: 1 } },
      },
    },
    InventoryReserved: {
      key: 'orderId',
      payload: { type: 'object', required: ['orderId'], properties: { orderId: { type: 'string' } } },
    },
  },
  services: {
    'order-service': { produces: ['OrderCreated'] },
    'inventory-service': { produces: ['InventoryReserved'], consumes: { reserveStock: { event: 'OrderCreated' } } },
  },
});

describe('test harness', () => {
  it('delivers an event, waits through retries, and records what the handler published', async () => {
    const harness = createTestHarness({ topology });
    let attempts = 0;
    harness.handle('inventory-service.reserveStock', async (event, ctx) => {
      if (++attempts < 2) throw new Error('stock service warming up');
      await ctx.publish('InventoryReserved', { orderId: (event.data as { orderId: string }).orderId });
    });
    const delivered = await harness.deliver('OrderCreated', { orderId: 'o-1', qty: 2 });
    expect(attempts).toBe(2);
    expect(delivered).toMatchObject({ type: 'OrderCreated', source: 'order-service', key: 'o-1' });
    expect(harness.published).toHaveLength(1);
    expect(harness.published[0]).toMatchObject({
      type: 'InventoryReserved',
      source: 'inventory-service',
      data: { orderId: 'o-1' },
      causationId: delivered.id,
      correlationId: delivered.correlationId,
    });
    expect(harness.deadLetters).toEqual([]);
    await harness.stop();
  });

  it('validates what it delivers and what handlers publish', async () => {
    const harness = createTestHarness({ topology });
    harness.handle('inventory-service.reserveStock', async (_e, ctx) => {
      await ctx.publish('InventoryReserved', { wrong: true });
    });
    await expect(harness.deliver('OrderCreated', { orderId: 'o-1', qty: 0 })).rejects.toBeInstanceOf(
      PublishValidationError,
    );
    await harness.deliver('OrderCreated', { orderId: 'o-2', qty: 1 });
    expect(harness.published).toEqual([]);
    expect(harness.deadLetters.map((d) => [d.reason, d.attempts, d.error])).toEqual([
      ['retries-exhausted', 3, expect.stringMatching(/Invalid payload for InventoryReserved/)],
    ]);
    await harness.stop();
  });

  it('exposes dead letters and logs', async () => {
    const harness = createTestHarness({ topology });
    harness.handle('inventory-service.reserveStock', async () => {
      throw new NonRetryableError('unknown sku');
    });
    const event = await harness.deliver('OrderCreated', { orderId: 'o-3', qty: 1 });
    expect(harness.deadLetters).toMatchObject([
      { reason: 'non-retryable', eventId: event.id, consumer: 'inventory-service.reserveStock' },
    ]);
    expect(harness.logs.some((l) => l.level === 'error' && l.fields['eventId'] === event.id)).toBe(true);
    await harness.stop();
  });

  it('waits for handlers registered on harness.runtime, as generated register functions do', async () => {
    // Shaped like a generated `register<Service>(runtime, handlers)`: it only sees the runtime.
    function registerInventoryService(runtime: Runtime, handlers: { reserveStock: Handler }): void {
      runtime.handle('inventory-service.reserveStock', handlers.reserveStock);
    }
    const harness = createTestHarness({ topology });
    let attempts = 0;
    registerInventoryService(harness.runtime, {
      async reserveStock(event, ctx) {
        if (++attempts < 3) throw new Error('stock service warming up');
        await ctx.publish('InventoryReserved', { orderId: (event.data as { orderId: string }).orderId });
      },
    });
    try {
      // Routed to the consumer without naming it, and awaited through both retries (2 × 20 ms).
      await harness.deliver('OrderCreated', { orderId: 'o-4', qty: 1 });
      expect(attempts).toBe(3);
      expect(harness.published.map((e) => e.data)).toEqual([{ orderId: 'o-4' }]);

      // Naming the consumer: deliver still waits for it to finish, not just for the injection.
      attempts = 0;
      await harness.deliver('OrderCreated', { orderId: 'o-5', qty: 1 }, { consumer: 'inventory-service.reserveStock' });
      expect(attempts).toBe(3);
      expect(harness.published.map((e) => e.data)).toEqual([{ orderId: 'o-4' }, { orderId: 'o-5' }]);
      expect(harness.deadLetters).toEqual([]);
    } finally {
      await harness.stop();
    }
  });

  it('does not count a registration the runtime refused', async () => {
    const harness = createTestHarness({ topology });
    expect(() => harness.runtime.handle('inventory-service.nope', async () => {})).toThrow(ConsumerRegistrationError);
    await expect(harness.deliver('OrderCreated', { orderId: 'o-6', qty: 1 })).rejects.toThrow(/No registered handler/);
  });

  it('refuses to deliver an event nobody handles', async () => {
    const harness = createTestHarness({ topology });
    await expect(harness.deliver('InventoryReserved', { orderId: 'x' })).rejects.toThrow(/No registered handler/);
  });

  it('builds the envelope the runtime would send: the same key, the event content mode', async () => {
    const keyed = topologyFromDocument({
      topology: 'harness-keys',
      events: {
        SlotBooked: {
          key: 'slot',
          contentMode: 'structured',
          payload: { type: 'object', required: ['slot'], properties: { slot: { type: 'string' } } },
        },
      },
      services: { desk: { produces: ['SlotBooked'], consumes: { note: { event: 'SlotBooked' } } } },
    });
    // The format makes a key a string; a validator that lets anything through (generated code
    // edited by hand, or none at all) must still not collapse distinct object keys into one.
    const harness = createTestHarness({ topology: keyed, validators: { SlotBooked: () => true } });
    const seen: (string | undefined)[] = [];
    harness.handle('desk.note', async (event) => void seen.push(event.key));
    const injected = vi.spyOn(harness.transport, 'injectRaw');
    try {
      const plain = await harness.deliver('SlotBooked', { slot: 'mon-2' });
      const delivered = await harness.deliver('SlotBooked', { slot: { day: 'mon', n: 2 } });
      const published = await harness.runtime.publish('desk', 'SlotBooked', { slot: { day: 'tue', n: 2 } });
      await harness.transport.whenIdle();
      expect([plain.key, delivered.key, published.key]).toEqual([
        'mon-2',
        '{"day":"mon","n":2}',
        '{"day":"tue","n":2}',
      ]);
      expect(seen).toEqual(['mon-2', '{"day":"mon","n":2}', '{"day":"tue","n":2}']);
      const contentType = injected.mock.calls[0]![1].headers['content-type'];
      expect(contentType).toMatch(/^application\/cloudevents\+json/);
    } finally {
      await harness.stop();
    }
  });
});
