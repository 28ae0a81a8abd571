/**
 * A raw AMQP 0-9-1 publisher for hostile-input tests: it writes every frame itself over a plain TCP
 * socket, so it can send what no client library would encode (amqplib's table encoder recurses and
 * overflows the stack on the same 5,000-deep table its decoder chokes on). Just enough protocol for
 * that: the PLAIN handshake, one channel in confirm mode, basic.publish with a content header built
 * from raw bytes, and connection.close.
 *
 * Also builds field tables byte by byte ({@link table}, {@link nestedTable}, ...).
 */
import net from 'node:net';

const FRAME_METHOD = 1;
const FRAME_HEADER = 2;
const FRAME_BODY = 3;
const FRAME_HEARTBEAT = 8;
const FRAME_END = 0xce;

const method = (classId: number, methodId: number): number => (classId << 16) | methodId;
const CONNECTION_START = method(10, 10);
const CONNECTION_TUNE = method(10, 30);
const CONNECTION_OPEN_OK = method(10, 41);
const CONNECTION_CLOSE = method(10, 50);
const CONNECTION_CLOSE_OK = method(10, 51);
const CHANNEL_OPEN_OK = method(20, 11);
const CHANNEL_CLOSE = method(20, 40);
const CONFIRM_SELECT_OK = method(85, 11);
const BASIC_ACK = method(60, 80);
const BASIC_NACK = method(60, 120);

// --- field tables, byte by byte ------------------------------------------------------------

export function shortString(s: string): Buffer {
  const bytes = Buffer.from(s, 'utf8');
  if (bytes.length > 255) throw new RangeError(`short string of ${bytes.length} bytes`);
  return Buffer.concat([Buffer.from([bytes.length]), bytes]);
}

export function longString(s: string | Buffer): Buffer {
  const bytes = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

/** A field value: its type tag, then its bytes. */
export function value(tag: string, bytes: Buffer): Buffer {
  return Buffer.concat([Buffer.from(tag, 'latin1'), bytes]);
}

export const stringValue = (s: string): Buffer => value('S', longString(s));

export function longValue(n: bigint): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeBigInt64BE(n);
  return value('l', bytes);
}

/** A field table's contents (without its length): `name → tagged value` entries, in order. */
export function tableBody(entries: [string, Buffer][]): Buffer {
  return Buffer.concat(entries.flatMap(([name, v]) => [shortString(name), v]));
}

/** A field table as a value of another table: tag `F`, length, contents. */
export const tableValue = (body: Buffer): Buffer => value('F', longString(body));

/** A field array as a value: tag `A`, length, the tagged values. */
export const arrayValue = (items: Buffer[]): Buffer => value('A', longString(Buffer.concat(items)));

/** String headers as table contents. */
export function stringTable(headers: Record<string, string>): Buffer {
  return tableBody(Object.entries(headers).map(([k, v]) => [k, stringValue(v)]));
}

/**
 * A value of `depth` nested containers: tables (`{a: {a: ... {}}}`) or arrays (`[[...[]]]`).
 * Built from the inside out, so its size is linear in the depth (7 bytes a level for tables, 5 for arrays).
 */
export function nestedValue(depth: number, kind: 'table' | 'array'): Buffer {
  let v = kind === 'table' ? tableValue(Buffer.alloc(0)) : arrayValue([]);
  for (let level = 1; level < depth; level++) {
    v = kind === 'table' ? tableValue(Buffer.concat([shortString('a'), v])) : arrayValue([v]);
  }
  return v;
}

// --- the content header -------------------------------------------------------------------

export interface RawProperties {
  /** The field table's contents (without its 4-byte length). */
  headers?: Buffer;
  contentType?: string;
  deliveryMode?: number;
  messageId?: string;
  timestamp?: number;
  type?: string;
  appId?: string;
}

/** The payload of a basic content header frame: class, weight, body size, flags, properties. */
export function contentHeader(bodySize: number, props: RawProperties): Buffer {
  let flags = 0;
  const parts: Buffer[] = [];
  if (props.contentType !== undefined) {
    flags |= 0x8000;
    parts.push(shortString(props.contentType));
  }
  if (props.headers !== undefined) {
    flags |= 0x2000;
    parts.push(longString(props.headers));
  }
  if (props.deliveryMode !== undefined) {
    flags |= 0x1000;
    parts.push(Buffer.from([props.deliveryMode]));
  }
  if (props.messageId !== undefined) {
    flags |= 0x0080;
    parts.push(shortString(props.messageId));
  }
  if (props.timestamp !== undefined) {
    flags |= 0x0040;
    const ts = Buffer.alloc(8);
    ts.writeBigUInt64BE(BigInt(props.timestamp));
    parts.push(ts);
  }
  if (props.type !== undefined) {
    flags |= 0x0020;
    parts.push(shortString(props.type));
  }
  if (props.appId !== undefined) {
    flags |= 0x0008;
    parts.push(shortString(props.appId));
  }
  const fixed = Buffer.alloc(14);
  fixed.writeUInt16BE(60, 0); // class basic
  fixed.writeUInt16BE(0, 2); // weight
  fixed.writeBigUInt64BE(BigInt(bodySize), 4);
  fixed.writeUInt16BE(flags, 12);
  return Buffer.concat([fixed, ...parts]);
}

function frame(type: number, channel: number, payload: Buffer): Buffer {
  const out = Buffer.alloc(8 + payload.length);
  out[0] = type;
  out.writeUInt16BE(channel, 1);
  out.writeUInt32BE(payload.length, 3);
  payload.copy(out, 7);
  out[7 + payload.length] = FRAME_END;
  return out;
}

