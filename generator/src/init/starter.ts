/**
 * The files of `eventform init`'s starter, as text: a small topology (an order is placed, a
 * shipping service ships it, the order service learns it shipped), a strict NodeNext tsconfig, the
 * two services' handlers and a demo that runs both in one process and exits when the flow is done.
 *
 * Pure: the TypeScript files are rendered from the generator's own names for the topology, so they
 * compile against what `eventform generate` writes for it.
 */
import { BROKER_PACKAGES } from '@eventform/runtime';
import type { Names } from '../naming.js';

/** The services of the starter topology, and the one handler of each. */
export const STARTER = {
  producer: 'order-service',
  shipper: 'shipping-service',
  shipHandler: 'shipOrder',
  markHandler: 'markShipped',
} as const;

/** Longest topology name init derives: it prefixes every broker resource name. */
const MAX_NAME = 40;

/**
 * A topology name from a package name: `@acme/Order_App` → `order-app`, `Café-API` → `cafe-api`;
 * cut to {@link MAX_NAME} characters at a word boundary; `starter` when nothing usable is left.
 */
export function topologyNameFor(packageName: string | undefined): string {
  const base = (packageName ?? '')
    .replace(/^@[^/]*\//, '')
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '');
  let kebab = base
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^[^a-z]+/, '')
    .replace(/-+$/, '');
  if (kebab.length > MAX_NAME) kebab = kebab.slice(0, MAX_NAME).replace(/-[^-]*$/, '') || kebab.slice(0, MAX_NAME);
  return kebab.length > 0 ? kebab : 'starter';
}

export function starterTopology(name: string): string {
  return `# yaml-language-server: $schema=./node_modules/eventform/topology.schema.json
# This project's events, the services that produce and consume them, and how each handler retries,
# dead-letters and deduplicates. After an edit, \`npm run generate\` rewrites generated/.
topology: ${name}
version: 1

events:
  OrderPlaced:
    description: A customer placed an order.
    key: orderId
    payload:
      type: object
      required: [orderId, amount]
      additionalProperties: false
      properties:
        orderId: { type: string, minLength: 1 }
        amount: { type: number, minimum: 0 }
    examples:
      - { orderId: order-1, amount: 42 }

  OrderShipped:
    description: The order left the warehouse.
    key: orderId
    payload:
      type: object
      required: [orderId, trackingId]
      additionalProperties: false
      properties:
        orderId: { type: string, minLength: 1 }
        trackingId: { type: string }
    examples:
      - { orderId: order-1, trackingId: track-1 }

services:
  ${STARTER.producer}:
    description: Takes orders and tells the customer when they ship.
    store: memory
    produces: [OrderPlaced]
    consumes:
      ${STARTER.markHandler}: { event: OrderShipped }

  ${STARTER.shipper}:
    description: Ships placed orders.
    store: memory
    produces: [OrderShipped]
    consumes:
      ${STARTER.shipHandler}: { event: OrderPlaced, retry: { attempts: 5, backoff: exponential, delay: 200ms } }
`;
}

/**
 * The strictest settings generated code is held to. `verbatimModuleSyntax` only for ES modules:
 * TypeScript refuses \`import\`/\`export\` in a CommonJS file under it.
 */
export function starterTsconfig(esm: boolean): string {
  const options: Record<string, unknown> = {
    target: 'ES2022',
    lib: ['ES2023'],
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    rootDir: '.',
    outDir: 'dist',
    strict: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    noPropertyAccessFromIndexSignature: true,
    noImplicitOverride: true,
    isolatedModules: true,
    ...(esm ? { verbatimModuleSyntax: true } : {}),
    skipLibCheck: false,
    sourceMap: true,
    types: ['node'],
  };
  return `${JSON.stringify({ compilerOptions: options, include: ['src', 'generated'] }, null, 2)}\n`;
}

export const STARTER_GITIGNORE = 'node_modules/\ndist/\n';

