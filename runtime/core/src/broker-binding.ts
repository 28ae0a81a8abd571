/**
 * The broker-binding interface: what a broker package (`@eventform/rabbitmq`, `@eventform/kafka`,
 * `@eventform/nats`, or one outside this repository) hands eventform, so the CLI and
 * `createTransportFromEnv` reach a broker only through it. A package exports one value named
 * `brokerBinding`; the packages eventform knows are listed, one registration line each, in
 * `BROKER_PACKAGES` (from-env.ts).
 *
 * Everything broker-specific lives behind it: how the broker is addressed (a URL, a server list)
 * and its environment variable, its resource naming and layout (`resources`), its provisioning plan
 * (`provision`: the same create / unchanged / update / conflict lines on every broker), the
 * transport (`transportFromEnv`) and, optionally, its dead letters (`openDeadLetters`). What the
 * generator needs at generate time comes from the package's `/resources` entry point instead, so no
 * client is loaded: `provisioningDocument` (provisioning-document.ts) and `topologySection`, the
 * broker's section of topology.yaml (topology-section.ts).
 */
import type { Logger } from './api.js';
import type { DeadLetterStore } from './dead-letter-store.js';
import type { TopologyIR } from './ir.js';
import type { Transport } from './transport.js';

/** What a broker package's `transportFromEnv` receives. */
export interface TransportEnvOptions {
  env: NodeJS.ProcessEnv;
  /** Names this process's connections and clients on the broker. */
  clientName: string;
  logger?: Logger | undefined;
}

/** What provisioning decided (or did) for one resource. */
export type ProvisionAction = 'create' | 'unchanged' | 'update' | 'conflict';

/** A plan line, as every broker's provisioner returns it. */
export interface ProvisionPlanItem {
  /** `exchange`, `queue`, `topic`, `stream`, `consumer`, ... */
  kind: string;
  name: string;
  action: ProvisionAction;
  /** What was (or, in a dry run, would be) done, or why it conflicts. */
  detail: string;
}

export interface BindingProvisionOptions {
  /** Where the broker is, in the binding's own form; absent: from `env`, else the binding's default. */
  target?: string | undefined;
  env: NodeJS.ProcessEnv;
  /** Compute and return the plan without changing anything. @default false */
  dryRun?: boolean | undefined;
  logger?: Logger | undefined;
}

/** What a binding's `openDeadLetters` receives. */
export interface BindingConnectOptions {
  /** Where the broker is, in the binding's own form; absent: from `env`, else the binding's default. */
  target?: string | undefined;
  env: NodeJS.ProcessEnv;
  logger?: Logger | undefined;
}

/** One broker resource a topology needs, as a row anyone can print. */
export interface BrokerResource {
  kind: string;
  name: string;
  /** Why it exists: `event`, `retry`, `dead-letter`, ... */
  role: string;
  /** The event name or the consumer id it belongs to. */
  owner: string;
}

export interface BrokerBinding {
  /** What `BROKER=` and `--broker` say: `rabbitmq`, `kafka`, `nats`. */
  readonly name: string;
  /** The package that exports this binding. */
  readonly packageName: string;
  /** How a person names the broker, e.g. `NATS JetStream`. */
  readonly title: string;
  /** How the broker is addressed, for help texts: what the target is, its variable and default. */
  readonly target: { readonly description: string; readonly envVar: string; readonly default: string };
  /** The target from an explicit value, else the environment, else the default; secrets redacted (for output). */
  describeTarget(target: string | undefined, env: NodeJS.ProcessEnv): string;
  /** A new, unstarted transport configured from environment variables. */
  transportFromEnv(options: TransportEnvOptions): Transport;
  /**
   * Make the broker match the topology: create what is missing, change in place only what the
   * broker allows, report conflicts and then change nothing at all.
   * @throws when the broker cannot be reached (or refused a request part-way: `ProvisioningIncompleteError`)
   */
  provision(ir: TopologyIR, options: BindingProvisionOptions): Promise<ProvisionPlanItem[]>;
  /** Every resource the topology needs on this broker, sorted; pure. */
  resources(ir: TopologyIR): BrokerResource[];
  /**
   * Connects and gives access to the dead letters of the topology's consumers (`eventform dlq`);
   * absent on a binding that keeps none the CLI can reach.
   * @throws when the broker cannot be reached
   */
  openDeadLetters?(ir: TopologyIR, options: BindingConnectOptions): Promise<DeadLetterStore>;
}
