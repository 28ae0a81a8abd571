/** Small helpers shared by the RabbitMQ tests. */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../runtime/core/src/api.js';
import { CE, CONTENT_TYPE_HEADER, EF } from '../../runtime/core/src/headers.js';
import type { TopologyIR } from '../../runtime/core/src/ir.js';
import type { Headers, OutgoingMessage } from '../../runtime/core/src/transport.js';
import { RabbitMQTransport, type RabbitMQTransportOptions } from '@eventform/rabbitmq';
import { deleteTopology } from './broker-admin.js';
import { buildTopology, uniqueName } from './fixtures.js';

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  fields?: Record<string, unknown>;
}

/** A logger that keeps lines in memory (set `EVENTFORM_TEST_LOG=1` to also print them). */
export function collectingLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const echo = process.env.EVENTFORM_TEST_LOG === '1';
  const at =
    (level: LogLine['level']) =>
    (message: string, fields?: Record<string, unknown>): void => {
      const line: LogLine = { level, message };
      if (fields) line.fields = fields;
      lines.push(line);
      if (echo) process.stderr.write(`${JSON.stringify(line)}\n`);
    };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** Logical headers of a well-formed event, as the runtime would build them. */
export function eventHeaders(type: string, id: string = randomUUID(), extra: Headers = {}): Headers {
  return {
    [CE.id]: id,
    [CE.type]: type,
    [CE.source]: 'producer',
    [CE.specversion]: '1.0',
    [CE.time]: new Date().toISOString(),
    [CONTENT_TYPE_HEADER]: 'application/json',
    [CE.correlationid]: id,
    [EF.attempt]: '1',
    ...extra,
  };
}

export function jsonMessage(type: string, data: unknown, id?: string, key?: string): OutgoingMessage {
  const message: OutgoingMessage = { body: Buffer.from(JSON.stringify(data)), headers: eventHeaders(type, id) };
  if (key !== undefined) message.key = key;
  return message;
}

/**
 * Transports and topologies for one test file, torn down after each test: `transportFor` makes a
 * transport with a unique connection name (closed afterwards), `topology` a uniquely named
 * topology (its queues and exchanges deleted afterwards). Other teardown steps go on `cleanups`;
 * `cleanup()` runs them all in reverse order. Use with `afterEach(resources.cleanup)`.
 */
export function perTestResources(url: string, connectionPrefix: string) {
  const cleanups: (() => Promise<void>)[] = [];
  return {
    cleanups,
    async cleanup(): Promise<void> {
      for (const step of cleanups.splice(0).reverse()) await step().catch(() => {});
    },
    transportFor(ir: TopologyIR, options: RabbitMQTransportOptions = {}): RabbitMQTransport {
      const transport = new RabbitMQTransport({
        url,
        connectionName: uniqueName(connectionPrefix),
        logger: collectingLogger(),
        reconnect: { initialDelayMs: 50, maxDelayMs: 500 },
        ...options,
      });
      cleanups.push(() => transport.close({ timeoutMs: 2_000 }));
      return transport;
    },
    topology(spec: Parameters<typeof buildTopology>[0]): TopologyIR {
      const ir = buildTopology(spec);
      cleanups.push(() => deleteTopology(url, ir));
      return ir;
    },
  };
}
