/** Test-only helpers that inspect and manipulate the shared RabbitMQ broker. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import type { ChannelModel, GetMessage } from 'amqplib';
import type { TopologyIR } from '../../runtime/core/src/ir.js';
import { rabbitmqResources } from '../../runtime/rabbitmq/src/resources.js';

const exec = promisify(execFile);

export async function adminConnection(url: string): Promise<ChannelModel> {
  const conn = await amqp.connect(url, { clientProperties: { connection_name: 'eventform-test-admin' } });
  conn.on('error', () => {});
  return conn;
}

/** Delete every queue and exchange of the topology; missing ones are fine. */
export async function deleteTopology(url: string, ir: TopologyIR): Promise<void> {
  const conn = await adminConnection(url);
  try {
    const res = rabbitmqResources(ir);
    const ch = await conn.createChannel();
    ch.on('error', () => {});
    for (const q of res.queues) await ch.deleteQueue(q.name);
    for (const e of res.exchanges) await ch.deleteExchange(e.name);
    await ch.close();
  } finally {
    await conn.close().catch(() => {});
  }
}

export async function deleteQueues(url: string, names: string[]): Promise<void> {
  const conn = await adminConnection(url);
  try {
    const ch = await conn.createChannel();
    for (const n of names) await ch.deleteQueue(n);
    await ch.close();
  } finally {
    await conn.close().catch(() => {});
  }
}

/** Messages ready in a queue (unacked ones are not counted). */
export async function queueDepth(url: string, queue: string): Promise<number> {
  const conn = await adminConnection(url);
  try {
    const ch = await conn.createChannel();
    const { messageCount } = await ch.checkQueue(queue);
    await ch.close();
    return messageCount;
  } finally {
    await conn.close().catch(() => {});
  }
}

/** Take (and acknowledge) every message currently in a queue. */
export async function drainQueue(url: string, queue: string): Promise<GetMessage[]> {
  const conn = await adminConnection(url);
  const out: GetMessage[] = [];
  try {
    const ch = await conn.createChannel();
    for (;;) {
      const msg = await ch.get(queue, { noAck: false });
      if (msg === false) break;
      out.push(msg);
      ch.ack(msg);
    }
    await ch.close();
  } finally {
    await conn.close().catch(() => {});
  }
  return out;
}

/**
 * Force-close every connection whose `connection_name` starts with `prefix`, as a broker restart
 * or network cut would — but only ours, because other engineers' tests share this broker.
 * One `rabbitmqctl eval` lists and closes in a single step: each rabbitmqctl call boots an
 * Erlang VM, which takes seconds on a loaded machine. Returns how many were closed.
 */
export async function closeConnectionsNamed(prefix: string, reason = 'eventform test: forced close'): Promise<number> {
  if (!/^[A-Za-z0-9._-]+$/.test(prefix) || !/^[A-Za-z0-9 .:_-]+$/.test(reason)) {
    throw new Error('closeConnectionsNamed: prefix and reason must be plain names');
  }
  const script = [
    `Prefix = <<"${prefix}">>,`,
    'Pids = [P || I <- rabbit_networking:connection_info_all([pid, client_properties]),',
    '  {pid, P} <- [lists:keyfind(pid, 1, I)],',
    '  {client_properties, CP} <- [lists:keyfind(client_properties, 1, I)],',
    // A connection still in its handshake has no property list yet (keyfind on it is a badarg).
    '  is_list(CP),',
    '  {<<"connection_name">>, longstr, Name} <- [lists:keyfind(<<"connection_name">>, 1, CP)],',
    '  binary:longest_common_prefix([Name, Prefix]) =:= byte_size(Prefix)],',
    `[rabbit_networking:close_connection(P, "${reason}") || P <- Pids],`,
    'length(Pids).',
  ].join(' ');
  const { stdout } = await exec('rabbitmqctl', ['eval', script], { timeout: 60_000 });
  const closed = Number(stdout.trim().split('\n').pop());
  if (!Number.isInteger(closed)) throw new Error(`rabbitmqctl eval answered ${JSON.stringify(stdout)}`);
  return closed;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Poll `check` until it returns true or `timeoutMs` passes. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
}
