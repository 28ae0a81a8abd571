/** Defaults of the RabbitMQ binding, in one place. */
import amqp from 'amqplib';
import type { ChannelModel } from 'amqplib';
import { BrokerUnavailableError, errorMessage } from './errors.js';

/**
 * `EVENTFORM_RABBITMQ_URL` (unless empty), else the local broker with the default account. A
 * cluster is given as the URLs of its nodes separated by commas (see {@link nodeUrls}).
 */
export function defaultRabbitmqUrl(env: NodeJS.ProcessEnv = process.env): string {
  return env['EVENTFORM_RABBITMQ_URL'] || 'amqp://guest:guest@127.0.0.1:5672';
}

/**
 * The node URLs in a RabbitMQ URL setting: one URL, or several separated by commas (the nodes of
 * one cluster, e.g. `amqp://u:p@node1:5672,amqp://u:p@node2:5672`). A comma inside a password is
 * written `%2C`. Throws when no URL is left.
 */
export function nodeUrls(url: string | readonly string[]): string[] {
  const list = (typeof url === 'string' ? url.split(',') : url.flatMap((u) => u.split(',')))
    .map((u) => u.trim())
    .filter((u) => u !== '');
  if (list.length === 0) throw new RangeError('no RabbitMQ URL given');
  return list;
}

export const RABBITMQ_DEFAULTS = {
  assertResources: true,
  publishTimeoutMs: 10_000,
  connectionName: 'eventform',
  /** Seconds; lets both sides notice a dead TCP connection. */
  heartbeatSeconds: 10,
  reconnect: { initialDelayMs: 100, maxDelayMs: 5_000, factor: 2 },
  /** How long a socket connect may take before the attempt counts as failed. */
  connectTimeoutMs: 5_000,
  /** Pause before a message whose disposition could not be carried out is given back. */
  dispositionFailurePauseMs: 1_000,
  stopTimeoutMs: 10_000,
  /**
   * Nesting levels a delivery's header table may have, the table itself being level 1 (RabbitMQ's
   * own `x-death` needs 4). A header nested deeper is left out and the message dead-lettered as
   * `invalid-headers`.
   */
  maxHeaderDepth: 32,
  /**
   * Encoded size of a delivery's header table, in bytes: anything amqplib can publish fits (it
   * encodes a table in a 64 KiB buffer). A larger table is not decoded and the message is
   * dead-lettered as `invalid-headers`.
   */
  maxHeaderBytes: 65_536,
} as const;

/** The largest `maxHeaderDepth` accepted: the bounded decoder recurses once per level. */
export const MAX_HEADER_DEPTH_LIMIT = 1_000;

/**
 * Open one AMQP connection whose `connection_name` shows up in `rabbitmqctl list_connections`. With
 * several node URLs ({@link nodeUrls}) each is tried in turn and the first that answers is used.
 */
export async function openConnection(
  url: string | readonly string[],
  name: string,
  options: { heartbeatSeconds?: number; timeoutMs?: number } = {},
): Promise<ChannelModel> {
  const nodes = nodeUrls(url);
  const failures: BrokerUnavailableError[] = [];
  for (const node of nodes) {
    try {
      return await openNodeConnection(node, name, options);
    } catch (err) {
      if (!(err instanceof BrokerUnavailableError) || nodes.length === 1) throw err;
      failures.push(err);
    }
  }
  throw new BrokerUnavailableError(`no RabbitMQ node answered: ${failures.map((f) => f.message).join('; ')}`, {
    cause: failures[0],
  });
}

async function openNodeConnection(
  url: string,
  name: string,
  options: { heartbeatSeconds?: number; timeoutMs?: number },
): Promise<ChannelModel> {
  const heartbeat = options.heartbeatSeconds ?? RABBITMQ_DEFAULTS.heartbeatSeconds;
  const target = withHeartbeat(url, heartbeat);
  try {
    return await amqp.connect(target, {
      clientProperties: { connection_name: name },
      timeout: options.timeoutMs ?? RABBITMQ_DEFAULTS.connectTimeoutMs,
    });
  } catch (err) {
    throw new BrokerUnavailableError(
      `cannot connect to RabbitMQ at ${redactUrl(url)}: ${redactSecretIn(errorMessage(err), url)}`,
      {
        cause: err,
      },
    );
  }
}

/**
 * The URL without its password, for messages and logs. Split by hand rather than by `new URL`,
 * which refuses (or misreads) passwords holding `/`, `?`, `#` or an unencoded `@`: the user
 * information runs from `://` to the LAST `@`, so everything that could be a password is hidden,
 * at worst with a little more.
 */
export function redactUrl(url: string): string {
  if (url.includes(',')) return url.split(',').map(redactUrl).join(',');
  const { password, start, end } = passwordSpan(url) ?? {};
  return password === undefined ? url : `${url.slice(0, start)}***${url.slice(end)}`;
}

/**
 * `text` with `url`'s password replaced by `***` wherever it shows: whole (as written and
 * percent-decoded) and in the pieces a client that splits the URL at the FIRST `@` (or at `/`,
 * `?`, `#`) puts into host names and paths of its error messages.
 */
export function redactSecretIn(text: string, url: string): string {
  const password = passwordSpan(url)?.password;
  if (!password) return text;
  let decoded = password;
  try {
    decoded = decodeURIComponent(password);
  } catch {
    // not percent-encoded
  }
  const pieces = [password, decoded, ...`${password}@${decoded}`.split(/[@/?#:]/).filter((p) => p.length >= 2)];
  let out = text;
  for (const secret of [...new Set(pieces)].sort((a, b) => b.length - a.length)) out = out.split(secret).join('***');
  return out;
}

function passwordSpan(url: string): { password: string; start: number; end: number } | undefined {
  const scheme = url.indexOf('://');
  if (scheme < 0) return undefined;
  const from = scheme + 3;
  const at = url.lastIndexOf('@');
  if (at < from) return undefined;
  const colon = url.indexOf(':', from);
  if (colon < 0 || colon > at) return undefined;
  return { password: url.slice(colon + 1, at), start: colon + 1, end: at };
}

function withHeartbeat(url: string, heartbeatSeconds: number): string {
  try {
    const u = new URL(url);
    if (!u.searchParams.has('heartbeat')) u.searchParams.set('heartbeat', String(heartbeatSeconds));
    return u.toString();
  } catch {
    return url;
  }
}
