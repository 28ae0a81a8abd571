/**
 * The order service's entry point for new orders (in a real service, an HTTP handler). Publishing
 * outside a handler starts a new flow: the runtime mints a correlation id unless the caller passes
 * one, e.g. from an incoming request header.
 */
import type { OrderCreated, OrderServiceProducer } from '../../../../generated/index.js';

export async function placeOrder(orders: OrderServiceProducer, order: OrderCreated, correlationId?: string) {
  return orders.orderCreated(order, correlationId ? { correlationId } : {});
}
