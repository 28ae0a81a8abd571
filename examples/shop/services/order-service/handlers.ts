// Handlers of order-service: yours to edit; eventform only appends new handlers.
// Created by `eventform generate --stubs` from topology.yaml. When the topology gains a
// handler it is appended to `handlers`; when it loses one, eventform reports it and the compiler flags it.
import type { OrderServiceHandlers } from '../../../../generated/index.js';

export const handlers: OrderServiceHandlers = {
  /** `order-service.cancelOrder`: InventoryShortage, PaymentFailed. */
  async cancelOrder(event, ctx) {
    let reason: string;
    switch (event.type) {
      case 'InventoryShortage':
        reason = `out of stock: ${event.data.missingSkus.join(', ')}`;
        break;
      case 'PaymentFailed':
        reason = event.data.reason;
        break;
    }
    ctx.logger.info(`cancelling: ${reason}`, { orderId: event.data.orderId });
    await ctx.publish('OrderCancelled', { orderId: event.data.orderId, reason });
  },
};
