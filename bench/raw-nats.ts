/**
 * The baselines for the NATS bench: the plain `@nats-io` v3 clients with the settings the eventform
 * transport uses — a file-stored stream with one subject, a durable pull consumer with explicit
 * acks read by fetches of the same size and wait, a JetStream publish acknowledgement awaited per
 * message with the same number in flight. Each side sends its messages as `wire` says: the bare
 * payload, or eventform's own wire format (CloudEvents binary mode with `ce-` headers, or structured
 * mode), so the ratio against the same format is the framework's own cost.
 */
import { connect, headers as natsHeaders } from '@nats-io/transport-node';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { NATS_DEFAULTS } from '../runtime/nats/src/defaults.js';
import {
  JSON_CONTENT_TYPE,
  STRUCTURED_CONTENT_TYPE,
  atFixedRate,
  binaryHeaders,
  counter,
  eventAttributes,
  latencyRecorder,
  payloadOf,
  pooled,
  rawSideName,
  samplePayload,
  structuredBody,
  within,
  type LatencySide,
  type Measurement,
  type RawWire,
  type Side,
} from './support.js';

export interface RawNatsOptions {
  servers: string;
  /** Messages fetched at once (the transport's `maxInHand`). */
  batch: number;
  fetchExpiresMs: number;
  inFlight: number;
  /** @default 'bare' */
  wire?: RawWire;
}

export async function rawNatsSide(options: RawNatsOptions): Promise<Side & LatencySide & { close(): Promise<void> }> {
  const wire = options.wire ?? 'bare';
  const suffix = Math.random().toString(36).slice(2, 8);
  const stream = `bench-raw-${suffix}`;
  const subject = `bench-raw-${suffix}.OrderPlaced`;
  // The transport's client settings: no async stack trace per request (NATS_DEFAULTS.asyncTraces).
  const nc = await connect({
    servers: options.servers.split(','),
    name: 'eventform-bench-raw',
    noAsyncTraces: !NATS_DEFAULTS.asyncTraces,
  });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: stream, subjects: [subject] });
  await jsm.consumers.add(stream, { durable_name: 'consumer', ack_policy: AckPolicy.Explicit });
  const js = jetstream(nc);
  const consumer = await js.consumers.get(stream, 'consumer');

  const publishOne = async (i: number): Promise<void> => {
    const payload = samplePayload(i);
    const h = natsHeaders();
    let body: string;
    if (wire === 'bare') {
      h.set('content-type', JSON_CONTENT_TYPE);
      body = JSON.stringify(payload);
    } else {
      const a = eventAttributes(i);
      if (wire === 'binary') {
        for (const [k, v] of Object.entries(binaryHeaders('ce-', a))) h.set(k, v);
        h.set('content-type', JSON_CONTENT_TYPE);
        body = JSON.stringify(payload);
      } else {
        h.set('content-type', STRUCTURED_CONTENT_TYPE.replace(/ /g, '%20'));
        body = structuredBody(a, payload);
      }
    }
    await js.publish(subject, body, { headers: h });
  };

  const name = rawSideName('nats', wire);
  /** Fetch until `seen` is done: parse each payload (eventform's handler gets it parsed), ack it. */
  const consume = async (seen: ReturnType<typeof counter>, handled?: (orderId: string) => void) => {
    let stop = false;
    const loop = (async () => {
      while (!stop) {
        const batch = await consumer.fetch({ max_messages: options.batch, expires: options.fetchExpiresMs });
        for await (const m of batch) {
          const payload = payloadOf(m.string(), wire);
          handled?.(payload.orderId);
          m.ack();
          seen.tick();
        }
      }
    })();
    return {
      async stop() {
        stop = true;
        await loop;
      },
    };
  };
  return {
    name,
    async run(messages: number): Promise<Measurement> {
      const seen = counter(messages);
      const reader = await consume(seen);
      const started = performance.now();
      await pooled(messages, options.inFlight, publishOne);
      await within(seen.done, 60_000 + messages * 5, () => `${name} consumed ${seen.count}/${messages}`);
      const ms = performance.now() - started;
      await reader.stop();
      return { messages, ms };
    },
    async atRate(count: number, ratePerSecond: number): Promise<number[]> {
      const latency = latencyRecorder(count);
      const reader = await consume(counter(count), (orderId) => latency.handled(orderId));
      await atFixedRate(count, ratePerSecond, (i) => {
        latency.mark(i);
        return publishOne(i);
      });
      const latencies = await within(latency.done, 60_000 + count * 5, () => `${name} handled too few at a fixed rate`);
      await reader.stop();
      return latencies;
    },
    async close() {
      await jsm.streams.delete(stream).catch(() => undefined);
      await nc.close();
    },
  };
}
