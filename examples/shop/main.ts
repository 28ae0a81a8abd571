/**
 * The shop saga, end to end: four services written against `generated/`, run in one process on the
 * broker named by `BROKER` (memory by default, or any broker of `BROKER_PACKAGES`: rabbitmq, kafka, ...).
 *
 *   order placed → stock reserved → payment charged → customer mailed
 *                 ↘ out of stock  ↘ card declined → stock released, order cancelled → customer mailed
 *
 * The run places four orders — one that completes, one whose payment fails, one whose warehouse call
 * fails once and succeeds on retry, one out of stock — and sends one malformed message, which is
 * dead-lettered. It prints the trace (correlation id first on every line), checks every outcome and
 * exits 0 only when the saga ended as it should.
 *
 * With DATABASE_URL set, the services remember processed events in PostgreSQL and publish through its
 * transactional outbox: order-service writes each order row and its OrderCreated in one transaction,
 * and every handler's events commit with its own writes. Without it, everything stays in memory.
 */
import { randomUUID } from 'node:crypto';
import {
  createOrderServiceProducer,
  createShopRuntime,
  registerInventoryService,
  registerNotificationService,
  registerOrderService,
  registerPaymentService,
  topology,
} from '../../generated/index.js';
import type { OrderCreated } from '../../generated/index.js';
import { brokerFromEnv, createTransportFromEnv, readDeadLetter, type MemoryTransport } from '@eventform/runtime';
import { createPostgresStore } from '@eventform/postgres';
import { publishRaw } from './brokers.js';
import { traceLogger } from './trace.js';
import { handlers as inventory } from './services/inventory-service/handlers.js';
import { failNextReservation, stockLevel } from './services/inventory-service/warehouse.js';
import { handlers as notification } from './services/notification-service/handlers.js';
import { mailEvents, sent, type Mail } from './services/notification-service/mailer.js';
import { handlers as order } from './services/order-service/handlers.js';
import { countOrders, placeOrder, prepareOrders } from './services/order-service/place-order.js';
import { handlers as payment } from './services/payment-service/handlers.js';

interface Scenario {
  title: string;
  order: OrderCreated;
  /** What the customer's last mail must say. */
  expect: 'completed' | 'cancelled';
  before?: (order: OrderCreated) => void;
}

const scenarios: Scenario[] = [
  {
    title: 'a book, paid',
    order: {
      orderId: 'order_1001',
      userId: 'alice',
      items: [{ sku: 'BOOK-1', quantity: 1 }],
      total: { amount: 199, currency: 'CNY' },
    },
    expect: 'completed',
  },
  {
    title: 'two lamps, card declined',
    order: {
      orderId: 'order_1002',
      userId: 'bob',
      items: [{ sku: 'LAMP-2', quantity: 2 }],
      total: { amount: 2400, currency: 'EUR' },
    },
    expect: 'cancelled',
  },
  {
    title: 'books, warehouse API flaky once',
    order: {
      orderId: 'order_1003',
      userId: 'carol',
      items: [{ sku: 'BOOK-1', quantity: 2 }],
      total: { amount: 59.9, currency: 'EUR' },
    },
    expect: 'completed',
    before: (order) => failNextReservation(order.orderId),
  },
  {
    title: 'a mug, out of stock',
    order: {
      orderId: 'order_1004',
      userId: 'dave',
      items: [{ sku: 'MUG-3', quantity: 1 }],
      total: { amount: 12, currency: 'USD' },
    },
    expect: 'cancelled',
  },
];

const broker = brokerFromEnv();
const timeoutMs = Number(process.env.SHOP_TIMEOUT_MS ?? (broker === 'kafka' ? 90_000 : 30_000));
const trace = traceLogger();
const transport = await createTransportFromEnv({ broker, logger: trace, clientName: 'eventform-shop' });
const databaseUrl = process.env.DATABASE_URL;
const db = databaseUrl ? createPostgresStore({ connectionString: databaseUrl, logger: trace }) : undefined;
const runtime = createShopRuntime({ transport, logger: trace, ...(db ? { idempotencyStore: db } : {}) });
registerOrderService(runtime, order);
registerInventoryService(runtime, inventory);
registerPaymentService(runtime, payment);
registerNotificationService(runtime, notification);

