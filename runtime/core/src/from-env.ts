/**
 * Picks a transport by name, for entry points that let the environment choose the broker:
 * `BROKER=memory|rabbitmq|kafka` (default memory). Each broker lives in its own package
 * (`@eventform/rabbitmq`, `@eventform/kafka`), imported only when chosen, so a service installs
 * and loads only the client it uses; a missing package is named in the error, with its version.
 */
import type { Logger } from './api.js';
import { EventformError } from './errors.js';
import { MemoryTransport } from './memory/index.js';
import type { Transport } from './transport.js';
import { RUNTIME_VERSION } from './version.js';

export type BrokerName = 'memory' | 'rabbitmq' | 'kafka';

export const BROKER_NAMES: readonly BrokerName[] = ['memory', 'rabbitmq', 'kafka'];

/** The package that holds each broker's binding. */
export const BROKER_PACKAGES: Readonly<Record<Exclude<BrokerName, 'memory'>, string>> = {
  rabbitmq: '@eventform/rabbitmq',
  kafka: '@eventform/kafka',
};

export class UnknownBrokerError extends EventformError {
  readonly code = 'EF_UNKNOWN_BROKER';
}

/** The broker's package is not installed (or cannot be loaded) next to `@eventform/runtime`. */
export class TransportPackageMissingError extends EventformError {
  readonly code = 'EF_TRANSPORT_PACKAGE_MISSING';
}

/** `BROKER` from the environment, validated. @default 'memory' */
export function brokerFromEnv(env: NodeJS.ProcessEnv = process.env): BrokerName {
  const name = (env['BROKER'] || 'memory').toLowerCase();
  if ((BROKER_NAMES as readonly string[]).includes(name)) return name as BrokerName;
  throw new UnknownBrokerError(`BROKER must be one of ${BROKER_NAMES.join(', ')} (got "${env['BROKER']}")`);
}

/** What a broker package's `transportFromEnv` receives. */
export interface TransportEnvOptions {
  env: NodeJS.ProcessEnv;
  /** Names this process's connections and clients on the broker. */
  clientName: string;
  logger?: Logger | undefined;
}

export interface TransportFromEnvOptions {
  /** @default brokerFromEnv() */
  broker?: BrokerName;
  logger?: Logger;
  /** Names this process's connections and clients on the broker. @default 'eventform' */
  clientName?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * A new, unstarted transport for `BROKER` (or `options.broker`): the memory transport, or the one
 * the broker's package builds from its environment variables (`EVENTFORM_RABBITMQ_URL`,
 * `KAFKA_BROKERS`; see each package's README).
 * @throws UnknownBrokerError for a name that is not a broker
 * @throws TransportPackageMissingError when the broker's package is not installed
 */
export async function createTransportFromEnv(options: TransportFromEnvOptions = {}): Promise<Transport> {
  const env = options.env ?? process.env;
  const broker = options.broker ?? brokerFromEnv(env);
  if (broker === 'memory') return new MemoryTransport();
  const binding = await importBinding(broker);
  return binding.transportFromEnv({ env, clientName: options.clientName ?? 'eventform', logger: options.logger });
}

interface BindingModule {
  transportFromEnv(options: TransportEnvOptions): Transport;
}

async function importBinding(broker: Exclude<BrokerName, 'memory'>): Promise<BindingModule> {
  const pkg = BROKER_PACKAGES[broker];
  let mod: Partial<BindingModule>;
  try {
    mod = (await import(pkg)) as Partial<BindingModule>;
  } catch (err) {
    if (isMissing(err, pkg)) {
      throw new TransportPackageMissingError(
        `BROKER=${broker} needs the package ${pkg}, which is not installed: npm install ${pkg}@${RUNTIME_VERSION}`,
        { cause: err },
      );
    }
    throw err;
  }
  if (typeof mod.transportFromEnv !== 'function') {
    throw new TransportPackageMissingError(
      `${pkg} does not export transportFromEnv(): install the version that matches @eventform/runtime ${RUNTIME_VERSION}`,
    );
  }
  return mod as BindingModule;
}

/**
 * Whether `err` says `pkg` itself cannot be found: not a module that `pkg` imports (a missing
 * `kafkajs` inside an installed `@eventform/kafka` must surface as what it is).
 */
function isMissing(err: unknown, pkg: string): boolean {
  const { code, message } = err as { code?: unknown; message?: unknown };
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return false;
  return (
    String(message).startsWith(`Cannot find package '${pkg}'`) ||
    String(message).startsWith(`Cannot find module '${pkg}'`)
  );
}
