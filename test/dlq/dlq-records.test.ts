/**
 * The broker-independent rules of `eventform dlq` (generator/src/cli/dlq-records.ts): reading a
 * stored message into a record, filters, the replay copy's headers, counts, safe printing, the
 * rate limit and the progress bar. No broker.
 */
import { describe, expect, it } from 'vitest';
import { CE, EF, deadLetterHeaders, type StoredDeadLetter } from '@eventform/runtime';
import {
  NO_FILTER,
  NOT_A_RECORD,
  ProgressBar,
  RateLimiter,
  bodyJson,
  countRows,
  entryId,
  entryJson,
  formatBody,
  formatEntry,
  matches,
  parseReason,
  parseTime,
  readEntry,
  renderProgress,
  replayHeaders,
  safeLine,
  type DlqFilter,
} from '../../generator/src/cli/dlq-records.js';
import { filterOf, selectConsumers } from '../../generator/src/cli/dlq.js';
import { buildTopology } from '../rabbitmq/fixtures.js';

const ORIGINAL = {
  [CE.id]: 'evt-1',
  [CE.type]: 'OrderCreated',
  [CE.source]: 'order-service',
  [CE.correlationid]: 'corr-42',
  [CE.specversion]: '1.0',
  'content-type': 'application/json',
  [EF.attempt]: '3',
  [EF.firstFailure]: '2026-12-01T10:00:00.000Z',
  [EF.retryFor]: 'inventory.reserve',
  [EF.origin]: 'shop.events/OrderCreated',
};

function dead(
  overrides: Partial<Parameters<typeof deadLetterHeaders>[1]> = {},
  headers: Record<string, string> = ORIGINAL,
  body = Buffer.from('{"orderId":"o-1"}'),
): StoredDeadLetter {
  return {
    consumer: overrides.consumer ?? 'inventory.reserve',
    body,
    headers: deadLetterHeaders(headers, {
      reason: 'retries-exhausted',
      error: new Error('warehouse down'),
      attempts: 3,
      origin: 'shop.events/OrderCreated',
      consumer: 'inventory.reserve',
      firstFailure: '2026-12-01T10:00:00.000Z',
      lastFailure: '2026-12-01T10:00:05.000Z',
      ...overrides,
    }),
    position: '#1',
  };
}

const filter = (f: Partial<DlqFilter>): DlqFilter => ({ ...NO_FILTER, ...f });

describe('readEntry and ids', () => {
  it('parses a record and takes the event id as its id', () => {
    const e = readEntry(dead());
    expect(e.record?.reason).toBe('retries-exhausted');
    expect(e.record?.correlationId).toBe('corr-42');
    expect(e.id).toBe('evt-1');
    expect(e.problem).toBeNull();
  });

  it('a message without the ef-dl record is no record, and says why', () => {
    const e = readEntry({ consumer: 'a.b', body: Buffer.from('x'), headers: { id: 'e' }, position: '#1' });
    expect(e.record).toBeNull();
    expect(e.problem).toMatch(/ef-dl-reason/);
  });

  it.each([
    ['no id', {}],
    ['an id with an escape sequence', { id: 'evil\u001b[2J' }],
    ['an id with a bidi override', { id: 'abc\u202edef' }],
    ['an overlong id', { id: 'x'.repeat(201) }],
  ])('%s: a digest of headers and body instead, stable and content-dependent', (_, headers) => {
    const a = entryId({ headers, body: Buffer.from('1') });
    expect(a).toMatch(/^sha256:[0-9a-f]{16}$/);
    expect(entryId({ headers: { ...headers }, body: Buffer.from('1') })).toBe(a);
    expect(entryId({ headers, body: Buffer.from('2') })).not.toBe(a);
  });
});

