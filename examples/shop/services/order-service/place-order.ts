/**
 * The order service's entry point for new orders (in a real service, an HTTP handler). Publishing
 * outside a handler starts a new flow: the runtime mints a correlation id unless the caller passes
 * one, e.g. from an incoming request header.
 *
 * With PostgreSQL (the demo's DATABASE_URL), the order row and its OrderCreated are written in one
 * transaction: `withOutbox` commits both or neither, and the relay publishes the event after the
 * commit. A failed commit leaves no order and no event; a broker that is down delays the event,
 * never loses it. Without a database there is nothing to commit with, and the event is published
 * directly.
 */
import { withOutbox, type PostgresIdempotencyStore } from '@eventform/postgres';
import type { OrderCreated, OrderServiceProducer } from '../../../../generated/index.js';

/** Where order-service keeps its orders when it has a database. */
export const ORDERS_TABLE = 'shop_orders';

export interface PlaceOrderOptions {
  correlationId?: string;
  /** The PostgreSQL store the runtime uses; its outbox carries OrderCreated. */
  db?: PostgresIdempotencyStore | undefined;
}

export async function placeOrder(orders: OrderServiceProducer, order: OrderCreated, options: PlaceOrderOptions = {}) {
  const publishOptions = options.correlationId ? { correlationId: options.correlationId } : {};
  if (!options.db) return orders.orderCreated(order, publishOptions);
  return withOutbox(options.db, async (tx) => {
    await tx.query(`INSERT INTO ${ORDERS_TABLE} (order_id, user_id, amount, currency) VALUES ($1, $2, $3, $4)`, [
      order.orderId,
      order.userId,
      order.total.amount,
      order.total.currency,
    ]);
    return orders.orderCreated(order, publishOptions); // written in tx, published after the commit
  });
}

/** The orders table, created when missing. */
export async function prepareOrders(db: PostgresIdempotencyStore): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [ORDERS_TABLE]); // one creator at a time
    await tx.query(
      `CREATE TABLE IF NOT EXISTS ${ORDERS_TABLE} (
         order_id text PRIMARY KEY, user_id text NOT NULL, amount numeric NOT NULL, currency text NOT NULL,
         placed_at timestamptz NOT NULL DEFAULT now())`,
    );
  });
}

/** How many of these orders are stored. */
export async function countOrders(db: PostgresIdempotencyStore, ids: string[]): Promise<number> {
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${ORDERS_TABLE} WHERE order_id = ANY($1::text[])`,
      [ids],
    );
    return rows[0]!.n;
  });
}
