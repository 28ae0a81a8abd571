/**
 * The `eventform dlq` command flows (generator/src/cli/dlq.ts) over a store kept in memory: the
 * purge question on a terminal, the refusal without one, a store that cannot delete single
 * messages, a consumer that cannot be replayed to alone, what a replay hands the store, the
 * progress bar, escaped output; which brokers `--broker` reaches. The real brokers are
 * test/dlq/dlq-rabbitmq.test.ts, dlq-kafka.test.ts and dlq-nats.test.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CE,
  EF,
  deadLetterHeaders,
  type ConsumerIR,
  type DeadLetterDecision,
  type DeadLetterStore,
  type StoredDeadLetter,
} from '@eventform/runtime';
import { runDlqList, runDlqPurge, runDlqReplay, type DlqCliOptions, type DlqIo } from '../../generator/src/cli/dlq.js';
import { UserError } from '../../generator/src/cli/shared.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eventform-dlq-cli-'));
const file = path.join(dir, 'topology.yaml');
fs.writeFileSync(
  file,
  `topology: dlqcli
version: 1
events:
  Placed: { payload: { type: object } }
services:
  shop: { produces: [Placed] }
  billing:
    consumes:
      charge: { event: Placed }
  audit:
    consumes:
      once: { event: Placed, retry: { attempts: 1 } }
`,
);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function letter(
  consumer: string,
  id: string,
  reason: 'retries-exhausted' | 'schema-invalid',
  n: number,
): StoredDeadLetter {
  return {
    consumer,
    body: Buffer.from(`{"n":${n}}`),
    headers: deadLetterHeaders(
      { [CE.id]: id, [CE.type]: 'Placed', [CE.correlationid]: `corr-${id}`, [EF.attempt]: '3' },
      {
        reason,
        error: 'boom',
        attempts: 3,
        origin: 'dlqcli.events/Placed',
        consumer,
        firstFailure: '2026-12-05T10:00:00.000Z',
        lastFailure: `2026-12-05T10:00:0${n % 10}.000Z\u001b[2J`,
      },
    ),
    position: `#${n}`,
  };
}

/** A DeadLetterStore over arrays; Kafka-like (no single deletes, no replay without a retry topic) on request. */
class FakeStore implements DeadLetterStore {
  readonly broker: string;
  readonly locationKind: string;
  readonly deletesSingle: boolean;
  readonly replays: { consumer: string; headers: Record<string, string>; keep: boolean }[] = [];
  closed = false;

  constructor(
    readonly queues: Map<string, StoredDeadLetter[]>,
    kafkaLike = false,
  ) {
    this.broker = kafkaLike ? 'kafka' : 'rabbitmq';
    this.locationKind = kafkaLike ? 'topic' : 'queue';
    this.deletesSingle = !kafkaLike;
  }

  location(consumer: ConsumerIR): string | null {
    return `${consumer.id}.dlq`;
  }

  replayBlocked(consumer: ConsumerIR): string | null {
    return this.broker === 'kafka' && consumer.kafka.retryTopic === null ? `${consumer.id} has no retry topic` : null;
  }

  async pass(
    consumer: ConsumerIR,
    decide: (m: StoredDeadLetter) => DeadLetterDecision | Promise<DeadLetterDecision>,
    options: { onTotal?: ((n: number) => void) | undefined } = {},
  ) {
    const messages = this.queues.get(consumer.id) ?? [];
    const result = {
      consumer: consumer.id,
      location: `${consumer.id}.dlq`,
      missing: false,
      read: 0,
      kept: 0,
      deleted: 0,
      replayed: 0,
    };
    options.onTotal?.(messages.length);
    const left: StoredDeadLetter[] = [];
    for (const m of messages) {
      result.read++;
      const d = await decide(m);
      if (d.action === 'delete') {
        if (!this.deletesSingle) throw new Error('cannot delete');
        result.deleted++;
      } else if (d.action === 'replay') {
        this.replays.push({ consumer: consumer.id, headers: d.headers, keep: d.keep ?? false });
        result.replayed++;
        if (d.keep || !this.deletesSingle) left.push(m);
      } else {
        result.kept++;
        left.push(m);
      }
    }
    this.queues.set(consumer.id, left);
    return result;
  }