function methodFrame(channel: number, id: number, args: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(id >>> 0);
  return frame(FRAME_METHOD, channel, Buffer.concat([head, args]));
}

// --- the client ---------------------------------------------------------------------------

interface Received {
  type: number;
  channel: number;
  payload: Buffer;
}

/** One connection, one confirm channel; `publish` resolves once the broker acked the message. */
export class RawAmqpPublisher {
  private buffered = Buffer.alloc(0);
  private readonly frames: Received[] = [];
  private waiter: (() => void) | null = null;
  private failure: Error | null = null;
  private published = 0;
  private frameMax = 131_072;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      for (;;) {
        if (this.buffered.length < 7) break;
        const size = this.buffered.readUInt32BE(3);
        if (this.buffered.length < size + 8) break;
        this.frames.push({
          type: this.buffered[0]!,
          channel: this.buffered.readUInt16BE(1),
          payload: this.buffered.subarray(7, 7 + size),
        });
        this.buffered = this.buffered.subarray(size + 8);
      }
      this.wake();
    });
    const fail = (err: Error): void => {
      this.failure ??= err;
      this.wake();
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
  }

  static async connect(url: string): Promise<RawAmqpPublisher> {
    const u = new URL(url);
    const socket = net.connect({ host: u.hostname || '127.0.0.1', port: Number(u.port) || 5672 });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const client = new RawAmqpPublisher(socket);
    await client.handshake(
      decodeURIComponent(u.username || 'guest'),
      decodeURIComponent(u.password || 'guest'),
      u.pathname.length > 1 ? decodeURIComponent(u.pathname.slice(1)) : '/',
    );
    return client;
  }

  /** Publish one message whose content header is `header` (see {@link contentHeader}); waits for the ack. */
  async publishRaw(exchange: string, routingKey: string, header: Buffer, body: Buffer): Promise<void> {
    const args = Buffer.concat([Buffer.from([0, 0]), shortString(exchange), shortString(routingKey), Buffer.from([0])]);
    const frames = [methodFrame(1, method(60, 40), args), frame(FRAME_HEADER, 1, header)];
    for (let at = 0; at < body.length; at += this.frameMax - 8) {
      frames.push(frame(FRAME_BODY, 1, body.subarray(at, at + this.frameMax - 8)));
    }
    this.socket.write(Buffer.concat(frames));
    const tag = ++this.published;
    const reply = await this.next((f) => f.id === BASIC_ACK || f.id === BASIC_NACK || f.id === CHANNEL_CLOSE);
    if (reply.id !== BASIC_ACK)
      throw new Error(`publish ${tag} refused (${reply.id === BASIC_NACK ? 'nack' : 'channel closed'})`);
  }

  publish(exchange: string, routingKey: string, props: RawProperties, body: Buffer): Promise<void> {
    return this.publishRaw(exchange, routingKey, contentHeader(body.length, props), body);
  }

  async close(): Promise<void> {
    if (this.failure) return;
    const args = Buffer.concat([Buffer.from([0, 200]), shortString('bye'), Buffer.from([0, 0, 0, 0])]);
    this.socket.write(methodFrame(0, CONNECTION_CLOSE, args));
    await this.next((f) => f.id === CONNECTION_CLOSE_OK).catch(() => {});
    this.socket.destroy();
  }

  private async handshake(user: string, password: string, vhost: string): Promise<void> {
    this.socket.write(Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]));
    await this.next((f) => f.id === CONNECTION_START);
    const startOk = Buffer.concat([
      longString(Buffer.alloc(0)), // client-properties: empty table
      shortString('PLAIN'),
      longString(Buffer.from(`\0${user}\0${password}`, 'utf8')),
      shortString('en_US'),
    ]);
    this.socket.write(methodFrame(0, method(10, 11), startOk));
    const tune = await this.next((f) => f.id === CONNECTION_TUNE);
    const channelMax = tune.args.readUInt16BE(0);
    this.frameMax = tune.args.readUInt32BE(2) || this.frameMax;
    const tuneOk = Buffer.alloc(8);
    tuneOk.writeUInt16BE(channelMax, 0);
    tuneOk.writeUInt32BE(this.frameMax, 2);
    tuneOk.writeUInt16BE(0, 6); // no heartbeats
    this.socket.write(methodFrame(0, method(10, 31), tuneOk));
    this.socket.write(
      methodFrame(0, method(10, 40), Buffer.concat([shortString(vhost), shortString(''), Buffer.from([0])])),
    );
    await this.next((f) => f.id === CONNECTION_OPEN_OK);
    this.socket.write(methodFrame(1, method(20, 10), shortString('')));
    await this.next((f) => f.id === CHANNEL_OPEN_OK);
    this.socket.write(methodFrame(1, method(85, 10), Buffer.from([0])));
    await this.next((f) => f.id === CONFIRM_SELECT_OK);
  }

  /** The next method frame matching `accept` (others are dropped; heartbeats ignored). */
  private async next(accept: (f: { id: number }) => boolean): Promise<{ id: number; args: Buffer }> {
    for (;;) {
      const f = this.frames.shift();
      if (f === undefined) {
        if (this.failure) throw this.failure;
        await new Promise<void>((resolve) => (this.waiter = resolve));
        continue;
      }
      if (f.type === FRAME_HEARTBEAT || f.type !== FRAME_METHOD) continue;
      const m = { id: f.payload.readUInt32BE(0), args: f.payload.subarray(4) };
      if (m.id === CONNECTION_CLOSE) throw new Error(`broker closed the connection: ${m.args.toString('latin1', 3)}`);
      if (accept(m)) return m;
    }
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.();
  }
}
