/**
 * The NATS binding's header reading and copy fitting, without a server: ambiguous runtime headers,
 * `__proto__`, and a retry or dead-letter copy made to fit `max_payload` and JetStream's 64 KiB of
 * headers. The same cases on the real server: test/hostile/wire-nats.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { EF } from '@eventform/runtime';
import {
  DL_BODY_OMITTED_HEADER,
  JETSTREAM_MAX_HEADER_BYTES,
  decodeHeaderValue,
  fitCopy,
  fromNatsHeaders,
  headerBlockBytes,
  toNatsHeaders,
} from '@eventform/nats';

function wire(entries: [string, string][]) {
  const h = natsHeaders();
  for (const [name, value] of entries) h.append(name, value);
  return h;
}

describe('fromNatsHeaders', () => {
  it.each([
    {
      entries: [
        ['ce-id', 'a'],
        ['ce-id', 'b'],
      ],
      error: 'header "ce-id" appears 2 times with different values',
    },
    {
      entries: [
        ['content-type', 'a'],
        ['content-type', 'b'],
      ],
      error: 'header "content-type" appears 2 times',
    },
    {
      entries: [
        [EF.attempt, '1'],
        [EF.attempt, '2'],
      ],
      error: 'header "ef-attempt" appears 2 times',
    },
  ] as { entries: [string, string][]; error: string }[])('refuses $entries', ({ entries, error }) => {
    expect(() => fromNatsHeaders(wire(entries))).toThrow(error);
  });

  it.each([
    {
      entries: [
        ['ce-id', 'a'],
        ['ce-id', 'a'],
      ],
      read: { id: 'a' },
    },
    {
      entries: [
        ['ce-id', 'a'],
        ['id', 'a'],
      ],
      read: { id: 'a' },
    },
    // The ce- header gives the attribute, in either order: an unprefixed one (OpenTelemetry's
    // own NATS propagation sends a plain traceparent for the current hop) does not override it.
    {
      entries: [
        ['ce-id', 'a'],
        ['id', 'b'],
      ],
      read: { id: 'a' },
    },
    {
      entries: [
        ['traceparent', 'hop'],
        ['ce-traceparent', 'created'],
      ],
      read: { traceparent: 'created' },
    },
    { entries: [['traceparent', 'hop']], read: { traceparent: 'hop' } },
    {
      entries: [
        ['x-other', 'a'],
        ['x-other', 'b'],
      ],
      read: { 'x-other': 'b' },
    },
    { entries: [['Nats-Msg-Id', 'm']], read: {} },
  ] as { entries: [string, string][]; read: Record<string, string> }[])('reads $entries', ({ entries, read }) => {
    expect(fromNatsHeaders(wire(entries))).toEqual(read);
  });

  it('reads a __proto__ header as an own header', () => {
    const read = fromNatsHeaders(wire([['__proto__', 'p']]));
    expect(Object.getPrototypeOf(read)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(read, '__proto__')?.value).toBe('p');
  });
});

describe('toNatsHeaders', () => {
  const lines = (h: ReturnType<typeof natsHeaders>) => h.toString().split('\r\n').filter(Boolean);

  it('writes each header once, in order, the key as ce-partitionkey in binary mode', () => {
    const h = toNatsHeaders({ id: 'e1', type: 'T', 'content-type': 'application/json', 'x-note': 'a b' }, 'k1');
    expect(lines(h)).toEqual([
      'NATS/1.0',
      'ce-id: e1',
      'ce-type: T',
      'content-type: application/json',
      'x-note: a%20b',
      'ce-partitionkey: k1',
    ]);
  });

  it('keeps the last of two headers that meet at one wire name, as before (a header named ce-id beside id)', () => {
    const h = toNatsHeaders({ id: 'from-attribute', 'ce-id': 'from-extra' });
    expect(h.values('ce-id')).toEqual(['from-extra']);
    expect(fromNatsHeaders(h)).toEqual({ id: 'from-extra' });
  });
});

describe('fitCopy', () => {
  // A message id whose `Nats-Msg-Id: …\r\n` line is 40 bytes.
  const overhead = 40;
  const limits = {
    maxPayload: 10_000,
    msgID: 'x'.repeat(overhead - 'Nats-Msg-Id: \r\n'.length),
    original: 'stream s, sequence 7',
  };
  const record = {
    id: 'e1',
    [EF.dlReason]: 'too-large',
    [EF.dlStack]: 's'.repeat(3_000),
    [EF.dlError]: 'e'.repeat(2_000),
  };

  it('leaves a copy that fits as it is', () => {
    const copy = fitCopy('dead-letter', new Uint8Array(100), record, undefined, limits);
    expect(copy.shed).toEqual([]);
    expect(copy.body.byteLength).toBe(100);
  });

  it('sheds the stack and error, then optional headers, then the body of a dead letter', () => {
    const headers = { ...record, 'x-big': 'b'.repeat(2_000), 'x-small': 'c' };
    const copy = fitCopy('dead-letter', new Uint8Array(9_000), headers, undefined, limits);
    expect(copy.shed).toEqual([
      EF.dlStack,
      `${EF.dlError} beyond 1000 bytes`,
      'header x-big',
      'header x-small',
      'body',
    ]);
    expect(copy.body.byteLength).toBe(0);
    expect(decodeHeaderValue(copy.headers.get(DL_BODY_OMITTED_HEADER))).toBe(
      '9000 bytes; the original is stream s, sequence 7',
    );
    expect(copy.headers.get('ce-id')).toBe('e1');
  });

  it('keeps the body of a dead letter when shedding headers is enough', () => {
    const headers = { ...record, 'x-big': 'b'.repeat(5_000) };
    const copy = fitCopy('dead-letter', new Uint8Array(4_000), headers, undefined, limits);
    expect(copy.shed).toEqual([EF.dlStack, `${EF.dlError} beyond 1000 bytes`, 'header x-big']);
    expect(copy.body.byteLength).toBe(4_000);
  });

  it('keeps only the record and the event id when the runtime headers alone exceed 64 KiB', () => {
    const headers = { ...record, source: 's'.repeat(JETSTREAM_MAX_HEADER_BYTES) };
    const copy = fitCopy('dead-letter', new Uint8Array(10), headers, undefined, { ...limits, maxPayload: 1 << 20 });
    expect(copy.headers.get('ce-source')).toBe('');
    expect(copy.headers.get(EF.dlReason)).toBe('too-large');
    expect(headerBlockBytes(copy.headers)).toBeLessThan(JETSTREAM_MAX_HEADER_BYTES);
  });

  it('throws for a retry copy that cannot fit, after shedding optional headers', () => {
    const headers = { id: 'e1', [EF.attempt]: '2', 'x-big': 'b'.repeat(100) };
    expect(() => fitCopy('retry', new Uint8Array(9_990), headers, undefined, limits)).toThrow(
      /exceeds the server's max_payload \(10000\)/,
    );
    const fits = fitCopy('retry', new Uint8Array(9_850), headers, undefined, limits);
    expect(fits.shed).toEqual(['header x-big']);
  });

  it('keeps the note on the omitted body and drops the partition key when only the record is left', () => {
    const headers = { ...record, source: 'x'.repeat(2_000), [EF.origin]: 'o'.repeat(2_000) };
    const copy = fitCopy('dead-letter', new Uint8Array(5_000), headers, 'k'.repeat(2_000), {
      ...limits,
      maxPayload: 2_500,
    });
    expect(copy.shed).toContain('every header but the dead-letter record and the event id');
    expect(copy.body.byteLength).toBe(0);
    expect(decodeHeaderValue(copy.headers.get(DL_BODY_OMITTED_HEADER))).toBe(
      '5000 bytes; the original is stream s, sequence 7',
    );
    expect(copy.headers.has('ce-partitionkey')).toBe(false);
    expect(headerBlockBytes(copy.headers) + overhead).toBeLessThanOrEqual(2_500);
  });

  it('takes 65,535 bytes of headers as the most JetStream stores', () => {
    expect(JETSTREAM_MAX_HEADER_BYTES).toBe(65_535);
    const base = fitCopy('retry', new Uint8Array(0), { id: 'e1' }, undefined, { ...limits, maxPayload: 1 << 20 });
    const room = 65_535 - overhead - headerBlockBytes(base.headers);
    // A header line is name + ': ' + value + CRLF: x-pad adds 9 bytes besides its value.
    const exact = fitCopy('retry', new Uint8Array(0), { id: 'e1', 'x-pad': 'p'.repeat(room - 9) }, undefined, {
      ...limits,
      maxPayload: 1 << 20,
    });
    expect(exact.shed).toEqual([]);
    const over = fitCopy('retry', new Uint8Array(0), { id: 'e1', 'x-pad': 'p'.repeat(room - 8) }, undefined, {
      ...limits,
      maxPayload: 1 << 20,
    });
    expect(over.shed).toEqual(['header x-pad']);
  });
});
