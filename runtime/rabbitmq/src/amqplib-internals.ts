/**
 * The transport's two uses of amqplib's private internals, and the rule both follow.
 *
 * - The publish encoder (publish-frames.ts, through confirm-publisher.ts) writes a publish's frames
 *   straight to the channel's outgoing stream and queues the confirm callback: measured at 106 → 84 µs
 *   of CPU per message in the bench (README, "Publish encoding").
 * - The header decoder (header-frames.ts) decodes content header frames itself, so a header table
 *   nested thousands deep cannot overflow amqplib's recursive decoder and take the connection down
 *   (test/hostile/wire-rabbitmq.test.ts: 48 to 152 reconnects in 20 s, the consumer stuck for good,
 *   without it). amqplib offers no hook to bound its decoding, so this replaces, on each connection
 *   the transport opens, the one method that reads frames off the socket (`Connection#recvFrame`) with
 *   a copy that hands content headers to the bounded decoder and every other frame to amqplib.
 *
 * The rule: private internals only where measured to matter, and then
 * 1. an exact version gate — the installed amqplib must be {@link VERIFIED_AMQPLIB_VERSION}, the
 *    version these internals were read in and the self-check was verified against;
 * 2. a self-check when the first transport is constructed (once per process): both paths run on
 *    known frames side by side with amqplib's own code and must produce the same bytes / values;
 * 3. a visible warning (`logger.warn`) from every transport constructed while a path is off, naming why;
 * 4. a safe fallback: amqplib's public path (`ConfirmChannel#publish`; amqplib's own decoding);
 * 5. installed explicitly by the transport (its constructor checks, each new connection gets the
 *    decoder, each publisher is told), never as a side effect of importing a module.
 *
 * `EVENTFORM_AMQP_ENCODER=amqplib` / `EVENTFORM_AMQP_DECODER=amqplib` turn a path off (read when a
 * transport is constructed).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import type { ChannelModel, Options } from 'amqplib';
import type { Logger } from '@eventform/runtime';
import { decodeContentHeader, type HeaderBounds } from './header-frames.js';
import { encodePublishFrames } from './publish-frames.js';

/** The amqplib version whose internals both fast paths were read in and verified against. */
export const VERIFIED_AMQPLIB_VERSION = '2.3.1';

export interface FastPath {
  enabled: boolean;
  /** Why the path is off; empty when it is on. */
  reason: string;
}

export interface AmqplibFastPaths {
  /** The installed amqplib's version, when it could be read. */
  version: string | undefined;
  /** Publishes encoded by publish-frames.ts and written to the channel's stream. */
  publishEncoder: FastPath;
  /** Content headers decoded by header-frames.ts, within the transport's bounds. */
  headerDecoder: FastPath;
}

/** What of amqplib's `lib/` the fast paths and their self-check use. */
interface AmqplibLib {
  version: string | undefined;
  frame: {
    parseFrame(bin: Buffer, max: number): ParsedFrame | false;
    decodeFrame(frame: ParsedFrame): unknown;
  };
  defs: {
    BasicPublish: number;
    BasicDeliver: number;
    BasicProperties: number;
    encodeMethod(id: number, channel: number, fields: object): Buffer;
    encodeProperties(id: number, channel: number, size: number, fields: object): Buffer;
  };
  args: { publish(exchange: string, routingKey: string, options: Options.Publish): object };
  connection: { prototype: Record<string, unknown> };
  confirmChannel: { prototype: Record<string, unknown> };
}

interface ParsedFrame {
  type: number;
  channel: number;
  size: number;
  payload: Buffer;
  rest: Buffer;
}

/** What `Connection#recvFrame` reads and writes (amqplib 2.3.1, lib/connection.js). */
interface ReceiveInternals {
  rest: Buffer;
  maxFrameSize: number;
  recvSinceLastCheck: boolean;
  stream: { read(): Buffer | null };
  recvFrame(): unknown;
}

const FRAME_HEADER = 2;

