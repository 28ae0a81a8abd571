/**
 * The topology the outbox tests run: loaded from YAML through the generator's own loader (one IR
 * builder), written to a temporary file so `eventform relay` can read the same topology.
 *
 *   orders ──Placed──▶ confirmer.confirm ──Confirmed──▶ audit.confirmed
 *              └──────────────────────────────────────▶ audit.placed
 *
 * `orders` publishes Placed through withOutbox; `confirmer.confirm` writes a confirmation row and
 * publishes Confirmed through ctx.tx; `audit.placed` and `audit.confirmed` count every event they
 * handle in a table with no unique key, so a second effect of one event shows up as a second row.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TopologyIR } from '@eventform/runtime';
import { loadTopology } from '../../generator/src/spec/index.js';

export interface OutboxTopology {
  file: string;
  ir: TopologyIR;
  /** Removes the temporary folder. */
  remove(): void;
}

export function outboxTopology(
  name: string,
  options: {
    /**
     * Of every handler. On RabbitMQ, 1: it keeps a key's order only for one handler at a time, and
     * the confirm handler's transactions for one key must commit one after the other for their
     * order to be the outbox's `seq` order. On Kafka, handlers keep a key's order at any concurrency.
     * @default 8
     */
    concurrency?: number;
    /**
     * RabbitMQ queue type. The RabbitMQ runs use classic queues, which put a message given back
     * (a connection lost) where it was, so a key's messages still reach the one handler in order.
     * @default quorum
     */
    queueType?: 'quorum' | 'classic';
    partitions?: number;
  } = {},
): OutboxTopology {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eventform-outbox-'));
  const file = path.join(dir, 'topology.yaml');
  const payload = `{ type: object, required: [key, n], properties: { key: { type: string }, n: { type: integer } } }`;
  fs.writeFileSync(
    file,
    `topology: ${name}
version: 1
defaults:
  # Long enough to outlast a PostgreSQL restart: a handler's transaction fails while it is down.
  retry: { attempts: 20, backoff: exponential, delay: 100ms, maxDelay: 1s }
  idempotency: { window: 1d }
kafka: { partitions: ${options.partitions ?? 4}, replicationFactor: 1, minInsyncReplicas: 1 }
rabbitmq: { queueType: ${options.queueType ?? 'quorum'} }
events:
  Placed: { key: key, payload: ${payload} }
  Confirmed: { key: key, payload: ${payload} }
services:
  orders: { store: postgres, produces: [Placed] }
  confirmer:
    store: postgres
    produces: [Confirmed]
    consumes:
      confirm: { event: Placed, concurrency: ${options.concurrency ?? 8} }
  audit:
    store: postgres
    consumes:
      placed: { event: Placed, concurrency: ${options.concurrency ?? 8} }
      confirmed: { event: Confirmed, concurrency: ${options.concurrency ?? 8} }
`,
  );
  const { ir, diagnostics } = loadTopology(file);
  if (!ir) throw new Error(`test topology is invalid: ${JSON.stringify(diagnostics)}`);
  return { file, ir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
