/**
 * The rule for amqplib's internals (runtime/rabbitmq/src/amqplib-internals.ts): both fast paths —
 * the publish encoder and the bounded header decoder — only with the exact amqplib version they were
 * verified against and after a self-check, with a warning and amqplib's public path otherwise.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RabbitMQTransport } from '@eventform/rabbitmq';
import type { Delivery } from '../../runtime/core/src/transport.js';
import {
  VERIFIED_AMQPLIB_VERSION,
  amqplibFastPaths,
  checkAmqplib,
  reportFastPaths,
} from '../../runtime/rabbitmq/src/amqplib-internals.js';
import { ConfirmPublisher } from '../../runtime/rabbitmq/src/confirm-publisher.js';
import { requireRabbitmq } from '../support/brokers.js';
import { waitFor } from './broker-admin.js';
import { collectingLogger, jsonMessage, perTestResources } from './helpers.js';

const rabbit = await requireRabbitmq();
const require = createRequire(import.meta.url);
const installed = (require(path.join(path.dirname(require.resolve('amqplib')), 'package.json')) as { version: string })
  .version;

describe('amqplib fast paths', () => {
  it('are both on with the installed amqplib, which is the verified version', () => {
    // A dependency update lands here first: re-read the internals, then move the gate.
    expect(installed).toBe(VERIFIED_AMQPLIB_VERSION);
    expect(amqplibFastPaths({})).toEqual({
      version: VERIFIED_AMQPLIB_VERSION,
      publishEncoder: { enabled: true, reason: '' },
      headerDecoder: { enabled: true, reason: '' },
    });
  });

  it('are both off with any other version, naming the versions', () => {
    for (const version of ['2.3.2', '2.4.0', '0.10.9']) {
      const paths = checkAmqplib(version);
      expect(paths.publishEncoder.enabled).toBe(false);
      expect(paths.headerDecoder.enabled).toBe(false);
      expect(paths.headerDecoder.reason).toBe(
        `amqplib ${version} is installed; this fast path was verified with amqplib ${VERIFIED_AMQPLIB_VERSION} only`,
      );
    }
  });

  it('can each be turned off from the environment', () => {
    const paths = amqplibFastPaths({ EVENTFORM_AMQP_ENCODER: 'amqplib', EVENTFORM_AMQP_DECODER: 'amqplib' });
    expect(paths.publishEncoder).toEqual({ enabled: false, reason: 'turned off by EVENTFORM_AMQP_ENCODER=amqplib' });
    expect(paths.headerDecoder).toEqual({ enabled: false, reason: 'turned off by EVENTFORM_AMQP_DECODER=amqplib' });
  });

  it('warn, not debug, for every path that is off', () => {
    const logger = collectingLogger();
    reportFastPaths(checkAmqplib('9.9.9'), logger);
    expect(logger.lines.map((l) => l.level)).toEqual(['warn', 'warn']);
    expect(logger.lines[1]!.message).toMatch(/header decoder off.*maxHeaderDepth and maxHeaderBytes are not enforced/);
    expect(logger.lines[1]!.fields).toEqual({ reason: expect.stringMatching(/amqplib 9\.9\.9 is installed/) });
    const quiet = collectingLogger();
    reportFastPaths(amqplibFastPaths({}), quiet);
    expect(quiet.lines).toEqual([]);
  });

  it('a publisher told the fast path is off publishes through amqplib', () => {
    const channel = { on: () => {}, sendMessage: () => true, pushConfirmCallback: () => {}, connection: {} };
    expect(new ConfirmPublisher(channel as never, false).encoding).toBe('amqplib');
  });

  it('the transport refuses header bounds outside 1..limit', () => {
    expect(() => new RabbitMQTransport({ maxHeaderDepth: 0, logger: collectingLogger() })).toThrow(RangeError);
    expect(() => new RabbitMQTransport({ maxHeaderDepth: 1_001, logger: collectingLogger() })).toThrow(
      /maxHeaderDepth must be an integer from 1 to 1000/,
    );
    expect(() => new RabbitMQTransport({ maxHeaderBytes: 1.5, logger: collectingLogger() })).toThrow(RangeError);
  });
});

describe.skipIf(!rabbit.available)('amqplib fast paths off (real broker)', () => {
  const resources = perTestResources(rabbit.url, 'ef-test-internals');
  afterEach(resources.cleanup);
  const saved = { encoder: process.env.EVENTFORM_AMQP_ENCODER, decoder: process.env.EVENTFORM_AMQP_DECODER };
  afterEach(() => {
    for (const [name, value] of [
      ['EVENTFORM_AMQP_ENCODER', saved.encoder],
      ['EVENTFORM_AMQP_DECODER', saved.decoder],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it('publishes and consumes through amqplib alone, and says so', async () => {
    process.env.EVENTFORM_AMQP_ENCODER = 'amqplib';
    process.env.EVENTFORM_AMQP_DECODER = 'amqplib';
    const ir = resources.topology({
      name: 'tinternals',
      events: [{ name: 'Ping' }],
      consumers: [{ service: 'svc', handler: 'onPing', events: ['Ping'] }],
    });
    const logger = collectingLogger();
    const transport = resources.transportFor(ir, { logger });
    expect(transport.publishFastPath).toBe(false);
    expect(logger.lines.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual([
      expect.stringMatching(/publish fast path off/),
      expect.stringMatching(/header decoder off/),
    ]);
    await transport.start(ir);
    const seen: Delivery[] = [];
    await transport.subscribe(ir.consumers[0]!, async (delivery) => {
      seen.push(delivery);
      return { kind: 'ack' };
    });
    await transport.publish(ir.events[0]!, jsonMessage('Ping', { n: 1 }, 'evt-1', 'k1'));
    await waitFor(() => seen.length === 1, 10_000, 'the delivery');
    expect(seen[0]).toMatchObject({ headers: { id: 'evt-1', type: 'Ping' }, key: 'k1' });
    expect(seen[0]!.undecodable).toBeUndefined();
    expect(JSON.parse(seen[0]!.body.toString())).toEqual({ n: 1 });
  });
});