/** amqplib's lib/ (not in its package exports, so loaded by path), or why it could not be. */
function loadAmqplib(): AmqplibLib | string {
  try {
    const require = createRequire(import.meta.url);
    const root = path.dirname(require.resolve('amqplib'));
    const lib = (file: string): Record<string, unknown> =>
      require(path.join(root, 'lib', file)) as Record<string, unknown>;
    const pkg = require(path.join(root, 'package.json')) as { version?: unknown };
    return {
      version: typeof pkg.version === 'string' ? pkg.version : undefined,
      frame: lib('frame.js') as unknown as AmqplibLib['frame'],
      defs: lib('defs.js') as unknown as AmqplibLib['defs'],
      args: lib('api_args.js') as unknown as AmqplibLib['args'],
      connection: lib('connection.js').Connection as AmqplibLib['connection'],
      confirmChannel: lib('channel_model.js').ConfirmChannel as AmqplibLib['confirmChannel'],
    };
  } catch (err) {
    return `amqplib's internals could not be loaded: ${err instanceof Error ? err.message : String(err)}`;
  }
}

let checked: { lib: AmqplibLib | undefined; paths: AmqplibFastPaths } | undefined;

/**
 * Which fast paths this process may take: the version gate and the self-check, run on the first
 * call (a transport's constructor) and remembered; then the environment switches, read on each call.
 */
export function amqplibFastPaths(env: NodeJS.ProcessEnv = process.env): AmqplibFastPaths {
  checked ??= check(loadAmqplib());
  const { paths } = checked;
  const off = (name: string): FastPath => ({ enabled: false, reason: `turned off by ${name}=amqplib` });
  return {
    version: paths.version,
    publishEncoder: env.EVENTFORM_AMQP_ENCODER === 'amqplib' ? off('EVENTFORM_AMQP_ENCODER') : paths.publishEncoder,
    headerDecoder: env.EVENTFORM_AMQP_DECODER === 'amqplib' ? off('EVENTFORM_AMQP_DECODER') : paths.headerDecoder,
  };
}

/**
 * The gate and the self-check for a given amqplib (its `lib/`, or why it could not be loaded);
 * `version` stands in for the installed one. Exported for tests; the transport uses {@link amqplibFastPaths}.
 */
export function checkAmqplib(version?: string): AmqplibFastPaths {
  const loaded = loadAmqplib();
  if (typeof loaded === 'string' || version === undefined) return check(loaded).paths;
  return check({ ...loaded, version }).paths;
}

function check(loaded: AmqplibLib | string): { lib: AmqplibLib | undefined; paths: AmqplibFastPaths } {
  if (typeof loaded === 'string') {
    const off = { enabled: false, reason: loaded };
    return { lib: undefined, paths: { version: undefined, publishEncoder: off, headerDecoder: off } };
  }
  const lib = loaded;
  if (lib.version !== VERIFIED_AMQPLIB_VERSION) {
    const off = {
      enabled: false,
      reason: `amqplib ${lib.version ?? '(unknown version)'} is installed; this fast path was verified with amqplib ${VERIFIED_AMQPLIB_VERSION} only`,
    };
    return { lib, paths: { version: lib.version, publishEncoder: off, headerDecoder: off } };
  }
  return {
    lib,
    paths: {
      version: lib.version,
      publishEncoder: selfCheck(() => checkEncoder(lib)),
      headerDecoder: selfCheck(() => checkDecoder(lib)),
    },
  };
}

function selfCheck(run: () => string): FastPath {
  let problem: string;
  try {
    problem = run();
  } catch (err) {
    problem = `threw ${err instanceof Error ? err.message : String(err)}`;
  }
  return problem === '' ? { enabled: true, reason: '' } : { enabled: false, reason: `self-check failed: ${problem}` };
}

/** Log, as a warning, each fast path that is off and what that means. */
export function reportFastPaths(paths: AmqplibFastPaths, logger: Logger): void {
  if (!paths.publishEncoder.enabled) {
    logger.warn("rabbitmq publish fast path off: publishing through amqplib's public publish (slower, same messages)", {
      reason: paths.publishEncoder.reason,
    });
  }
  if (!paths.headerDecoder.enabled) {
    logger.warn(
      'rabbitmq header decoder off: amqplib decodes message headers unbounded; a header table nested ' +
        'a few thousand deep takes the connection down and loops (maxHeaderDepth and maxHeaderBytes are not enforced)',
      { reason: paths.headerDecoder.reason },
    );
  }
}

/**
 * Make `model`'s connection read content headers with the bounded decoder. Call it on a fresh
 * connection, before any channel consumes. False when the connection does not have the shape the
 * decoder relies on (then amqplib keeps decoding); throws when the decoder path is off.
 */
export function installHeaderDecoder(model: ChannelModel, bounds: HeaderBounds): boolean {
  const lib = checked?.lib;
  if (lib === undefined || !checked!.paths.headerDecoder.enabled)
    throw new Error('the header decoder fast path is off');
  const connection = (model as unknown as { connection?: Partial<ReceiveInternals> }).connection;
  if (!hasReceiveInternals(connection)) return false;
  connection.recvFrame = boundedRecvFrame(lib.frame, bounds);
  return true;
}

