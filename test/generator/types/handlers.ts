/**
 * Type tests for the generated handler contracts (shop topology, generated/). See producer.ts
 * for how the `@ts-expect-error` lines are checked.
 */
import {
  registerOrderService,
  createShopRuntime,
  type InventoryServiceHandlers,
  type OrderServiceCancelOrderEvent,
  type OrderServiceContext,
  type OrderServiceHandlers,
  type PaymentFailed,
} from '../../../generated/index.js';
import type { EventEnvelope } from '@eventform/runtime';

export const good: OrderServiceHandlers = {
  async cancelOrder(event, ctx) {
    switch (event.type) {
      case 'PaymentFailed': {
        const reason: string = event.data.reason;
        void reason;
        break;
      }
      case 'InventoryShortage': {
        const skus: string[] = event.data.missingSkus;
        void skus;
        break;
      }
    }
    const published = await ctx.publish('OrderCancelled', { orderId: event.data.orderId, reason: 'saga failed' });
    const type: 'OrderCancelled' = published.type;
    void type;
  },
};
registerOrderService(createShopRuntime(), good);

export function rejected(ctx: OrderServiceContext, event: OrderServiceCancelOrderEvent): void {
  // @ts-expect-error the context only publishes events order-service produces
  void ctx.publish('PaymentCompleted', { orderId: 'o', paymentId: 'p' });
  // @ts-expect-error the context checks the payload against the event
  void ctx.publish('OrderCancelled', { orderId: 'o' });
  // @ts-expect-error data is a union until event.type is narrowed
  void event.data.missingSkus;
}

const onOrderCreated = async (event: EventEnvelope<'OrderCreated', { orderId: string }>) => void event;
const onPaymentFailedOnly = async (event: EventEnvelope<'PaymentFailed', PaymentFailed>) => void event;
const noop = async (): Promise<void> => {};

// @ts-expect-error a handler for the wrong event type
export const wrongEvent: OrderServiceHandlers = { cancelOrder: onOrderCreated };

// @ts-expect-error a handler that accepts only one of the two events routed to it
export const tooNarrow: OrderServiceHandlers = { cancelOrder: onPaymentFailedOnly };

// @ts-expect-error a missing handler
export const missing: InventoryServiceHandlers = { reserveStock: noop };

// @ts-expect-error a handler the topology does not declare
export const extra: OrderServiceHandlers = { cancelOrder: noop, shipOrder: noop };

// @ts-expect-error a handler must return a promise
export const sync: OrderServiceHandlers = { cancelOrder: () => undefined };
