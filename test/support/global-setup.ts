/**
 * vitest globalSetup: start Kafka once for the whole run (so test files do not race to boot it)
 * and check that RabbitMQ, PostgreSQL and NATS answer. With `CI=true` anything missing fails the run
 * before a single test starts; locally it is reported and the affected tests skip visibly.
 *
 * Wire it in vitest.config.ts: `test: { globalSetup: ['test/support/global-setup.ts'] }`.
 */
import { requireNats, requirePostgres, requireRabbitmq } from './brokers.js';
import { requireKafka } from './kafka.js';

interface ProvideContext {
  provide?: (key: string, value: unknown) => void;
}

export async function setup(context?: ProvideContext): Promise<void> {
  const [kafka] = await Promise.all([requireKafka(), requireRabbitmq(), requirePostgres(), requireNats()]);
  if (kafka.available) {
    // Worker processes are forked after this and inherit the environment.
    process.env.KAFKA_BROKERS = kafka.brokers;
    context?.provide?.('kafkaBrokers', kafka.brokers);
  } else {
    // Tell the test files not to try again (a failed start can take minutes).
    process.env.EVENTFORM_KAFKA_UNAVAILABLE = kafka.reason;
  }
}

/** The broker is left running on purpose: the next run reuses it. */
export function teardown(): void {}
