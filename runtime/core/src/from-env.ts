/**
 * Picks a transport by name, for entry points that let the environment choose the broker:
 * `BROKER=memory|rabbitmq|kafka|nats` (default memory). Each broker lives in its own package,
 * imported only when chosen, so a service installs and loads only the client it uses; a missing
 * package is named in the error, with its version. The package's `brokerBinding`
 * (broker-binding.ts) is the one way in, for this and for the CLI.
 */
import type { Logger } from './api.js';
import type { BrokerBinding, TransportEnvOptions } from './broker-binding.js';
import { EventformError } from './errors.js';
import { MemoryTransport } from './memory/index.js';
import type { Transport } from './transport.js';
import { RUNTIME_VERSION } from './version.js';

/**
 * The broker packages eventform knows, by broker name: the registry of bindings. A new broker is
 * one line here (and its package).
 */
export const BROKER_PACKAGES = {
  rabbitmq: '@eventform/rabbitmq',
  kafka: '@eventform/kafka',
  nats: '@eventform/nats',
} as const satisfies Record<string, string>;

export type BrokerName = 'memory' | keyof typeof BROKER_PACKAGES;

export const BROKER_NAMES: readonly BrokerName[] = ['memory', ...(Object.keys(BROKER_PACKAGES) as BrokerName[])];

export type { TransportEnvOptions };

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

export interface TransportFromEnvOptions {
  /** @default brokerFromEnv() */
  broker?: BrokerName | undefined;
  logger?: Logger | undefined;
  /** Names this process's connections and clients on the broker. @default 'eventform' */
  clientName?: string | undefined;
  env?: NodeJS.ProcessEnv | undefined;
}

/**
 * A new, unstarted transport for `BROKER` (or `options.broker`): the memory transport, or the one
 * the broker's binding builds from its environment variables (`EVENTFORM_RABBITMQ_URL`,
 * `KAFKA_BROKERS`, `NATS_URL`; see each package's README).
 * @throws UnknownBrokerError for a name that is not a broker
 * @throws TransportPackageMissingError when the broker's package is not installed
 */
export async function createTransportFromEnv(options: TransportFromEnvOptions = {}): Promise<Transport> {
  const env = options.env ?? process.env;
  const broker = options.broker ?? brokerFromEnv(env);
  if (broker === 'memory') return new MemoryTransport();
  const binding = await loadBrokerBinding(broker);
  return binding.transportFromEnv({ env, clientName: options.clientName ?? 'eventform', logger: options.logger });
}

/**
 * The binding of a broker from its package (see {@link BROKER_PACKAGES}).
 * @throws UnknownBrokerError for a name that is not a broker
 * @throws TransportPackageMissingError when the package is not installed or exports no binding
 */
export async function loadBrokerBinding(broker: string): Promise<BrokerBinding> {
  if (!Object.hasOwn(BROKER_PACKAGES, broker)) {
    const names = Object.keys(BROKER_PACKAGES).join(', ');
    throw new UnknownBrokerError(`unknown broker "${broker}" (one of ${names})`);
  }
  const pkg = BROKER_PACKAGES[broker as keyof typeof BROKER_PACKAGES];
  let mod: { brokerBinding?: Partial<BrokerBinding> };
  try {
    mod = (await import(pkg)) as typeof mod;
  } catch (err) {
    if (isMissing(err, pkg)) {
      throw new TransportPackageMissingError(
        `BROKER=${broker} needs the package ${pkg}, which is not installed: npm install ${pkg}@${RUNTIME_VERSION}`,
        { cause: err },
      );
    }
    throw err;
  }
  const binding = mod.brokerBinding;
  if (typeof binding?.transportFromEnv !== 'function' || typeof binding.provision !== 'function') {
    throw new TransportPackageMissingError(
      `${pkg} does not export a brokerBinding: install the version that matches @eventform/runtime ${RUNTIME_VERSION}`,
    );
  }
  return binding as BrokerBinding;
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
