// Handlers of inventory-service: yours to edit; eventform only appends new handlers.
// Created by `eventform generate --stubs` from topology.yaml. When the topology gains a
// handler it is appended to `handlers`; when it loses one, eventform reports it and the compiler flags it.
import type { InventoryServiceHandlers } from '../../../../generated/index.js';
import { release, reserve } from './warehouse.js';

export const handlers: InventoryServiceHandlers = {
  /** `inventory-service.releaseStock`: PaymentFailed. */
  async releaseStock(event, ctx) {
    const units = release(event.data.orderId);
    ctx.logger.info(`released ${units} unit(s) of stock`, { orderId: event.data.orderId });
  },
  /** `inventory-service.reserveStock`: OrderCreated. */
  async reserveStock(event, ctx) {
    const { orderId, userId, items, total } = event.data;
    // A thrown error is retried by the runtime with the consumer's backoff (5 attempts here).
    const { missing } = reserve(orderId, items);
    if (missing.length > 0) {
      ctx.logger.info(`out of stock: ${missing.join(', ')}`, { orderId });
      await ctx.publish('InventoryShortage', { orderId, missingSkus: missing });
      return;
    }
    ctx.logger.info(`reserved ${items.map((i) => `${i.sku}×${i.quantity}`).join(', ')}`, { orderId });
    await ctx.publish('InventoryReserved', { orderId, userId, total });
  },
};
