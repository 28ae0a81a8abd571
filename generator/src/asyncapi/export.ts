/**
 * `eventform export asyncapi`: the topology as an AsyncAPI 3.0 document, for the tools that speak
 * it (Studio, generators, catalogs).
 *
 * - One channel per event, addressed by its Kafka topic, with the AMQP binding (topic exchange,
 *   routing key) and the Kafka binding (partitions, replicas, topic configs).
 * - One message per event: the payload schema (shared schemas become `components.schemas`, their
 *   `$ref`s rewritten), the CloudEvents headers eventform sends in the event's content mode (binary:
 *   the attributes as headers; structured: one content-type header and the event as the payload,
 *   with the payload as `data`), the correlation id's location, the partition key and the
 *   topology's examples.
 * - A `send` operation per producing service and event, a `receive` operation per handler and
 *   event, with the consumer's group and queue in the bindings; retries, dead letters, idempotency
 *   and concurrency, which AsyncAPI has no field for, as `x-eventform-*` extensions.
 *
 * Pure: IR in, a plain object out (the CLI prints it as YAML or JSON).
 */
import {
  CE,
  CE_PREFIX,
  CONTENT_TYPE,
  CONTENT_TYPE_HEADER,
  STRUCTURED_CONTENT_TYPE,
  type ConsumerIR,
  type EventIR,
  type JsonSchema,
  type TopologyIR,
} from '@eventform/runtime';
import { mapSchema } from '../emit/schema-walk.js';

export const ASYNCAPI_VERSION = '3.0.0';
const AMQP_BINDING_VERSION = '0.3.0';
const KAFKA_BINDING_VERSION = '0.5.0';

type Doc = Record<string, unknown>;

export function exportAsyncApi(ir: TopologyIR): Doc {
  const schemas: Record<string, unknown> = {};
  for (const s of ir.schemas) schemas[s.name] = componentRefs(s.schema);

  const channels: Doc = {};
  const messages: Doc = {};
  for (const event of ir.events) {
    schemas[payloadName(event)] = { ...(componentRefs(event.payload) as object), 'x-eventform-payload-of': event.name };
    messages[event.name] = message(event);
    channels[event.name] = {
      address: event.kafka.topic,
      title: event.name,
      ...(event.description ? { description: event.description } : {}),
      messages: { [event.name]: { $ref: `#/components/messages/${pointer(event.name)}` } },
      bindings: {
        amqp: {
          is: 'routingKey',
          exchange: { name: event.rabbitmq.exchange, type: 'topic', durable: true, autoDelete: false, vhost: '/' },
          bindingVersion: AMQP_BINDING_VERSION,
        },
        kafka: {
          topic: event.kafka.topic,
          partitions: event.kafka.partitions,
          replicas: event.kafka.replicationFactor,
          ...(Object.keys(event.kafka.configs).length > 0 ? { topicConfiguration: topicConfiguration(event) } : {}),
          bindingVersion: KAFKA_BINDING_VERSION,
        },
      },
      'x-eventform-routing-key': event.rabbitmq.routingKey,
    };
  }

  const operations: Doc = {};
  for (const service of ir.services) {
    for (const name of service.produces) {
      const event = ir.events.find((e) => e.name === name)!;
      operations[`${service.name}.send.${name}`] = {
        action: 'send',
        title: `${service.name} publishes ${name}`,
        channel: { $ref: `#/channels/${pointer(name)}` },
        messages: [{ $ref: `#/channels/${pointer(name)}/messages/${pointer(name)}` }],
        'x-eventform-service': service.name,
        ...(event.key ? { 'x-eventform-key': event.key } : {}),
      };
    }
  }
  for (const consumer of ir.consumers) {
    for (const name of consumer.events) operations[`${consumer.id}.receive.${name}`] = receive(consumer, name);
  }

  return {
    asyncapi: ASYNCAPI_VERSION,
    info: {
      title: ir.name,
      version: String(ir.version),
      description: `Exported by eventform from ${ir.sourceFile}. Retries, dead letters, idempotency and concurrency are the x-eventform-* extensions of each receive operation.`,
    },
    defaultContentType: 'application/json',
    channels,
    operations,
    components: { schemas, messages },
  };
}

function message(event: EventIR): Doc {
  const payloadRef = { $ref: `#/components/schemas/${pointer(payloadName(event))}` };
  const structured = event.contentMode === 'structured';
  return {
    name: event.name,
    title: event.name,
    ...(event.description ? { summary: event.description } : {}),
    contentType: structured ? STRUCTURED_CONTENT_TYPE : CONTENT_TYPE,
    payload: structured ? structuredEnvelope(event, payloadRef) : payloadRef,
    headers: structured ? structuredHeaders() : binaryHeaders(event),
    correlationId: {
      location: structured
        ? `$message.payload#/${CE.correlationid}`
        : `$message.header#/${kafkaName(CE.correlationid)}`,
    },
    ...(event.examples.length > 0
      ? { examples: event.examples.map((payload, i) => ({ name: `example${i + 1}`, payload })) }
      : {}),
    bindings: {
      kafka: {
        ...(event.key ? { key: { type: 'string', description: `the payload's ${event.key}` } } : {}),
        bindingVersion: KAFKA_BINDING_VERSION,
      },
      amqp: { contentEncoding: 'utf-8', bindingVersion: AMQP_BINDING_VERSION },
    },
    'x-eventform-version': event.version,
    'x-eventform-compatibility': event.compatibility,
    'x-eventform-content-mode': event.contentMode,
  };
}

const kafkaName = (attribute: string) => `${CE_PREFIX.kafka}${attribute}`;

