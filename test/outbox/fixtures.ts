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
  options: { confirmConcurrency?: number; auditConcurrency?: number; partitions?: number } = {},
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
events:
  Placed: { key: key, payload: ${payload} }
  Confirmed: { key: key, payload: ${payload} }
services:
  orders: { store: postgres, produces: [Placed] }
  confirmer:
    store: postgres
    produces: [Confirmed]
    consumes:
      confirm: { event: Placed, concurrency: ${options.confirmConcurrency ?? 8} }
  audit:
    store: postgres
    consumes:
      placed: { event: Placed, concurrency: ${options.auditConcurrency ?? 8} }
      confirmed: { event: Confirmed, concurrency: ${options.auditConcurrency ?? 8} }
`,
  );
  const { ir, diagnostics } = loadTopology(file);
  if (!ir) throw new Error(`test topology is invalid: ${JSON.stringify(diagnostics)}`);
  return { file, ir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