describe('filters', () => {
  const e = readEntry(dead());
  it.each<[string, Partial<DlqFilter>, boolean]>([
    ['nothing', {}, true],
    ['its reason', { reasons: ['retries-exhausted'] }, true],
    ['another reason', { reasons: ['schema-invalid'] }, false],
    ['its type', { types: ['OrderCreated'] }, true],
    ['another type', { types: ['OrderShipped'] }, false],
    ['its id', { ids: ['evt-1'] }, true],
    ['another id', { ids: ['evt-2'] }, false],
    ['since before it', { since: new Date('2026-12-01T10:00:05.000Z') }, true],
    ['since after it', { since: new Date('2026-12-01T10:00:05.001Z') }, false],
    ['until after it', { until: new Date('2026-12-01T10:00:05.000Z') }, true],
    ['until before it', { until: new Date('2026-12-01T10:00:04.999Z') }, false],
    ['reason and type, one wrong', { reasons: ['retries-exhausted'], types: ['X'] }, false],
  ])('%s', (_, f, expected) => {
    expect(matches(e, filter(f))).toBe(expected);
  });

  it('a non-record is selected only by its id or by no filter', () => {
    const junk = readEntry({ consumer: 'a.b', body: Buffer.from('x'), headers: {}, position: '#1' });
    expect(matches(junk, NO_FILTER)).toBe(true);
    expect(matches(junk, filter({ reasons: ['invalid-json'] }))).toBe(false);
    expect(matches(junk, filter({ ids: [junk.id] }))).toBe(true);
  });

  it('parses reasons and times, and rejects what is neither', () => {
    expect(parseReason('non-retryable')).toBe('non-retryable');
    expect(() => parseReason('boom')).toThrow(/one of: invalid-headers/);
    const now = new Date('2026-12-05T12:00:00Z');
    expect(parseTime('2h', now).toISOString()).toBe('2026-12-05T10:00:00.000Z');
    expect(parseTime('2026-12-01T00:00:00Z', now).toISOString()).toBe('2026-12-01T00:00:00.000Z');
    expect(() => parseTime('yesterday', now)).toThrow(/neither an ISO 8601 time/);
    expect(() => filterOf({ reason: ['nope'] }, now)).toThrow(/unknown reason/);
  });

  it('selects the consumers with a DLQ, or the named ones; an unknown name is a usage error with a hint', () => {
    const ir = buildTopology({
      name: 'sel',
      events: [{ name: 'A' }],
      consumers: [
        { service: 'svc', handler: 'one', events: ['A'] },
        { service: 'svc', handler: 'two', events: ['A'], deadLetter: false },
      ],
    });
    expect(selectConsumers(ir, []).map((c) => c.id)).toEqual(['svc.one']);
    expect(selectConsumers(ir, ['svc.one']).map((c) => c.id)).toEqual(['svc.one']);
    expect(() => selectConsumers(ir, ['svc.onee'])).toThrow(/did you mean 'svc.one'/);
    expect(() => selectConsumers(ir, ['svc.two'])).toThrow(/dead-lettering off/);
  });
});

describe('replayHeaders', () => {
  const now = new Date('2026-12-05T12:00:00.000Z');
  it('keeps the original headers and correlation id, resets the attempts, marks the replay', () => {
    const record = readEntry(dead()).record!;
    const h = replayHeaders(record, now);
    expect(h[CE.correlationid]).toBe('corr-42');
    expect(h[CE.id]).toBe('evt-1');
    expect(h[CE.type]).toBe('OrderCreated');
    expect(h[EF.replayed]).toBe('2026-12-05T12:00:00.000Z');
    expect(h[EF.origin]).toBe('shop.events/OrderCreated');
    for (const gone of [EF.attempt, EF.firstFailure, EF.retryFor, EF.dueAt]) expect(h[gone]).toBeUndefined();
    expect(Object.keys(h).filter((n) => n.startsWith('ef-dl-'))).toEqual([]);
  });

  it('a structured event keeps its correlation in its body: no header is added', () => {
    const structured = { 'content-type': 'application/cloudevents+json' };
    const record = readEntry(dead({ correlationId: 'in-body' }, structured)).record!;
    expect(replayHeaders(record, now)[CE.correlationid]).toBeUndefined();
  });
});