/** `src/<service>/handlers.ts` of the shipping service: ships the order and says so. */
export function shippingHandlers(names: Names): string {
  const sn = names.services.get(STARTER.shipper)!;
  return `// Handlers of ${STARTER.shipper}: yours to edit; eventform only appends new handlers.
import type { ${sn.handlers} } from '../../generated/index.js';

export const handlers: ${sn.handlers} = {
  /** \`${STARTER.shipper}.${STARTER.shipHandler}\`: OrderPlaced. Throwing retries it (5 attempts), then dead-letters it. */
  async ${STARTER.shipHandler}(event, ctx) {
    const trackingId = \`track-\${event.data.orderId}\`;
    ctx.logger.info('shipping order', { orderId: event.data.orderId, amount: event.data.amount });
    // Published with this event's correlation id, and its id as causation id.
    await ctx.publish('OrderShipped', { orderId: event.data.orderId, trackingId });
  },
};
`;
}

/** `src/<service>/handlers.ts` of the order service: learns that an order shipped. */
export function orderHandlers(names: Names): string {
  const sn = names.services.get(STARTER.producer)!;
  return `// Handlers of ${STARTER.producer}: yours to edit; eventform only appends new handlers.
import type { ${sn.handlers} } from '../../generated/index.js';

export const handlers: ${sn.handlers} = {
  /** \`${STARTER.producer}.${STARTER.markHandler}\`: OrderShipped. */
  async ${STARTER.markHandler}(event, ctx) {
    ctx.logger.info('order shipped', { orderId: event.data.orderId, trackingId: event.data.trackingId });
  },
};
`;
}

/**
 * `src/main.ts`: both services in one process (so it works on the in-memory broker too), one order
 * placed, exit 0 once the order service heard it shipped; exit 1 when that does not happen in time.
 */
export function starterDemo(names: Names): string {
  const order = names.services.get(STARTER.producer)!;
  const shipping = names.services.get(STARTER.shipper)!;
  const generated = [names.runtimeFactory, order.createProducer, order.register, shipping.register].sort();
  return `// The starter's demo, yours to edit or delete: ${STARTER.producer} and ${STARTER.shipper} in one process.
// It places an order, waits until ${STARTER.producer} hears that it shipped, and stops: \`npm start\` runs it
// on the in-memory broker, BROKER=${Object.keys(BROKER_PACKAGES).join(', BROKER=')} on a real one (its package
// installed). Each service also has an entry point of its own (src/<service>/main.ts) that runs until it is stopped.
import { randomUUID } from 'node:crypto';
import { createJsonLogger, createMemoryStore, createTransportFromEnv } from '@eventform/runtime';
import { ${generated.join(', ')} } from '../generated/index.js';
import { handlers as orderHandlers } from './${STARTER.producer}/handlers.js';
import { handlers as shippingHandlers } from './${STARTER.shipper}/handlers.js';

const TIMEOUT_MS = 60_000;
const logger = createJsonLogger({ fields: { app: 'demo' } });

async function main(): Promise<void> {
  const transport = await createTransportFromEnv({ logger, clientName: 'demo' });
  const runtime = ${names.runtimeFactory}({ transport, logger, idempotencyStore: createMemoryStore() });
  const orderId = \`order-\${randomUUID().slice(0, 8)}\`;

  let timer: NodeJS.Timeout | undefined;
  const shipped = new Promise<string>((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(\`order \${orderId} did not ship within \${TIMEOUT_MS} ms\`)), TIMEOUT_MS);
    ${order.register}(runtime, {
      async ${STARTER.markHandler}(event, ctx) {
        await orderHandlers.${STARTER.markHandler}(event, ctx);
        if (event.data.orderId === orderId) resolve(event.data.trackingId);
      },
    });
  });
  ${shipping.register}(runtime, shippingHandlers);

  await runtime.start();
  try {
    const placed = await ${order.createProducer}(runtime).orderPlaced({ orderId, amount: 42 });
    logger.info('order placed', { orderId, correlationId: placed.correlationId, transport: transport.name });
    const trackingId = await shipped;
    logger.info('done: the order shipped', { orderId, trackingId });
  } finally {
    clearTimeout(timer);
    await runtime.stop();
  }
}

main().catch((error: unknown) => {
  logger.error('demo failed', { error });
  process.exitCode = 1;
});
`;
}
