/**
 * Type tests for the generated producers (shop topology, generated/). Each `@ts-expect-error`
 * marks a line that must NOT compile; types.test.ts checks that the file compiles as a whole AND
 * that removing any one directive makes tsc report an error on the line below it.
 */
import { createOrderServiceProducer, createShopRuntime, type OrderCreated } from '../../../generated/index.js';

const producer = createOrderServiceProducer(createShopRuntime());
const order: OrderCreated = {
  orderId: 'order_1',
  userId: 'user_1',
  items: [{ sku: 'BOOK-1', quantity: 1 }],
  total: { amount: 10, currency: 'EUR' },
};

export async function allowed(): Promise<void> {
  await producer.orderCreated(order);
  await producer.publish('OrderCreated', order, { correlationId: 'c1' });
  const cancelled = await producer.orderCancelled({ orderId: 'order_1', reason: 'changed mind' });
  const type: 'OrderCancelled' = cancelled.type;
  const reason: string = cancelled.data.reason;
  void type;
  void reason;
}

export async function rejected(): Promise<void> {
  // @ts-expect-error an event order-service does not produce
  await producer.publish('PaymentFailed', { orderId: 'order_1', reason: 'declined' });
  // @ts-expect-error an event the topology does not have
  await producer.publish('OrderShipped', { orderId: 'order_1' });
  // @ts-expect-error no producer method for an event of another service
  await producer.paymentFailed({ orderId: 'order_1', reason: 'declined' });
  // @ts-expect-error a misspelt payload field (userid instead of userId)
  await producer.orderCreated({ orderId: 'o', userid: 'u', items: [], total: { amount: 1, currency: 'EUR' } });
  // @ts-expect-error a field that is not in the payload
  await producer.orderCancelled({ orderId: 'order_1', reason: 'r', refund: true });
  // @ts-expect-error a missing required field (reason)
  await producer.orderCancelled({ orderId: 'order_1' });
  // @ts-expect-error a field of the wrong type
  await producer.orderCancelled({ orderId: 42, reason: 'r' });
  // @ts-expect-error a value outside the enum of a shared schema (Money.currency)
  await producer.orderCreated({ ...order, total: { amount: 1, currency: 'GBP' } });
  // @ts-expect-error the generic publish checks the payload against the named event
  await producer.publish('OrderCancelled', order);
}
