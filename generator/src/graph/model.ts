/**
 * The topology as a graph, the one model every `eventform graph` format draws: services and events
 * are nodes; a service produces an event (service → event), and each handler consumes events
 * (event → service, one edge per event, labelled with the handler, its retries and its
 * dead-letter destination).
 *
 * Pure: IR in, plain data out, in the IR's sorted order, so every format is deterministic.
 */
import type { ConsumerIR, RetryPolicyIR, TopologyIR } from '@eventform/runtime';
import { formatDuration } from '../spec/duration.js';

export interface GraphNode {
  /** Stable, format-safe id: `s0`, `e3`. */
  id: string;
  kind: 'service' | 'event';
  /** The topology's name for it. */
  name: string;
  description: string | null;
}

export interface ConsumerSummary {
  /** `service.handler`. */
  id: string;
  handler: string;
  /** `3 attempts, exponential from 200ms (max 5s)`, or `no retries`. */
  retry: string;
  /** The same for a diagram edge: `3× exp 200ms`, `3× fixed 1s`, `no retries`. */
  retryShort: string;
  /** Where its dead letters go, per broker; `null` with `deadLetter: false` (logged and dropped). */
  deadLetter: { rabbitmq: string | null; kafka: string | null } | null;
  idempotency: string;
  concurrency: number;
}

export interface GraphEdge {
  from: string;
  to: string;
  kind: 'produces' | 'consumes';
  /** For `consumes`: the handler that consumes along this edge. */
  consumer?: ConsumerSummary | undefined;
}

export interface TopologyGraph {
  topology: string;
  nodes: GraphNode[];
  edges: GraphEdge[];
}

export function topologyGraph(ir: TopologyIR): TopologyGraph {
  const nodes: GraphNode[] = [];
  const serviceId = new Map<string, string>();
  const eventId = new Map<string, string>();
  ir.services.forEach((s, i) => {
    serviceId.set(s.name, `s${i}`);
    nodes.push({ id: `s${i}`, kind: 'service', name: s.name, description: s.description });
  });
  ir.events.forEach((e, i) => {
    eventId.set(e.name, `e${i}`);
    nodes.push({ id: `e${i}`, kind: 'event', name: e.name, description: e.description });
  });
  const edges: GraphEdge[] = [];
  for (const s of ir.services) {
    for (const event of s.produces)
      edges.push({ from: serviceId.get(s.name)!, to: eventId.get(event)!, kind: 'produces' });
  }
  for (const c of ir.consumers) {
    const consumer = summarize(c);
    for (const event of c.events) {
      edges.push({ from: eventId.get(event)!, to: serviceId.get(c.service)!, kind: 'consumes', consumer });
    }
  }
  return { topology: ir.name, nodes, edges };
}

export function summarize(c: ConsumerIR): ConsumerSummary {
  return {
    id: c.id,
    handler: c.handler,
    retry: retryText(c.retry),
    retryShort:
      c.retry.attempts <= 1
        ? 'no retries'
        : `${c.retry.attempts}× ${c.retry.backoff === 'exponential' ? 'exp' : 'fixed'} ${formatDuration(c.retry.delayMs)}`,
    deadLetter: c.deadLetter ? { rabbitmq: c.rabbitmq.deadLetterQueue, kafka: c.kafka.deadLetterTopic } : null,
    idempotency: c.idempotency.enabled
      ? `by ${c.idempotency.key ?? 'event id'} for ${formatDuration(c.idempotency.windowMs)}`
      : 'off',
    concurrency: c.concurrency,
  };
}

function retryText(r: RetryPolicyIR): string {
  if (r.attempts <= 1) return 'no retries';
  const base = `${r.attempts} attempts, ${r.backoff} from ${formatDuration(r.delayMs)}`;
  return r.backoff === 'exponential' ? `${base} (max ${formatDuration(r.maxDelayMs)})` : base;
}

/** One line for an edge label: `reserveStock · 5 attempts, exponential from 100ms (max 5s) · DLQ`. */
export function edgeLabel(edge: GraphEdge): string {
  if (!edge.consumer) return 'produces';
  const c = edge.consumer;
  return `${c.handler} · ${c.retry} · ${c.deadLetter ? 'DLQ' : 'no DLQ'}`;
}
