// The runtime over the IR the generator's loader builds from the demo topology.yaml: the two
// halves of the product agree on the IR (schemas with $defs, keys, retry policies, consumers).
import { describe, expect, it } from 'vitest';
import { loadTopology } from '../../generator/src/spec/index.js';
import { createMemoryTransport, createRuntime } from '@eventform/runtime';
import type { EventEnvelope } from '@eventform/runtime';
import { captureLogger } from '@eventform/runtime/testing';

describe('runtime over the demo topology.yaml', () => {
  it('runs the first saga step: OrderCreated fans out to inventory and notification', async () => {
    const { ir, diagnostics } = loadTopology('topology.yaml');
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const topology = ir!;
    const transport = createMemoryTransport();
    const runtime = createRuntime({ topology, transport, logger: captureLogger() });
    const seen: Record<string, EventEnvelope[]> = {};
    const record = (id: string) => async (e: EventEnvelope) => void (seen[id] ??= []).push(e);
    runtime.handle('inventory-service.reserveStock', async (e, ctx) => {
      await record('reserveStock')(e);
      const { orderId, userId, total } = e.data as { orderId: string; userId: string; total: unknown };
      await ctx.publish('InventoryReserved', { orderId, userId, total });
    });
    runtime.handle('payment-service.chargePayment', record('chargePayment'));
    runtime.handle('notification-service.notifyCustomer', record('notifyCustomer'));
    await runtime.start();

    const example = topology.events.find((e) => e.name === 'OrderCreated')!.examples[0];
    const order = await runtime.publish('order-service', 'OrderCreated', example);
    await expect(runtime.publish('order-service', 'OrderCreated', { orderId: 'x' })).rejects.toThrow(/Invalid payload/);
    await transport.whenIdle([
      'inventory-service.reserveStock',
      'payment-service.chargePayment',
      'notification-service.notifyCustomer',
    ]);

    expect(order.key).toBe('order_888');
    expect(seen['reserveStock']!.map((e) => e.id)).toEqual([order.id]);
    expect(seen['notifyCustomer']!.map((e) => e.id)).toEqual([order.id]);
    expect(seen['chargePayment']![0]).toMatchObject({
      type: 'InventoryReserved',
      causationId: order.id,
      correlationId: order.correlationId,
    });
    await runtime.stop();
  });
});