function hasReceiveInternals(c: Partial<ReceiveInternals> | undefined): c is ReceiveInternals {
  return (
    c !== undefined &&
    typeof c.recvFrame === 'function' &&
    Buffer.isBuffer(c.rest) &&
    typeof c.maxFrameSize === 'number' &&
    typeof c.stream?.read === 'function'
  );
}

/**
 * amqplib's `Connection#recvFrame` (lib/connection.js), but a content header frame goes to the
 * bounded decoder: the next frame decoded from what has been read, reading more from the socket
 * stream as needed, or `false` when a whole frame is not there yet. Like amqplib it consumes the
 * frame before decoding it, so the stream stays in step whatever its content header holds.
 */
function boundedRecvFrame(frame: AmqplibLib['frame'], bounds: HeaderBounds): (this: ReceiveInternals) => unknown {
  return function recvFrame(this: ReceiveInternals): unknown {
    for (;;) {
      const parsed = frame.parseFrame(this.rest, this.maxFrameSize);
      if (parsed) {
        this.rest = parsed.rest;
        if (parsed.type === FRAME_HEADER) {
          const header = decodeContentHeader(parsed.channel, parsed.payload, bounds);
          if (header !== undefined) return header;
        }
        return frame.decodeFrame(parsed);
      }
      const incoming = this.stream.read();
      if (incoming === null) return false;
      this.recvSinceLastCheck = true;
      this.rest = Buffer.concat([this.rest, incoming]);
    }
  };
}

// --- self-checks: known frames both ways -------------------------------------------------

const SELF_CHECK_BOUNDS: HeaderBounds = { maxDepth: 32, maxBytes: 65_536 };

/** Properties of the kinds a delivery carries: every basic property and every field value type. */
function sampleProperties(): Record<string, unknown>[] {
  const headers = {
    cloudEvents_id: 'evt-1',
    cloudEvents_type: 'OrderPlaced',
    'ef-key': 'order_ü€😀',
    byte: 7,
    short: -300,
    int: 70_000,
    long: 2 ** 40 + 1,
    double: 1.5,
    bool: true,
    nothing: null,
    bytes: Buffer.from([0, 1, 255]),
    nested: { a: { b: ['x', 1, { c: false }] } },
    'x-death': [{ count: 1, reason: 'expired', queue: 'q.retry', 'routing-keys': ['q'] }],
    decimal: { '!': 'decimal', value: { places: 2, digits: 12345 } },
    timestamp: { '!': 'timestamp', value: 1_700_000_000 },
    float: { '!': 'float', value: 0.25 },
    uint: { '!': 'uint32', value: 4_000_000_000 },
    ushort: { '!': 'uint16', value: 65_000 },
    ubyte: { '!': 'uint8', value: 200 },
  };
  return [
    {},
    { headers: {} },
    {
      contentType: 'application/json',
      deliveryMode: 2,
      headers,
      messageId: 'evt-1',
      timestamp: 1_700_000_000,
      type: 'OrderPlaced',
      appId: 'shop',
    },
    {
      contentType: 'text/plain',
      contentEncoding: 'gzip',
      headers: { only: 'one' },
      deliveryMode: 1,
      priority: 9,
      correlationId: 'c',
      replyTo: 'r',
      expiration: '60000',
      messageId: 'm',
      timestamp: 2 ** 33,
      type: 't',
      userId: 'guest',
      appId: 'ü',
      clusterId: 'x',
    },
  ];
}

