/**
 * Hostile and unlucky provisioning: a broker that refuses part-way (the CLI says what it had
 * already created), and passwords that no URL parser likes (never printed, not even in part).
 * RabbitMQ for real (a user allowed to declare only the exchange); Kafka's refusal through a stub
 * admin client, since a real Kafka refusing one topic of a batch cannot be arranged here.
 */
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Admin } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { ProvisioningIncompleteError } from '@eventform/runtime';
import { provisionKafka } from '../../runtime/kafka/src/provision.js';
import { redactSecretIn, redactUrl } from '../../runtime/rabbitmq/src/defaults.js';
import { requireRabbitmq } from '../support/brokers.js';
import { deleteTopology } from '../rabbitmq/broker-admin.js';
import { loadTopology, topologyFromDocument } from '../../generator/src/spec/index.js';

const exec = promisify(execFile);
const CLI = path.resolve(import.meta.dirname, '../../generator/bin/eventform.js');
const rabbit = await requireRabbitmq();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'eventform-provision-'));
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  fs.rmSync(tmp, { recursive: true, force: true });
});

function topologyFile(name: string): string {
  const file = path.join(tmp, `${name}.yaml`);
  fs.writeFileSync(
    file,
    `topology: ${name}
version: 1
events:
  ThingHappened:
    payload: { type: object }
services:
  maker: { produces: [ThingHappened] }
  taker:
    consumes:
      take: { event: ThingHappened }
`,
  );
  return file;
}

describe.skipIf(!rabbit.available)('provisioning refused part-way (real RabbitMQ)', () => {
  it('reports the exchange it created before the broker refused the queues, and exits 4', async () => {
    const name = `hostile-prov-${randomBytes(3).toString('hex')}`;
    const user = `ef-${name}`;
    const password = 'only-the-exchange';
    await exec('rabbitmqctl', ['add_user', user, password]);
    cleanups.push(() => exec('rabbitmqctl', ['delete_user', user]));
    // May configure (declare) the topology's exchange, nothing else.
    await exec('rabbitmqctl', [
      'set_permissions',
      '-p',
      '/',
      user,
      `^${name.replace(/-/g, '\\-')}\\.events$`,
      '.*',
      '.*',
    ]);
    const file = topologyFile(name);
    cleanups.push(() => deleteTopology(rabbit.url, loadTopology(file).ir!));

    const url = rabbit.url.replace(/\/\/[^@]*@/, `//${user}:${password}@`);
    const r = spawnSync(process.execPath, [CLI, 'provision', file, '--broker', 'rabbitmq', '--url', url], {
      encoding: 'utf8',
    });
    expect(r.status, r.stdout + r.stderr).toBe(4); // EXIT.unavailable: the broker refused
    expect(r.stderr).toMatch(/rabbitmq provisioning failed after 1 of the planned changes: .*ACCESS_REFUSED|403/);
    expect(r.stderr).toContain('created before the failure');
    expect(r.stderr).toContain(`  exchange ${name}.events`);
    expect(r.stderr).not.toMatch(/^ {2}queue /m);
    expect(r.stdout + r.stderr).not.toContain(password);
  }, 60_000);
});

describe('provisioning refused part-way (Kafka, stub admin)', () => {
  it('names the topics that exist after a failed batch', async () => {
    const ir = topologyFromDocument({
      topology: 'partial-kafka',
      events: { A: { payload: { type: 'object' } }, B: { payload: { type: 'object' } } },
      services: { s: { produces: ['A', 'B'] } },
    });
    const admin = {
      describeCluster: async () => ({ brokers: [{ nodeId: 1 }], controller: 1, clusterId: 'x' }),
      fetchTopicMetadata: async () => ({ topics: [] }),
      describeConfigs: async () => ({ resources: [] }),
      listTopics: async () => ['partial-kafka.A'],
      createTopics: async () => {
        throw new Error('TOPIC_AUTHORIZATION_FAILED for partial-kafka.B');
      },
    } as unknown as Admin;
    const error = await provisionKafka(ir, { admin, brokers: 'unused:1' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProvisioningIncompleteError);
    expect((error as ProvisioningIncompleteError).completed).toEqual(['topic partial-kafka.A']);
    expect((error as Error).message).toMatch(/after creating 1 of 2 topics: .*TOPIC_AUTHORIZATION_FAILED/);
  });
});

describe('passwords in broker URLs', () => {
  it.each([
    ['amqp://user:p@ss@host:5672/vh', 'p@ss'],
    ['amqp://user:pa@ss/w@host', 'pa@ss/w'],
    ['amqp://user:a/b@host', 'a/b'],
    ['amqp://user:a#b@host', 'a#b'],
    ['amqp://user:a?b@host', 'a?b'],
    ['amqp://user:p%40ss@host', 'p%40ss'],
    ['amqps://user:s3cr3t:with:colons@host/', 's3cr3t:with:colons'],
  ])('%s is shown without its password', (url, password) => {
    const shown = redactUrl(url);
    // Not whole, and not in part: a parser that splits at the first @ or / shows a tail of it.
    for (const piece of [password, ...password.split(/[@/?#:]/).filter((p) => p.length >= 2)]) {
      expect(shown).not.toContain(piece);
    }
    expect(shown).toContain('user:***@');
    expect(redactSecretIn(`connect failed for ${url} (${decodeURIComponent(password)})`, url)).not.toMatch(
      new RegExp(password.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')),
    );
  });

  it('the CLI never prints a password it could not connect with', () => {
    // A URL parser reads the host as "ssw0rd": half the password, in the address and in the error.
    const secret = 'pa@ssw0rd/x';
    const r = spawnSync(
      process.execPath,
      [
        CLI,
        'provision',
        topologyFile('redact-me'),
        '--broker',
        'rabbitmq',
        '--url',
        `amqp://user:${secret}@127.0.0.1:1/`,
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(r.status).toBe(4); // EXIT.unavailable
    for (const part of [secret, 'ssw0rd']) expect(r.stdout + r.stderr).not.toContain(part);
  }, 60_000);
});
