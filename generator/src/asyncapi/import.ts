/**
 * `eventform import asyncapi FILE`: a topology skeleton from an AsyncAPI 3 document.
 *
 * - Each message a channel carries becomes an event: its payload schema (component schemas it
 *   refers to become the topology's shared `schemas`), its examples, and its key when the Kafka
 *   message binding or an `x-eventform-key` names one.
 * - A `send` operation makes its service produce the channel's events; a `receive` operation
 *   becomes a handler of its service. The service is `x-eventform-service` when present (documents
 *   eventform exported), else the part of the operation id before the first dot, else the
 *   document's title; the handler is `x-eventform-handler`, else the operation id in camelCase.
 *   Retries, dead letters, idempotency and concurrency come back from the `x-eventform-*`
 *   extensions; anything else takes the topology's defaults.
 *
 * The document is read with the topology loader's own bounded YAML reader (size, depth, aliases).
 * Pure apart from that: the result is YAML text for the user to review, plus notes on what could
 * not be carried over.
 */
import { stringify } from 'yaml';
import { DiagnosticSink } from '../spec/diagnostics.js';
import { decodeSource, parseYamlTree, toPlain } from '../spec/yaml-tree.js';
import { formatDuration } from '../spec/duration.js';
import type { Diagnostic } from '../spec/diagnostics.js';

type Obj = Record<string, unknown>;

export interface ImportResult {
  /** The topology as YAML, or null when the document could not be read. */
  yaml: string | null;
  notes: string[];
  diagnostics: Diagnostic[];
}