/** The bounded decoder and `Connection#recvFrame` against amqplib's own, on the same bytes. */
function checkDecoder(lib: AmqplibLib): string {
  const frames: Buffer[] = [];
  for (const [i, props] of sampleProperties().entries()) {
    const encoded = lib.defs.encodeProperties(lib.defs.BasicProperties, 1 + i, 3, props);
    const parsed = lib.frame.parseFrame(encoded, 0);
    if (!parsed) return `sample ${i} did not parse`;
    const ours = decodeContentHeader(parsed.channel, parsed.payload, SELF_CHECK_BOUNDS);
    if (!sameValue(ours, lib.frame.decodeFrame(parsed))) return `content header ${i} decodes differently`;
    frames.push(encoded);
  }
  // A delivery (method, header, body frames) and a heartbeat, arriving in odd-sized chunks.
  const deliver = lib.defs.encodeMethod(lib.defs.BasicDeliver, 1, {
    consumerTag: 'ctag',
    deliveryTag: 42,
    redelivered: true,
    exchange: 'shop.events',
    routingKey: 'OrderPlaced',
  });
  const body = Buffer.from([3, 0, 1, 0, 0, 0, 3, 0x7b, 0x7d, 0x0a, 0xce]);
  const heartbeat = Buffer.from([8, 0, 0, 0, 0, 0, 0, 0xce]);
  const bytes = Buffer.concat([deliver, frames[2]!, body, heartbeat, frames[3]!]);
  const theirs = receiveAll(lib.connection.prototype.recvFrame as ReceiveInternals['recvFrame'], bytes);
  const ours = receiveAll(boundedRecvFrame(lib.frame, SELF_CHECK_BOUNDS), bytes);
  if (theirs.frames.length !== 5) return `amqplib read ${theirs.frames.length} frames from 5`;
  return sameValue(ours, theirs) ? '' : 'recvFrame reads the frames differently';
}

/** Every frame a `recvFrame` reads from `bytes` delivered 7 bytes at a time, and what it leaves. */
function receiveAll(
  recvFrame: (this: ReceiveInternals) => unknown,
  bytes: Buffer,
): { frames: unknown[]; rest: number; received: boolean } {
  let at = 0;
  const connection: ReceiveInternals = {
    rest: Buffer.alloc(0),
    maxFrameSize: 131_072,
    recvSinceLastCheck: false,
    stream: {
      read: () => {
        if (at >= bytes.length) return null;
        at += 7;
        return bytes.subarray(at - 7, at);
      },
    },
    recvFrame,
  };
  const frames: unknown[] = [];
  for (let f = connection.recvFrame(); f; f = connection.recvFrame()) frames.push(f);
  return { frames, rest: connection.rest.length, received: connection.recvSinceLastCheck };
}

/** The publish encoder against amqplib's `Connection#sendMessage`, and the channel methods it uses. */
function checkEncoder(lib: AmqplibLib): string {
  const channel = lib.confirmChannel.prototype;
  if (typeof channel.sendMessage !== 'function' || typeof channel.pushConfirmCallback !== 'function') {
    return 'ConfirmChannel has no sendMessage/pushConfirmCallback';
  }
  const samples: [string, string, Options.Publish, Buffer][] = [
    [
      'shop.events',
      'OrderPlaced',
      {
        persistent: true,
        contentType: 'application/json',
        headers: { cloudEvents_id: 'evt-1', cloudEvents_type: 'OrderPlaced', 'ef-key': 'ü€😀' },
        messageId: 'evt-1',
        timestamp: 1_700_000_000,
        type: 'OrderPlaced',
        appId: 'shop',
        mandatory: true,
      },
      Buffer.from('{"orderId":"o1"}'),
    ],
    ['', 'q', {}, Buffer.alloc(0)],
    [
      'x',
      'ü',
      { expiration: 5_000, priority: 3, correlationId: 'c', replyTo: 'r', userId: 'u', deliveryMode: 1 },
      Buffer.from('b'),
    ],
  ];
  for (const [i, [exchange, routingKey, options, body]] of samples.entries()) {
    const ours = encodePublishFrames(7, exchange, routingKey, !!options.mandatory, options, body, 131_072);
    if (ours === undefined) return `sample ${i} was not encoded`;
    const written: Buffer[] = [];
    const connection = {
      frameMax: 131_072,
      sentSinceLastCheck: false,
      channels: { 7: { buffer: { write: (chunk: Buffer) => written.push(Buffer.from(chunk)) > 0 } } },
    };
    const fields = lib.args.publish(exchange, routingKey, options);
    const sendMessage = lib.connection.prototype.sendMessage as (...args: unknown[]) => unknown;
    sendMessage.call(connection, 7, lib.defs.BasicPublish, fields, lib.defs.BasicProperties, fields, body);
    if (!ours.equals(Buffer.concat(written))) return `publish ${i} encodes differently`;
  }
  return '';
}

/**
 * Deep equality for the self-check: same own keys in the same order, same prototypes, Buffers by
 * content, numbers by `Object.is`.
 */
function sameValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Buffer.isBuffer(a) || Buffer.isBuffer(b)) return Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b);
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) {
    const key = ka[i]!;
    if (key !== kb[i] || !sameValue((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]))
      return false;
  }
  return true;
}
