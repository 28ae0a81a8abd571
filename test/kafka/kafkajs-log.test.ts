/**
 * How kafkajs' own log entries reach the eventform logger: errors kafkajs retries (or recovers
 * from by rejoining the group) are debug, connection failures one aggregated warning, everything
 * else keeps its level. Entries are built the way kafkajs builds them (messages from its own
 * error-code table, the same namespaces and fields); the last test uses a real kafkajs client.
 */
import net from 'node:net';
import kafkajs from 'kafkajs';
import type { LogEntry } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import type { Logger } from '../../runtime/core/src/api.js';
import { createKafkaClient } from '../../runtime/kafka/src/client.js';
import {
  classifyKafkajsLog,
  createKafkajsLogRouter,
  KAFKAJS_ERROR_CODES,
} from '../../runtime/kafka/src/kafkajs-log.js';

const { logLevel } = kafkajs;

/** kafkajs' message for an error type, from its own table (fails loudly if the type is unknown). */
function kafkaMessage(type: string): string {
  const row = [...KAFKAJS_ERROR_CODES.values()].find((r) => r.type === type);
  if (!row) throw new Error(`kafkajs has no error type ${type}`);
  return row.message;
}

function entry(namespace: string, level: number, message: string, fields: Record<string, unknown> = {}): LogEntry {
  return {
    namespace,
    level,
    label: level === logLevel.ERROR ? 'ERROR' : 'WARN',
    log: { timestamp: new Date().toISOString(), logger: 'kafkajs', message, ...fields },
  };
}

/** kafkajs' Connection: `Response <Api>(key, version)` with the error's message in `error`. */
const response = (api: string, type: string): LogEntry =>
  entry('Connection', logLevel.ERROR, `Response ${api}(key: 2, version: 3)`, {
    broker: '127.0.0.1:19092',
    clientId: 'eventform',
    error: kafkaMessage(type),
    correlationId: 7,
    size: 60,
  });

interface Line {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  fields: Record<string, unknown>;
}

function recordingLogger(): Logger & { lines: Line[]; at: (level: Line['level']) => Line[] } {
  const lines: Line[] = [];
  const write = (level: Line['level']) => (message: string, fields?: Record<string, unknown>) =>
    void lines.push({ level, message, fields: fields ?? {} });
  return {
    lines,
    at: (level) => lines.filter((l) => l.level === level),
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
  };
}

describe("kafkajs' error-code table", () => {
  it('is loaded, with kafkajs’ own retriable flags', () => {
    expect(KAFKAJS_ERROR_CODES.size).toBeGreaterThan(50);
    const flag = (type: string) => [...KAFKAJS_ERROR_CODES.values()].find((r) => r.type === type)?.retriable;
    expect(flag('NOT_LEADER_FOR_PARTITION')).toBe(true);
    expect(flag('LEADER_NOT_AVAILABLE')).toBe(true);
    expect(flag('UNKNOWN_TOPIC_OR_PARTITION')).toBe(true);
    expect(flag('REBALANCE_IN_PROGRESS')).toBe(false);
    expect(flag('TOPIC_AUTHORIZATION_FAILED')).toBe(false);
  });
});

describe('classifyKafkajsLog', () => {
  const cases: Array<[string, LogEntry, ReturnType<typeof classifyKafkajsLog>['kind'], string?]> = [
    [
      'retriable response after topic creation',
      response('ListOffsets', 'NOT_LEADER_FOR_PARTITION'),
      'recoverable',
      'debug',
    ],
    ['leader election', response('Produce', 'LEADER_NOT_AVAILABLE'), 'recoverable', 'debug'],
    ['metadata not propagated yet', response('Metadata', 'UNKNOWN_TOPIC_OR_PARTITION'), 'recoverable', 'debug'],
    [
      'coordinator loading after a restart',
      response('InitProducerId', 'GROUP_LOAD_IN_PROGRESS'),
      'recoverable',
      'debug',
    ],
    ['rebalance seen on a heartbeat', response('Heartbeat', 'REBALANCE_IN_PROGRESS'), 'recoverable', 'debug'],
    ['stale generation on a commit', response('OffsetCommit', 'ILLEGAL_GENERATION'), 'recoverable', 'debug'],
    ['evicted member', response('Heartbeat', 'UNKNOWN_MEMBER_ID'), 'recoverable', 'warn'],
    [
      'producer retrying a send',
      entry('Producer', logLevel.ERROR, `Failed to send messages: ${kafkaMessage('NOT_LEADER_FOR_PARTITION')}`, {
        retryCount: 0,
        retryTime: 300,
      }),
      'recoverable',
      'debug',
    ],
    [
      'broker pool retrying',
      entry('BrokerPool', logLevel.ERROR, kafkaMessage('LEADER_NOT_AVAILABLE'), { retryCount: 1, retryTime: 600 }),
      'recoverable',
      'debug',
    ],
    [
      'consumer runner rejoining',
      entry('Runner', logLevel.WARN, 'The group is rebalancing, re-joining', {
        groupId: 'g',
        memberId: 'm',
        error: kafkaMessage('REBALANCE_IN_PROGRESS'),
      }),
      'recoverable',
      'debug',
    ],
    ['not retried by kafkajs', response('Produce', 'TOPIC_AUTHORIZATION_FAILED'), 'other'],
    ['not retried by kafkajs', response('CreatePartitions', 'INVALID_PARTITIONS'), 'other'],
    [
      // retries ran out: the crash wraps a retriable message but is not itself recoverable
      'consumer crash',
      entry(
        'Consumer',
        logLevel.ERROR,
        `Crash: KafkaJSNumberOfRetriesExceeded: ${kafkaMessage('NOT_LEADER_FOR_PARTITION')}`,
        {
          groupId: 'g',
          retryCount: 20,
        },
      ),
      'other',
    ],
    [
      'broker unreachable',
      entry('Connection', logLevel.ERROR, 'Connection error: connect ECONNREFUSED 127.0.0.1:19094', {
        broker: '127.0.0.1:19094',
      }),
      'connection',
    ],
    [
      'seed broker unreachable',
      entry(
        'BrokerPool',
        logLevel.ERROR,
        'Failed to connect to seed broker, trying another broker from the list: Connection timeout',
        { retryCount: 2, retryTime: 1200 },
      ),
      'connection',
    ],
    [
      'offsets lost',
      entry('ConsumerGroup', logLevel.ERROR, 'Offset out of range, resetting to default offset'),
      'other',
    ],
    [
      'idempotent producer retry bound',
      entry('Producer', logLevel.WARN, 'Limiting retries for the idempotent producer may invalidate EoS guarantees'),
      'expected',
      'drop',
    ],
    [
      'provisioning race',
      entry('Connection', logLevel.ERROR, 'Response CreateTopics(key: 19, version: 3)', {
        error: 'Topic creation errors',
      }),
      'expected',
      'debug',
    ],
  ];

  it.each(cases)('%s', (_name, logEntry, kind, level) => {
    const found = classifyKafkajsLog(logEntry);
    expect(found.kind).toBe(kind);
    if (level) expect((found as { level?: string }).level).toBe(level);
  });
});

