/** The RabbitMQ binding of eventform: transport, resource layout and provisioning. */
export {
  RabbitMQTransport,
  type RabbitMQTransportOptions,
  type RabbitMQReconnectOptions,
  type RabbitMQTransportState,
  type RabbitMQTransportMetrics,
} from './transport.js';
export {
  rabbitmqResources,
  consumerQueues,
  retryTierFor,
  DEFAULT_EXCHANGE,
  type RabbitResources,
  type RabbitExchange,
  type RabbitQueue,
  type RabbitQueueRole,
  type RabbitBinding,
  type RabbitExchangeBinding,
  type RabbitArguments,
  type RabbitArgumentValue,
} from './resources.js';
export type { QueueType, RabbitConsumerIR, RabbitEventIR, RabbitPartitionsIR, RabbitTopologyIR } from './ir.js';
export { provisionRabbitmq, type ProvisionRabbitmqOptions, type PlanItem, type ProvisionPlan } from './provision.js';
export {
  BrokerUnavailableError,
  PublishNackedError,
  PublishTimeoutError,
  UnroutableMessageError,
  ResourceConflictError,
} from './errors.js';
export { KEY_HEADER } from './wire.js';
export { defaultRabbitmqUrl, nodeUrls, redactUrl, RABBITMQ_DEFAULTS } from './defaults.js';
export { transportFromEnv } from './from-env.js';
export { openRabbitmqDeadLetters, type RabbitmqDeadLettersOptions } from './dead-letters.js';
export { brokerBinding } from './binding.js';