export function importAsyncApi(file: string, data: Uint8Array): ImportResult {
  const sink = new DiagnosticSink();
  const text = decodeSource(file, data, sink);
  const tree = text === undefined ? null : parseYamlTree(file, text, sink);
  if (!tree) return { yaml: null, notes: [], diagnostics: sink.items };
  const doc = toPlain(tree);
  const notes: string[] = [];
  if (!isObj(doc) || typeof doc['asyncapi'] !== 'string' || !doc['asyncapi'].startsWith('3.')) {
    return { yaml: null, notes: [`${file} is not an AsyncAPI 3 document (no "asyncapi: 3.x")`], diagnostics: [] };
  }

  const resolve = (value: unknown): unknown => {
    let current = value;
    for (let hops = 0; isObj(current) && typeof current['$ref'] === 'string' && hops < 32; hops++) {
      const ref = current['$ref'];
      if (!ref.startsWith('#/')) {
        notes.push(`external $ref ${ref} is not followed; copy its schema into the document`);
        return undefined;
      }
      current = ref
        .slice(2)
        .split('/')
        .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'))
        .reduce<unknown>((node, token) => (isObj(node) && Object.hasOwn(node, token) ? node[token] : undefined), doc);
    }
    return current;
  };

  const info = isObj(doc['info']) ? doc['info'] : {};
  const title = typeof info['title'] === 'string' ? info['title'] : 'imported';
  const components = isObj(doc['components']) ? doc['components'] : {};
  const componentSchemas = isObj(components['schemas']) ? components['schemas'] : {};
  const usedSchemas = new Set<string>();

  // Events: every message of every channel.
  const events: Obj = {};
  const channelEvents = new Map<string, string[]>();
  for (const [channelId, rawChannel] of entries(doc['channels'])) {
    const channel = resolve(rawChannel);
    if (!isObj(channel)) continue;
    const names: string[] = [];
    for (const [messageId, rawMessage] of entries(channel['messages'])) {
      const msg = resolve(rawMessage);
      if (!isObj(msg)) continue;
      const name = pascal(typeof msg['name'] === 'string' ? msg['name'] : messageId);
      names.push(name);
      if (events[name]) continue;
      const structured = isStructured(msg);
      const body = structured ? dataOf(msg['payload'], componentSchemas) : msg['payload'];
      const payload = schemaOf(payloadSchema(body, componentSchemas), componentSchemas, usedSchemas, notes);
      const event: Obj = {};
      const description = msg['summary'] ?? msg['description'] ?? channel['description'];
      if (typeof description === 'string') event['description'] = description;
      const key = keyOf(msg);
      if (key) event['key'] = key;
      event['payload'] = payload ?? { type: 'object' };
      if (payload === undefined) notes.push(`${name}: no payload schema; an empty object schema stands in`);
      const examples = Array.isArray(msg['examples'])
        ? msg['examples'].filter(isObj).flatMap((e) => (e['payload'] !== undefined ? [e['payload']] : []))
        : [];
      if (examples.length > 0) event['examples'] = examples;
      if (structured) event['contentMode'] = 'structured';
      events[name] = event;
    }
    channelEvents.set(channelId, names);
  }

  // Services: who sends and who receives what.
  const services = new Map<string, { produces: Set<string>; consumes: Obj }>();
  const service = (name: string) => {
    let s = services.get(name);
    if (!s) services.set(name, (s = { produces: new Set(), consumes: {} }));
    return s;
  };
  for (const [operationId, rawOperation] of entries(doc['operations'])) {
    const op = resolve(rawOperation);
    if (!isObj(op)) continue;
    const channelRef = isObj(op['channel']) ? op['channel']['$ref'] : undefined;
    const channelId =
      typeof channelRef === 'string'
        ? decodeURIComponent(channelRef.replace(/^#\/channels\//, ''))
            .replace(/~1/g, '/')
            .replace(/~0/g, '~')
        : undefined;
    const carried = channelId ? (channelEvents.get(channelId) ?? []) : [];
    if (carried.length === 0) {
      notes.push(`operation ${operationId}: its channel carries no message; skipped`);
      continue;
    }
    const serviceName = kebab(
      typeof op['x-eventform-service'] === 'string'
        ? op['x-eventform-service']
        : operationId.includes('.')
          ? operationId.slice(0, operationId.indexOf('.'))
          : title,
    );
    if (op['action'] === 'send') {
      for (const e of carried) service(serviceName).produces.add(e);
    } else if (op['action'] === 'receive') {
      const handler = camel(typeof op['x-eventform-handler'] === 'string' ? op['x-eventform-handler'] : operationId);
      const existing = service(serviceName).consumes[handler] as Obj | undefined;
      if (existing) {
        const list = Array.isArray(existing['event']) ? existing['event'] : [existing['event']];
        existing['event'] = [...new Set([...list, ...carried])].sort();
      } else {
        service(serviceName).consumes[handler] = {
          event: carried.length === 1 ? carried[0] : carried,
          ...policies(op),
        };
      }
    }
  }

  // Shared schemas: every component a kept schema refers to, transitively.
  const schemas: Obj = {};
  for (let added = true; added;) {
    added = false;
    for (const name of [...usedSchemas].sort()) {
      if (Object.hasOwn(schemas, pascal(name))) continue;
      const schema = schemaOf(componentSchemas[name], componentSchemas, usedSchemas, notes);
      if (schema !== undefined) schemas[pascal(name)] = schema;
      added = true;
    }
  }
  const sortedSchemas = Object.fromEntries(Object.entries(schemas).sort(([a], [b]) => (a < b ? -1 : 1)));

  const topology: Obj = { topology: kebab(title), version: 1 };
  if (typeof info['description'] === 'string') topology['description'] = info['description'];
  if (Object.keys(sortedSchemas).length > 0) topology['schemas'] = sortedSchemas;
  topology['events'] = events;
  const servicesOut: Obj = {};
  for (const [name, s] of [...services].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const out: Obj = {};
    if (s.produces.size > 0) out['produces'] = [...s.produces].sort();
    if (Object.keys(s.consumes).length > 0) out['consumes'] = s.consumes;
    servicesOut[name] = out;
  }
  topology['services'] = servicesOut;
  return { yaml: stringify(topology, { lineWidth: 120 }), notes, diagnostics: sink.items };
}

/**
 * A message's payload: inline, or a reference to a component schema, which stays a reference to
 * that shared schema, except a component eventform exported as one event's own payload
 * (`x-eventform-payload-of`), which is inlined (one hop, so its own references stay references).
 */
function payloadSchema(payload: unknown, components: Obj): unknown {
  const ref = isObj(payload) ? payload['$ref'] : undefined;
  if (typeof ref === 'string' && ref.startsWith('#/components/schemas/')) {
    const target = components[ref.slice('#/components/schemas/'.length)];
    if (isObj(target) && typeof target['x-eventform-payload-of'] === 'string') return target;
  }
  return payload;
}

/** A payload or component schema with `#/components/schemas/X` refs rewritten to `#/schemas/X`. */
function schemaOf(value: unknown, components: Obj, used: Set<string>, notes: string[]): unknown {
  if (value === undefined) return undefined;
  if (isObj(value) && isObj(value['schema']) && typeof value['schemaFormat'] === 'string') {
    return schemaOf(value['schema'], components, used, notes); // a Multi Format Schema Object
  }
  const rewrite = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(rewrite);
    if (!isObj(node)) return node;
    const out: Obj = {};
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string' && v.startsWith('#/components/schemas/')) {
        const name = v.slice('#/components/schemas/'.length);
        if (Object.hasOwn(components, name)) used.add(name);
        else notes.push(`$ref ${v} names no component schema`);
        Object.defineProperty(out, k, { value: `#/schemas/${pascal(name)}`, enumerable: true });
      } else if (!k.startsWith('x-')) {
        Object.defineProperty(out, k, { value: rewrite(v), enumerable: true, writable: true });
      }
    }
    return out;
  };
  return rewrite(value);
}