  async truncate(consumer: ConsumerIR): Promise<number> {
    const n = this.queues.get(consumer.id)?.length ?? 0;
    this.queues.set(consumer.id, []);
    return n;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

function setup(
  options: { kafkaLike?: boolean; interactive?: boolean; answer?: string; tty?: boolean; many?: number } = {},
) {
  const queues = new Map<string, StoredDeadLetter[]>([
    [
      'billing.charge',
      [
        letter('billing.charge', 'a', 'retries-exhausted', 1),
        letter('billing.charge', 'b', 'schema-invalid', 2),
        ...Array.from({ length: options.many ?? 0 }, (_, i) =>
          letter('billing.charge', `m${i}`, 'retries-exhausted', i),
        ),
      ],
    ],
    ['audit.once', [letter('audit.once', 'c', 'retries-exhausted', 3)]],
  ]);
  const store = new FakeStore(queues, options.kafkaLike);
  const out: string[] = [];
  const err: string[] = [];
  const drawn: string[] = [];
  const asked: string[] = [];
  const io: DlqIo = {
    stdout: (t) => void out.push(t),
    stderr: (t) => void err.push(t),
    now: () => new Date('2026-12-05T12:00:00.000Z'),
    interactive: options.interactive ?? false,
    ask: async (q) => {
      asked.push(q);
      return options.answer ?? '';
    },
    progress: { isTTY: options.tty ?? false, write: (t: string) => drawn.push(t) },
    openStore: async () => ({ store, target: 'fake://broker' }),
  };
  const opts = (o: Partial<DlqCliOptions> = {}): DlqCliOptions => ({ rate: '0', ...o });
  const count = (id: string) => queues.get(id)!.length;
  return { store, io, out, err, drawn, asked, opts, count };
}

describe('dlq purge', () => {
  it('on a terminal asks first; anything but yes deletes nothing', async () => {
    const s = setup({ interactive: true, answer: 'n' });
    expect(await runDlqPurge(file, s.opts(), s.io)).toBe(0);
    expect(s.asked[0]).toMatch(
      /^Delete 3 dead letter\(s\) from rabbitmq fake:\/\/broker: audit\.once \(1\), billing\.charge \(2\)\? \[y\/N\] $/,
    );
    expect(s.count('billing.charge') + s.count('audit.once')).toBe(3);
    expect(s.err.join('')).toContain('not purged');
    expect(s.store.closed).toBe(true);
  });

  it('on a terminal, yes deletes what the selection names and nothing else', async () => {
    const s = setup({ interactive: true, answer: 'yes' });
    expect(await runDlqPurge(file, s.opts({ reason: ['schema-invalid'] }), s.io)).toBe(0);
    expect(s.asked).toHaveLength(1);
    expect(s.count('billing.charge')).toBe(1);
    expect(s.count('audit.once')).toBe(1);
    expect(s.out.join('')).toContain('deleted 1 dead letter(s): billing.charge (1)');
  });

  it('without a terminal and without --yes refuses and deletes nothing; --yes deletes without asking', async () => {
    const s = setup();
    const refused = await runDlqPurge(file, s.opts(), s.io).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(UserError);
    expect((refused as UserError).exitCode).toBe(2);
    expect((refused as Error).message).toMatch(/refusing to delete 3 dead letter\(s\) without --yes/);
    expect(s.count('billing.charge')).toBe(2);
    expect(await runDlqPurge(file, s.opts({ yes: true }), s.io)).toBe(0);
    expect(s.asked).toEqual([]);
    expect(s.count('billing.charge') + s.count('audit.once')).toBe(0);
  });

  it('--dry-run only counts', async () => {
    const s = setup({ interactive: true, answer: 'y' });
    expect(await runDlqPurge(file, s.opts({ dryRun: true }), s.io)).toBe(0);
    expect(s.out.join('')).toContain('would delete 3 dead letter(s)');
    expect(s.asked).toEqual([]);
    expect(s.count('billing.charge')).toBe(2);
  });

  it('a store that cannot delete single messages refuses a selection by record, truncates by consumer', async () => {
    const s = setup({ kafkaLike: true });
    const refused = await runDlqPurge(file, s.opts({ reason: ['schema-invalid'], yes: true }), s.io).catch(
      (e: unknown) => e,
    );
    expect((refused as Error).message).toMatch(/kafka cannot delete single dead letters/);
    expect(s.count('billing.charge')).toBe(2);
    expect(await runDlqPurge(file, s.opts({ consumer: ['billing.charge'], yes: true }), s.io)).toBe(0);
    expect(s.count('billing.charge')).toBe(0);
    expect(s.count('audit.once')).toBe(1);
  });
});

describe('dlq replay', () => {
  it('hands the store replay copies for the selected records only, with the replay headers', async () => {
    const s = setup();
    expect(await runDlqReplay(file, s.opts({ reason: ['retries-exhausted'] }), s.io)).toBe(0);
    expect(s.store.replays.map((r) => [r.consumer, r.headers[CE.id], r.keep])).toEqual([
      ['audit.once', 'c', false],
      ['billing.charge', 'a', false],
    ]);
    const a = s.store.replays[1]!.headers;
    expect(a[CE.correlationid]).toBe('corr-a');
    expect(a[EF.replayed]).toBe('2026-12-05T12:00:00.000Z');
    expect(a[EF.attempt]).toBeUndefined();
    expect(s.count('billing.charge')).toBe(1);
  });

  it('--dry-run and --keep', async () => {
    const s = setup();
    expect(await runDlqReplay(file, s.opts({ dryRun: true }), s.io)).toBe(0);
    expect(s.store.replays).toEqual([]);
    expect(s.out.join('')).toContain('would replay 3 dead letters — dry run');
    expect(await runDlqReplay(file, s.opts({ keep: true, consumer: ['billing.charge'] }), s.io)).toBe(0);
    expect(s.store.replays.map((r) => r.keep)).toEqual([true, true]);
    expect(s.count('billing.charge')).toBe(2);
  });

  it('a consumer with no path to it alone: its records are left and counted (exit 1); named, a usage error', async () => {
    const s = setup({ kafkaLike: true });
    expect(await runDlqReplay(file, s.opts(), s.io)).toBe(1);
    expect(s.store.replays.map((r) => r.consumer)).toEqual(['billing.charge', 'billing.charge']);
    expect(s.out.join('')).toContain('1 not replayable: audit.once has no retry topic');
    const named = await runDlqReplay(file, s.opts({ consumer: ['audit.once'] }), s.io).catch((e: unknown) => e);
    expect((named as UserError).exitCode).toBe(2);
  });

  it('draws a progress bar on a terminal for a long run, and not in a pipe', async () => {
    const tty = setup({ tty: true, many: 60 });
    await runDlqReplay(file, tty.opts({ consumer: ['billing.charge'] }), tty.io);
    expect(tty.drawn.some((t) => t.includes('62/62 100%'))).toBe(true);
    const pipe = setup({ tty: false, many: 60 });
    await runDlqReplay(file, pipe.opts({ consumer: ['billing.charge'] }), pipe.io);
    expect(pipe.drawn).toEqual([]);
  });
});

describe('dlq list', () => {
  it('counts per consumer and reason, printing what came from the wire escaped', async () => {
    const s = setup();
    expect(await runDlqList(file, s.opts(), s.io)).toBe(0);
    const text = s.out.join('');
    expect(text).toMatch(/billing\.charge\s+retries-exhausted\s+1\s+0/);
    expect(text).toMatch(/billing\.charge\s+schema-invalid\s+1\s+0/);
    expect(text).toContain('\\x1b[2J');
    expect(text).not.toContain('\u001b');
  });

  it('an unknown consumer is a usage error with a hint', async () => {
    const s = setup();
    const e = await runDlqList(file, s.opts({ consumer: ['billing.charg'] }), s.io).catch((x: unknown) => x);
    expect((e as UserError).exitCode).toBe(2);
    expect((e as Error).message).toContain("did you mean 'billing.charge'?");
  });
});

describe('dlq --broker', () => {
  it('reaches every registered broker through its binding: nats at an address where nothing listens is exit 4, naming it', async () => {
    const s = setup();
    const io: DlqIo = { ...s.io, openStore: undefined };
    expect(await runDlqList(file, s.opts({ broker: 'nats', target: '127.0.0.1:1' }), io)).toBe(4);
    expect(s.err.join('')).toMatch(/^eventform dlq list: cannot connect to NATS at 127\.0\.0\.1:1/m);
  });

  it('the memory broker is a usage error that says where its dead letters are', async () => {
    const s = setup();
    const e = await runDlqList(file, s.opts({ broker: 'memory' }), s.io).catch((x: unknown) => x);
    expect((e as UserError).exitCode).toBe(2);
    expect((e as Error).message).toMatch(/--broker rabbitmq, kafka, nats .*inside the process that ran it/);
  });
});