describe('countRows', () => {
  it('counts per consumer and reason, with replayed ones and the time span', () => {
    const rows = countRows(
      [
        dead(),
        dead({ lastFailure: '2026-12-02T00:00:00.000Z' }),
        dead({ reason: 'schema-invalid' }),
        { ...dead({ consumer: 'billing.charge' }), headers: { ...dead().headers, [EF.replayed]: 'x' } },
        { consumer: 'billing.charge', body: Buffer.alloc(0), headers: {}, position: '#9' },
      ].map(readEntry),
    );
    expect(rows.map((r) => [r.consumer, r.reason, r.count, r.replayed])).toEqual([
      ['billing.charge', NOT_A_RECORD, 1, 0],
      ['billing.charge', 'retries-exhausted', 1, 1],
      ['inventory.reserve', 'retries-exhausted', 2, 0],
      ['inventory.reserve', 'schema-invalid', 1, 0],
    ]);
    expect(rows[2]).toMatchObject({ oldest: '2026-12-01T10:00:05.000Z', newest: '2026-12-02T00:00:00.000Z' });
  });
});

describe('printing untrusted content', () => {
  it.each([
    ['ESC (a terminal escape sequence)', 'a\u001b[31mred', 'a\\x1b[31mred'],
    ['C1 CSI', 'a\u009b2J', 'a\\x9b2J'],
    ['DEL and NUL', 'a\u007f\u0000', 'a\\x7f\\x00'],
    ['a bidi override', 'user\u202etxt.exe', 'user\\u202etxt.exe'],
    ['a line break (a forged output line)', 'ok\nreason: fake', 'ok\\nreason: fake'],
    ['carriage return', 'x\ry', 'x\\ry'],
  ])('safeLine escapes %s', (_, input, expected) => {
    expect(safeLine(input)).toBe(expected);
  });

  it('safeLine cuts at a bound and says how much more there was', () => {
    expect(safeLine('abcdef', 3)).toBe('abc… (3 more characters)');
  });

  it('formatBody pretty-prints shallow JSON with escapes intact, never raw control characters', () => {
    const { text, note } = formatBody(Buffer.from('{"a":"\\u001b[2J","b":"\u009b"}'), 1000);
    expect(note).toBeNull();
    expect(text).toContain('"a": "\\u001b[2J"');
    expect(text).toContain('\\x9b');
    // eslint-disable-next-line no-control-regex
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
  });

  it('formatBody shows deep JSON as text, non-UTF-8 with a note, and cuts at the bound', () => {
    const deep = Buffer.from('['.repeat(100) + ']'.repeat(100));
    expect(formatBody(deep, 1000).text).toBe('['.repeat(100) + ']'.repeat(100));
    const bad = formatBody(Buffer.from([0x66, 0xff, 0x1b]), 1000);
    expect(bad.note).toMatch(/not valid UTF-8/);
    expect(bad.text).toBe('f\ufffd\\x1b');
    const cut = formatBody(Buffer.from('x'.repeat(50)), 10);
    expect(cut.text).toBe('x'.repeat(10));
    expect(cut.note).toMatch(/40 more bytes/);
  });

  it('bodyJson: text when UTF-8, base64 otherwise, bounded', () => {
    expect(bodyJson(Buffer.from('{"a":1}'), 100)).toEqual({
      encoding: 'utf8',
      data: '{"a":1}',
      bytes: 7,
      truncated: false,
    });
    expect(bodyJson(Buffer.from([0xff, 0xfe]), 100)).toMatchObject({ encoding: 'base64', data: '//4=' });
    expect(bodyJson(Buffer.from('abcdef'), 2)).toMatchObject({ data: 'ab', bytes: 6, truncated: true });
  });

  it('formatEntry prints every field of the record and escapes hostile header names and values', () => {
    const stored = dead({ error: 'boom\u001b]0;pwned\u0007' }, { ...ORIGINAL, 'x-\u001bevil': 'v\u202e' });
    const text = formatEntry(readEntry(stored), { maxBodyBytes: 1000, location: 'q.dlq' });
    for (const part of ['id:', 'evt-1', 'retries-exhausted', 'corr-42', 'OrderCreated', 'q.dlq #1', '"orderId": "o-1"'])
      expect(text).toContain(part);
    expect(text).toContain('boom\\x1b]0;pwned\\x07');
    expect(text).toContain('x-\\x1bevil: v\\u202e');
    // eslint-disable-next-line no-control-regex
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
    const json = entryJson(readEntry(stored), { maxBodyBytes: 1000, location: 'q.dlq' }) as Record<string, unknown>;
    expect(json).toMatchObject({ id: 'evt-1', reason: 'retries-exhausted', correlationId: 'corr-42', attempts: 3 });
    expect(json['notReplayable']).toBeNull();
  });

  it('show says when the broker cannot replay a dead letter, and why, escaped', () => {
    const stored = { ...dead(), notReplayable: 'was stored without its body (9 bytes\u001b[2J)' };
    const text = formatEntry(readEntry(stored), { maxBodyBytes: 1000, location: 'q.dlq' });
    expect(text).toContain('not replayable: was stored without its body (9 bytes\\x1b[2J)');
    const json = entryJson(readEntry(stored), { maxBodyBytes: 1000, location: 'q.dlq' }) as Record<string, unknown>;
    expect(json['notReplayable']).toBe(stored.notReplayable);
  });
});