const out = (line = '') => process.stdout.write(line + '\n');
const storage = db ? 'PostgreSQL store and outbox' : 'in-memory store';
out(
  `eventform shop saga on the ${broker} broker (topology "${topology.name}", ${topology.services.length} services, ${storage})`,
);
out(`${'correlation'.padEnd(10)} ${'consumer'.padEnd(36)} step`);
await runtime.start();
if (db) {
  // The stores remember processed orders (payment for 30 days): each run places orders of its own.
  const run = randomUUID().slice(0, 6);
  for (const s of scenarios) s.order.orderId = `${s.order.orderId}-${run}`;
  await prepareOrders(db);
}
const orderIds = scenarios.map((s) => s.order.orderId);

const lastMail = new Map<string, Mail>();
const settled = new Promise<void>((resolve) => {
  const check = () => {
    const finished = scenarios.every((s) => isFinal(lastMail.get(s.order.orderId)));
    if (finished && trace.deadLettered >= 1) resolve();
  };
  mailEvents.on('sent', (mail) => {
    lastMail.set(mail.orderId, mail);
    check();
  });
  setInterval(check, 100).unref();
});

const orders = createOrderServiceProducer(runtime);
for (const s of scenarios) {
  s.before?.(s.order);
  await placeOrder(orders, s.order, { db });
}

// A legacy checkout still on the old code path sends a truncated body: the runtime dead-letters it
// with the reason instead of retrying it or crashing the consumer.
const orderCreated = topology.events.find((e) => e.name === 'OrderCreated')!;
await publishRaw(broker, transport, orderCreated, Buffer.from('{"orderId": "order_1005", "userId": '), {
  id: randomUUID(),
  type: 'OrderCreated',
  source: 'legacy-checkout',
  specversion: '1.0',
  time: new Date().toISOString(),
  datacontenttype: 'application/json',
  correlationid: randomUUID(),
  eventversion: '1',
});

let timer: NodeJS.Timeout | undefined;
const timedOut = await Promise.race([
  settled.then(() => false),
  new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs))),
]);
clearTimeout(timer);
const stored = db ? await countOrders(db, orderIds) : 0;
// Stopping waits for handlers still in flight, so the trace is complete before the summary.
const relayed = runtime.health().outbox?.published ?? 0;
await runtime.stop();

out();
out('outcome');
let failures = timedOut ? 1 : 0;
if (timedOut) out(`  ✗ the saga did not settle within ${timeoutMs} ms`);
for (const s of scenarios) {
  const mail = lastMail.get(s.order.orderId);
  const outcome = mail ? (isCompleted(mail) ? 'completed' : isCancelled(mail) ? 'cancelled' : 'pending') : 'no mail';
  const ok = outcome === s.expect;
  if (!ok) failures++;
  const mails = sent.filter((m) => m.orderId === s.order.orderId).length;
  out(
    `  ${ok ? '✓' : '✗'} ${s.order.orderId} ${s.title.padEnd(32)} ${outcome.padEnd(10)} ${mails} mail(s)  corr ${mail?.correlationId.slice(0, 8) ?? '-'}`,
  );
}
if (trace.deadLettered < 1) failures++;
out(`  ${trace.deadLettered >= 1 ? '✓' : '✗'} poison message dead-lettered: ${trace.deadLettered} dead letter(s)`);
if (broker === 'memory') {
  for (const record of (transport as MemoryTransport)
    .deadLetters('inventory-service.reserveStock')
    .map(readDeadLetter)) {
    out(
      `      ${record.consumer} ← ${record.origin}: ${record.reason}, ${record.attempts} attempt(s): ${record.error}`,
    );
  }
}
if (db) {
  const ok = stored === scenarios.length;
  if (!ok) failures++;
  out(
    `  ${ok ? '✓' : '✗'} ${stored} order row(s) committed with their OrderCreated; the outbox relay published ${relayed} event(s)`,
  );
}
out(`  stock left: BOOK-1 ${stockLevel('BOOK-1')}, LAMP-2 ${stockLevel('LAMP-2')}, MUG-3 ${stockLevel('MUG-3')}`);

out(failures === 0 ? '\nthe saga ended as expected' : `\n${failures} check(s) failed`);
process.exit(failures === 0 ? 0 : 1);

function isCompleted(mail: Mail): boolean {
  return mail.subject.startsWith('Payment');
}
function isCancelled(mail: Mail): boolean {
  return mail.subject.startsWith('Your order was cancelled');
}
function isFinal(mail: Mail | undefined): boolean {
  return mail !== undefined && (isCompleted(mail) || isCancelled(mail));
}
