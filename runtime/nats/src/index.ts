/** The NATS JetStream binding: transport, provisioning, the stream layout it derives from the IR, dead letters. */
export { NatsTransport, NatsResourceConflictError, NatsTransportStateError } from './transport.js';
export type { NatsTransportOptions } from './transport.js';
export {
  provisionNats,
  planStream,
  planConsumer,
  streamConfig,
  consumerConfig,
  NatsProvisionError,
} from './provision.js';
export type { NatsPlanAction, NatsPlanItem, ProvisionNatsOptions } from './provision.js';
export { natsResources, eventStream, eventSubject, consumerNames } from './resources.js';
export type {
  NatsConsumerDescriptor,
  NatsConsumerNames,
  NatsResources,
  NatsResourcesOptions,
  NatsStreamDescriptor,
  NatsStreamRole,
} from './resources.js';
export {
  NATS_CE_PREFIX,
  DL_BODY_OMITTED_HEADER,
  JETSTREAM_MAX_HEADER_BYTES,
  decodeHeaderValue,
  decodeNatsHeaders,
  encodeHeaderValue,
  fitCopy,
  fromNatsHeaders,
  headerBlockBytes,
  toNatsHeaders,
} from './wire.js';
export { openNatsDeadLetters } from './dead-letters.js';
export type { NatsDeadLettersOptions } from './dead-letters.js';
export { NATS_DEFAULTS, defaultNatsServers } from './defaults.js';
export { parseServers } from './client.js';
export { transportFromEnv } from './from-env.js';
export { brokerBinding } from './binding.js';
