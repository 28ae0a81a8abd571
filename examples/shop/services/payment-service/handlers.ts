// Handlers of payment-service: yours to edit; eventform only appends new handlers.
// Created by `eventform generate --stubs` from topology.yaml. When the topology gains a
// handler it is appended to `handlers`; when it loses one, eventform reports it and the compiler flags it.
import type { PaymentServiceHandlers } from '../../../../generated/index.js';

/** The demo's payment provider: cards are declined above this amount. */
export const CARD_LIMIT = 1000;

export const handlers: PaymentServiceHandlers = {
  /** `payment-service.chargePayment`: InventoryReserved. */
  async chargePayment(event, ctx) {
    const { orderId, total } = event.data;
    const amount = `${total.amount.toFixed(2)} ${total.currency}`;
    if (total.amount > CARD_LIMIT) {
      ctx.logger.info(`card declined for ${amount}`, { orderId });
      await ctx.publish('PaymentFailed', { orderId, reason: `card declined: ${amount} is over the limit` });
      return;
    }
    const paymentId = `pay_${orderId.replace(/^order_/, '')}`;
    ctx.logger.info(`charged ${amount}`, { orderId, paymentId });
    await ctx.publish('PaymentCompleted', { orderId, paymentId });
  },
};
