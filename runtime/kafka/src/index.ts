/** The Kafka binding: transport, provisioning and the topic layout it derives from the IR. */
export { KafkaTransport, KafkaResourceConflictError, KafkaTransportStateError } from './transport.js';
export type { KafkaTransportOptions } from './transport.js';
export { provisionKafka, planTopic, KafkaProvisionError } from './provision.js';
export type { KafkaPlanAction, KafkaPlanItem, ProvisionKafkaOptions, ExistingTopic } from './provision.js';
export { kafkaResources, MIN_INSYNC_REPLICAS, DEAD_LETTER_TOPIC_CONFIGS } from './resources.js';
export type { KafkaResources, KafkaResourcesOptions, KafkaTopicDescriptor, KafkaTopicRole } from './resources.js';
export type { KafkaConsumerIR, KafkaEventIR, KafkaTopologyIR } from './ir.js';
export { KafkaPublishError } from './publisher.js';
export { KAFKA_DEFAULTS, defaultKafkaBrokers } from './defaults.js';
export type { KafkaLogLevel } from './defaults.js';
export { parseBrokers } from './client.js';
export {
  VERIFIED_KAFKAJS_VERSION,
  kafkajsFastPaths,
  recordDecoderStatus,
  recordEncoderStatus,
} from './kafkajs-internals.js';
export type { InternalsStatus, KafkajsFastPaths } from './kafkajs-internals.js';
/** @deprecated the status type of both paths is `InternalsStatus`. */
export type { InternalsStatus as RecordEncoderStatus } from './kafkajs-internals.js';
export { transportFromEnv } from './from-env.js';
export { openKafkaDeadLetters } from './dead-letters.js';
export type { KafkaDeadLettersOptions } from './dead-letters.js';
export { brokerBinding } from './binding.js';