/** The optional attributes eventform sets, with what they mean. */
function optionalAttributes(event: EventIR): Record<string, Doc> {
  return {
    [CE.time]: { type: 'string', format: 'date-time' },
    [CE.correlationid]: { type: 'string', description: 'shared by every event of one flow' },
    [CE.causationid]: { type: 'string', description: 'the id of the event whose handling published this one' },
    [CE.traceparent]: { type: 'string', description: 'W3C trace context' },
    [CE.tracestate]: { type: 'string', description: 'W3C trace state that goes with traceparent' },
    ...(event.key ? { [CE.partitionkey]: { type: 'string', description: `the payload's ${event.key}` } } : {}),
  };
}

/** Binary mode: the payload is the body, the attributes are headers (Kafka names; AMQP: `cloudEvents_`). */
function binaryHeaders(event: EventIR): Doc {
  const properties: Doc = {
    [CONTENT_TYPE_HEADER]: { type: 'string', const: CONTENT_TYPE, description: 'datacontenttype' },
    [kafkaName(CE.id)]: { type: 'string' },
    [kafkaName(CE.source)]: { type: 'string', description: 'the producing service' },
    [kafkaName(CE.type)]: { type: 'string', const: event.name },
    [kafkaName(CE.specversion)]: { type: 'string', const: '1.0' },
  };
  for (const [name, schema] of Object.entries(optionalAttributes(event))) properties[kafkaName(name)] = schema;
  return {
    type: 'object',
    description: `CloudEvents 1.0 attributes in binary mode: ${CE_PREFIX.kafka}<attribute> headers on Kafka, ${CE_PREFIX.amqp}<attribute> application properties on AMQP; datacontenttype is the content type (the Kafka header, the AMQP property).`,
    required: [CE.id, CE.source, CE.type, CE.specversion].map(kafkaName),
    properties,
  };
}

/** Structured mode: one header. */
function structuredHeaders(): Doc {
  return {
    type: 'object',
    description:
      'CloudEvents 1.0 in structured mode: the event is the body; the content type is its only header (the AMQP content-type property).',
    properties: { [CONTENT_TYPE_HEADER]: { type: 'string', const: STRUCTURED_CONTENT_TYPE } },
  };
}

/** Structured mode: the event in the CloudEvents JSON event format, the payload as `data`. */
function structuredEnvelope(event: EventIR, payloadRef: Doc): Doc {
  return {
    type: 'object',
    description: 'A CloudEvent in the JSON event format; the payload is `data`.',
    required: [CE.specversion, CE.id, CE.source, CE.type],
    properties: {
      [CE.specversion]: { type: 'string', const: '1.0' },
      [CE.id]: { type: 'string' },
      [CE.source]: { type: 'string', description: 'the producing service' },
      [CE.type]: { type: 'string', const: event.name },
      [CE.datacontenttype]: { type: 'string', const: CONTENT_TYPE },
      ...optionalAttributes(event),
      data: payloadRef,
    },
    'x-eventform-envelope-of': event.name,
  };
}

function receive(consumer: ConsumerIR, event: string): Doc {
  const { retry, idempotency } = consumer;
  return {
    action: 'receive',
    title: `${consumer.id} handles ${event}`,
    channel: { $ref: `#/channels/${pointer(event)}` },
    messages: [{ $ref: `#/channels/${pointer(event)}/messages/${pointer(event)}` }],
    bindings: {
      amqp: { ack: true, bindingVersion: AMQP_BINDING_VERSION },
      kafka: { groupId: { type: 'string', enum: [consumer.kafka.groupId] }, bindingVersion: KAFKA_BINDING_VERSION },
    },
    'x-eventform-service': consumer.service,
    'x-eventform-handler': consumer.handler,
    'x-eventform-queue': consumer.rabbitmq.queue,
    'x-eventform-retry': {
      attempts: retry.attempts,
      backoff: retry.backoff,
      delayMs: retry.delayMs,
      maxDelayMs: retry.maxDelayMs,
      jitter: retry.jitter,
      rabbitmqQueues: consumer.rabbitmq.retryQueues.map((q) => q.name),
      kafkaTopic: consumer.kafka.retryTopic,
    },
    'x-eventform-dead-letter': consumer.deadLetter
      ? { rabbitmqQueue: consumer.rabbitmq.deadLetterQueue, kafkaTopic: consumer.kafka.deadLetterTopic }
      : false,
    'x-eventform-idempotency': idempotency.enabled
      ? { key: idempotency.key ?? 'event id', windowMs: idempotency.windowMs }
      : false,
    'x-eventform-concurrency': consumer.concurrency,
  };
}

/** The schema component of an event's payload (marked `x-eventform-payload-of`, so an import inlines it). */
function payloadName(event: EventIR): string {
  return `${event.name}Payload`;
}

function topicConfiguration(event: EventIR): Doc {
  const out: Doc = {};
  for (const [k, v] of Object.entries(event.kafka.configs)) out[k] = /^-?\d+$/.test(v) ? Number(v) : v;
  return out;
}

/**
 * `#/$defs/Name` (the IR's shared-schema refs) → `#/components/schemas/Name`. AsyncAPI schemas are
 * objects: a boolean schema becomes `{}` (true) or `{ not: {} }` (false).
 */
function componentRefs(schema: JsonSchema): unknown {
  if (schema === true) return {};
  if (schema === false) return { not: {} };
  return mapSchema(schema, (node) => {
    const ref = node['$ref'];
    if (typeof ref === 'string' && ref.startsWith('#/$defs/')) node['$ref'] = `#/components/schemas/${ref.slice(8)}`;
    return node;
  });
}

/** A JSON Pointer token. */
function pointer(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}