describe('createKafkajsLogRouter', () => {
  it('logs retriable responses at debug and keeps non-retriable ones at error', () => {
    const logger = recordingLogger();
    const route = createKafkajsLogRouter(logger);
    for (let i = 0; i < 7; i++) route(response('ListOffsets', 'NOT_LEADER_FOR_PARTITION'));
    route(response('Produce', 'TOPIC_AUTHORIZATION_FAILED'));
    route(response('Heartbeat', 'UNKNOWN_MEMBER_ID'));

    expect(logger.at('debug')).toHaveLength(7);
    expect(logger.at('debug')[0]).toMatchObject({
      message: 'kafkajs Connection: Response ListOffsets(key: 2, version: 3)',
      fields: { kafkaError: 'NOT_LEADER_FOR_PARTITION', recoverable: true, broker: '127.0.0.1:19092' },
    });
    expect(logger.at('error').map((l) => l.fields.kafkaError)).toEqual(['TOPIC_AUTHORIZATION_FAILED']);
    expect(logger.at('warn').map((l) => l.fields.kafkaError)).toEqual(['UNKNOWN_MEMBER_ID']);
    // kafkajs' own bookkeeping fields are not passed on
    expect(logger.lines.every((l) => !('timestamp' in l.fields) && !('logger' in l.fields))).toBe(true);
  });

  it('warns once per interval about connection failures and counts the ones in between', () => {
    const logger = recordingLogger();
    let now = 1_000;
    const route = createKafkajsLogRouter(logger, { connectionWarnIntervalMs: 30_000, now: () => now });
    const refused = () =>
      entry('Connection', logLevel.ERROR, 'Connection error: connect ECONNREFUSED 127.0.0.1:19094', {
        broker: '127.0.0.1:19094',
      });
    for (let i = 0; i < 5; i++) {
      route(refused());
      now += 1_000;
    }
    expect(logger.at('warn')).toHaveLength(1);
    expect(logger.at('debug')).toHaveLength(4);
    now += 30_000;
    route(refused());
    expect(logger.at('warn')).toHaveLength(2);
    expect(logger.at('warn')[1]?.fields.connectionFailuresSinceLastWarning).toBe(4);
    expect(logger.at('error')).toHaveLength(0);
  });

  it('passes other entries through at their level, drops expected warnings, and is silent without a logger', () => {
    const logger = recordingLogger();
    const route = createKafkajsLogRouter(logger);
    route(entry('ConsumerGroup', logLevel.ERROR, 'Offset out of range, resetting to default offset', { topic: 't' }));
    route(entry('ConsumerGroup', logLevel.WARN, 'Consumer group received unsubscribed topics'));
    route(
      entry('Producer', logLevel.WARN, 'Limiting retries for the idempotent producer may invalidate EoS guarantees'),
    );
    route({ ...entry('Consumer', logLevel.INFO, 'Starting'), label: 'INFO' });
    expect(logger.lines.map((l) => `${l.level} ${l.message}`)).toEqual([
      'error kafkajs ConsumerGroup: Offset out of range, resetting to default offset',
      'warn kafkajs ConsumerGroup: Consumer group received unsubscribed topics',
      'info kafkajs Consumer: Starting',
    ]);
    expect(() => createKafkajsLogRouter(undefined)(response('Produce', 'TOPIC_AUTHORIZATION_FAILED'))).not.toThrow();
  });

  it("aggregates a real kafkajs client's connection failures into one warning", async () => {
    // A port nobody listens on: kafkajs logs each refused attempt (Connection, BrokerPool).
    const port = await new Promise<number>((resolve) => {
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = server.address() as net.AddressInfo;
        server.close(() => resolve(free));
      });
    });
    const logger = recordingLogger();
    const kafka = createKafkaClient({
      brokers: `127.0.0.1:${port}`,
      logger,
      retry: { retries: 3, initialRetryTime: 20, maxRetryTime: 50 },
      connectionTimeoutMs: 500,
    });
    const admin = kafka.admin();
    await expect(admin.connect()).rejects.toThrow();
    await admin.disconnect();

    const failures = logger.lines.filter((l) => /ECONNREFUSED/.test(l.message));
    expect(failures.length).toBeGreaterThan(2); // kafkajs did log every attempt
    expect(logger.at('warn')).toHaveLength(1);
    expect(logger.at('error')).toHaveLength(0);
  });
});
