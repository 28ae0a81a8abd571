/**
 * The inventory service's own state: a tiny in-process warehouse. A real service would keep this in
 * its own database; what matters for the saga is that only this service owns stock.
 */
const stock = new Map<string, number>([
  ['BOOK-1', 10],
  ['LAMP-2', 5],
  ['MUG-3', 0],
]);

/** Order ids whose next reservation call fails once, as a flaky warehouse API would. */
const failOnce = new Set<string>();

/** Reservations by order, so a cancelled order's stock can be put back. */
const reservations = new Map<string, { sku: string; quantity: number }[]>();

export class WarehouseUnavailableError extends Error {
  override name = 'WarehouseUnavailableError';
}

/** Makes the next `reserve` for `orderId` throw, once (the demo's flaky dependency). */
export function failNextReservation(orderId: string): void {
  failOnce.add(orderId);
}

/** Reserves every line or nothing; returns the SKUs that are short. */
export function reserve(orderId: string, items: { sku: string; quantity: number }[]): { missing: string[] } {
  if (failOnce.delete(orderId)) throw new WarehouseUnavailableError('warehouse API timed out');
  const missing = items.filter((i) => (stock.get(i.sku) ?? 0) < i.quantity).map((i) => i.sku);
  if (missing.length > 0) return { missing };
  for (const i of items) stock.set(i.sku, stock.get(i.sku)! - i.quantity);
  reservations.set(orderId, items);
  return { missing: [] };
}

/** Puts an order's reserved stock back; returns how many units were released. */
export function release(orderId: string): number {
  const items = reservations.get(orderId) ?? [];
  reservations.delete(orderId);
  for (const i of items) stock.set(i.sku, (stock.get(i.sku) ?? 0) + i.quantity);
  return items.reduce((n, i) => n + i.quantity, 0);
}

export function stockLevel(sku: string): number {
  return stock.get(sku) ?? 0;
}