/**
 * A message in CloudEvents structured mode: an eventform export says so (`x-eventform-content-mode`),
 * any other document by its content type.
 */
function isStructured(msg: Obj): boolean {
  const mode = msg['x-eventform-content-mode'];
  if (mode === 'structured' || mode === 'binary') return mode === 'structured';
  return typeof msg['contentType'] === 'string' && /^application\/cloudevents\+json/i.test(msg['contentType']);
}

/** The `data` of a structured-mode message's payload (the event's own payload), when it has one. */
function dataOf(payload: unknown, components: Obj): unknown {
  const ref = isObj(payload) ? payload['$ref'] : undefined;
  const schema =
    typeof ref === 'string' && ref.startsWith('#/components/schemas/')
      ? components[ref.slice('#/components/schemas/'.length)]
      : payload;
  const properties = isObj(schema) && isObj(schema['properties']) ? schema['properties'] : undefined;
  return properties && properties['data'] !== undefined ? properties['data'] : payload;
}

function keyOf(msg: Obj): string | undefined {
  const kafka = isObj(msg['bindings']) && isObj(msg['bindings']['kafka']) ? msg['bindings']['kafka'] : undefined;
  const description = kafka && isObj(kafka['key']) ? kafka['key']['description'] : undefined;
  const match = typeof description === 'string' ? /the payload's (\w+)/.exec(description) : null;
  return match?.[1];
}

/** The consumer policies an eventform export carries as extensions. */
function policies(op: Obj): Obj {
  const out: Obj = {};
  const retry = op['x-eventform-retry'];
  if (isObj(retry) && typeof retry['attempts'] === 'number') {
    const r: Obj = { attempts: retry['attempts'] };
    if (retry['backoff'] === 'fixed' || retry['backoff'] === 'exponential') r['backoff'] = retry['backoff'];
    if (typeof retry['delayMs'] === 'number') r['delay'] = formatDuration(retry['delayMs']);
    if (typeof retry['maxDelayMs'] === 'number' && retry['backoff'] === 'exponential')
      r['maxDelay'] = formatDuration(retry['maxDelayMs']);
    if (typeof retry['jitter'] === 'number' && retry['jitter'] > 0) r['jitter'] = retry['jitter'];
    out['retry'] = r;
  }
  if (op['x-eventform-dead-letter'] === false) out['deadLetter'] = false;
  const idem = op['x-eventform-idempotency'];
  if (idem === false) out['idempotency'] = false;
  else if (isObj(idem)) {
    const i: Obj = {};
    if (typeof idem['key'] === 'string' && idem['key'] !== 'event id') i['key'] = idem['key'];
    if (typeof idem['windowMs'] === 'number') i['window'] = formatDuration(idem['windowMs']);
    if (Object.keys(i).length > 0) out['idempotency'] = i;
  }
  if (typeof op['x-eventform-concurrency'] === 'number' && op['x-eventform-concurrency'] !== 1) {
    out['concurrency'] = op['x-eventform-concurrency'];
  }
  return out;
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function entries(v: unknown): [string, unknown][] {
  return isObj(v) ? Object.entries(v) : [];
}

function words(s: string): string[] {
  return s
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w.toLowerCase());
}

function pascal(s: string): string {
  const out = words(s)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('');
  return /^[A-Z]/.test(out) ? out : `E${out}`;
}

function camel(s: string): string {
  const p = pascal(s);
  return p[0]!.toLowerCase() + p.slice(1);
}

function kebab(s: string): string {
  const out = words(s)
    .join('-')
    .replace(/^[^a-z]+/, '');
  return out || 'imported';
}
