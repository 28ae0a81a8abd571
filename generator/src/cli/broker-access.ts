/**
 * How the commands that reach a broker (`provision`, `dlq`) find it: by name through its package's
 * `brokerBinding` (runtime/core broker-binding.ts, registered in `BROKER_PACKAGES`), addressed by
 * `--target` (or its older names `--url`, `--brokers`), with client libraries' logging kept quiet.
 * A new broker needs no change here.
 */
import type { Command } from 'commander';
import { BROKER_PACKAGES, loadBrokerBinding } from '@eventform/runtime';
import type { BrokerBinding, Logger } from '@eventform/runtime';
import { EXIT, UserError, type CliIo } from './shared.js';

/** The brokers a command can name: every registered binding. */
export const BROKER_CHOICES: readonly string[] = Object.keys(BROKER_PACKAGES);

/** Where the broker is, as the options give it. */
export interface TargetOptions {
  /** Where the broker is, in its binding's form (an AMQP URL, a server list). */
  target?: string | undefined;
  /** `--target` by its older name (RabbitMQ's AMQP URL). */
  url?: string | undefined;
  /** `--target` by its older name (Kafka's `host:port` list). */
  brokers?: string | undefined;
}

/** Adds `--target` and its older names `--url` and `--brokers`. */
export function addTargetOptions(command: Command): Command {
  return command
    .option(
      '--target <address>',
      "where the broker is, in its binding's form (default: its environment variable: EVENTFORM_RABBITMQ_URL, KAFKA_BROKERS, NATS_URL)",
    )
    .option('--url <url>', 'the same as --target (RabbitMQ: amqp://…; NATS: nats://…)')
    .option('--brokers <list>', 'the same as --target (Kafka: host:port[,host:port])');
}

/** The target the options name, or undefined: the binding then reads its environment variable. */
export function explicitTarget(o: TargetOptions): string | undefined {
  return o.target ?? o.url ?? o.brokers;
}

/**
 * The binding of a broker by name.
 * @throws UserError (usage) for an unknown broker or a package that is not installed
 */
export async function loadBinding(broker: string): Promise<BrokerBinding> {
  try {
    return await loadBrokerBinding(broker);
  } catch (err) {
    throw new UserError(err instanceof Error ? err.message : String(err), EXIT.usage);
  }
}

/**
 * Client libraries retry loudly while a broker is down; the command reports the final error
 * itself, so only warnings are shown (everything with --debug).
 */
export function cliLogger(io: CliIo, debug: boolean): Logger {
  const line = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    // A client's stack trace is for --debug; a warning stays one line of what went wrong.
    const shown = debug || !fields ? fields : Object.fromEntries(Object.entries(fields).filter(([k]) => k !== 'stack'));
    io.stderr(`${level}: ${message}${shown && Object.keys(shown).length ? ` ${JSON.stringify(shown)}` : ''}\n`);
  };
  const quiet = (): void => {};
  return {
    debug: debug ? line('debug') : quiet,
    info: debug ? line('info') : quiet,
    warn: line('warning'),
    error: debug ? line('error') : quiet,
  };
}