describe('RateLimiter', () => {
  it('spaces calls evenly: call n waits until n / rate seconds after the first', async () => {
    let clock = 1_000;
    const slept: number[] = [];
    const limiter = new RateLimiter(
      4,
      () => clock,
      async (ms) => {
        slept.push(ms);
        clock += ms;
      },
    );
    for (let i = 0; i < 5; i++) await limiter.take();
    expect(slept).toEqual([250, 250, 250, 250]);
    expect(clock).toBe(2_000);
  });

  it('does not sleep when the caller is slower than the rate, and 0 means no limit', async () => {
    let clock = 0;
    const slept: number[] = [];
    const sleep = async (ms: number): Promise<void> => void slept.push(ms);
    const slow = new RateLimiter(10, () => clock, sleep);
    for (let i = 0; i < 3; i++) {
      await slow.take();
      clock += 500;
    }
    const none = new RateLimiter(0, () => clock, sleep);
    for (let i = 0; i < 100; i++) await none.take();
    expect(slept).toEqual([]);
    expect(() => new RateLimiter(-1)).toThrow(RangeError);
  });
});

describe('progress bar', () => {
  it('renders done, total, percentage and rate', () => {
    expect(renderProgress('replay', 50, 200, 2_000, 8)).toBe('replay [##------] 50/200 25% 25/s');
  });

  it('draws on a terminal for long runs only, never on a pipe', () => {
    const writes = (isTTY: boolean, total: number): string[] => {
      const out: string[] = [];
      let clock = 0;
      const bar = new ProgressBar('replay', { isTTY, write: (t: string) => out.push(t) }, () => (clock += 200));
      bar.addTotal(total);
      for (let i = 0; i < total; i++) bar.tick();
      bar.finish();
      return out;
    };
    const tty = writes(true, 100);
    expect(tty.length).toBeGreaterThan(1);
    expect(tty.at(-2)).toContain('100/100 100%');
    expect(tty.at(-1)).toBe('\n');
    expect(writes(false, 100)).toEqual([]);
    expect(writes(true, 10)).toEqual([]);
  });
});
