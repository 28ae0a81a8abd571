/**
 * `eventform relay`: the transactional outbox relay as a process of its own, and its table.
 *
 *   eventform relay [topology]     publish the topology's committed outbox rows until SIGINT/SIGTERM
 *   eventform relay schema         print the outbox table's migration SQL
 *   eventform relay migrate        apply it to the database
 *
 * The relay reads `DATABASE_URL` (or the PG* variables) and the broker from `BROKER` with its own
 * variables (`EVENTFORM_RABBITMQ_URL`, `KAFKA_BROKERS`), like a service's entry point; any number of
 * relays (standalone or in the services) may run at once. It needs `@eventform/postgres`.
 *
 * Exit codes (exit-codes.ts): 0 stopped by a signal, or done; 1 invalid topology; 2 usage error,
 * missing package; 4 the database or the broker cannot be reached or refused the work.
 */
import { Command, Option } from 'commander';
import type { Logger, TopologyIR, Transport } from '@eventform/runtime';
import {
  DEFAULT_TOPOLOGY,
  EXIT,
  UserError,
  loadAndReport,
  processIo,
  reportUnavailable,
  signalOnTermination,
  type CliIo,
} from './shared.js';

type PostgresPackage = typeof import('@eventform/postgres');

export interface RelayCliOptions {
  databaseUrl?: string | undefined;
  table?: string | undefined;
  broker?: 'rabbitmq' | 'kafka' | undefined;
  batchSize?: string | undefined;
  pollInterval?: string | undefined;
  retention?: string | undefined;
  statusInterval: string;
  createTable: boolean;
  /** Print the stack of a failure to connect. */
  debug?: boolean | undefined;
}

/** `--debug` given to the command or to eventform itself. */
function debugOf(options: { debug?: boolean }, command: Command): boolean {
  return options.debug ?? (command.optsWithGlobals() as { debug?: boolean }).debug ?? false;
}

/** Adds the `relay` command (and `relay schema`, `relay migrate`) to the eventform CLI. */
export function register(program: Command): Command {
  const relay = program
    .command('relay')
    .description('the transactional outbox relay: publish committed outbox rows; print or apply its table');
  relay
    .command('run [topology]', { isDefault: true })
    .description('publish the topology’s committed outbox rows until SIGINT/SIGTERM (the default)')
    .option('--database-url <url>', 'PostgreSQL connection string (default: $DATABASE_URL, else the PG* variables)')
    .option('--table <name>', 'outbox table, [schema.]name (default: eventform_outbox)')
    .addOption(new Option('--broker <broker>', 'broker (default: $BROKER)').choices(['rabbitmq', 'kafka']))
    .option('--batch-size <n>', 'rows claimed and published at once (default: 500)')
    .option('--poll-interval <ms>', 'how often to look for rows nothing announced (default: 5000)')
    .option('--retention <ms>', 'how long published rows are kept (default: 3600000)')
    .option('--status-interval <ms>', 'log pending rows, oldest age and lag this often; 0: never', '10000')
    .option('--no-create-table', 'do not create the outbox table when it is missing')
    .action(async (file: string | undefined, options: RelayCliOptions, command: Command) => {
      process.exitCode = await runRelay(file ?? DEFAULT_TOPOLOGY, { ...options, debug: debugOf(options, command) });
    });
  relay
    .command('schema')
    .description('print the migration that creates the outbox table (apply it with psql or your migration tool)')
    .option('--table <name>', 'outbox table, [schema.]name (default: eventform_outbox)')
    .action(async (options: { table?: string }) => {
      const pg = await loadPostgres();
      processIo.stdout(pg.outboxSchemaSql(checkTable(pg, options.table)));
    });
  relay
    .command('migrate')
    .description('create the outbox table and its indexes when missing (idempotent)')
    .option('--database-url <url>', 'PostgreSQL connection string (default: $DATABASE_URL, else the PG* variables)')
    .option('--table <name>', 'outbox table, [schema.]name (default: eventform_outbox)')
    .action(async (options: { databaseUrl?: string; table?: string; debug?: boolean }, command: Command) => {
      process.exitCode = await runMigrate({ ...options, debug: debugOf(options, command) });
    });
  return relay;
}

async function loadPostgres(): Promise<PostgresPackage> {
  try {
    return await import('@eventform/postgres');
  } catch (error) {
    throw new UserError(
      `eventform relay needs @eventform/postgres: npm install @eventform/postgres (${(error as Error).message})`,
      EXIT.usage,
    );
  }
}

function checkTable(pg: PostgresPackage, table: string | undefined): string {
  const name = table ?? pg.POSTGRES_OUTBOX_DEFAULTS.table;
  try {
    pg.outboxSchemaStatements(name);
  } catch (error) {
    throw new UserError(`--table: ${(error as Error).message}`, EXIT.usage);
  }
  return name;
}

function number(flag: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new UserError(`${flag} must be an integer ≥ ${min}, got "${value}"`, EXIT.usage);
  return n;
}

/**
 * The database a connection string names, without user or password, for messages: `PostgreSQL at
 * host:port/db`, or where libpq's PG* variables point when there is no string.
 */
export function describeDatabase(connectionString: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (connectionString === undefined || connectionString === '') {
    return `PostgreSQL at ${env['PGHOST'] ?? 'localhost'}:${env['PGPORT'] ?? '5432'} (PG* variables)`;
  }
  try {
    const url = new URL(connectionString);
    return `PostgreSQL at ${url.host}${url.pathname === '/' ? '' : url.pathname}`;
  } catch {
    return 'PostgreSQL (--database-url or DATABASE_URL, not a URL)';
  }
}

/** `relay migrate`, callable from tests; returns the exit code. */
export async function runMigrate(
  options: { databaseUrl?: string; table?: string; debug?: boolean },
  io: CliIo = processIo,
): Promise<number> {
  const pg = await loadPostgres();
  const table = checkTable(pg, options.table);
  const connectionString = options.databaseUrl ?? process.env['DATABASE_URL'];
  const outbox = pg.createOutbox({ connectionString, table });
  try {
    await outbox.init();
    io.stdout(`outbox table ${table} is in place\n`);
    return EXIT.ok;
  } catch (error) {
    return reportUnavailable(
      io,
      `eventform relay migrate: ${describeDatabase(connectionString)}`,
      error,
      options.debug,
    );
  } finally {
    await outbox.close();
  }
}

/**
 * `relay [run]`, callable from tests: starts the relay and resolves with the exit code once it
 * stopped (after `signal` aborts; by default SIGINT or SIGTERM).
 */
export async function runRelay(
  file: string,
  options: RelayCliOptions,
  io: CliIo = processIo,
  signal: AbortSignal = signalOnTermination(),
): Promise<number> {
  const { ir, exitCode } = loadAndReport(file, { quietWhenClean: true });
  if (!ir) {
    if (exitCode !== EXIT.usage) io.stderr(`${file}: cannot relay for an invalid topology\n`);
    return exitCode === EXIT.ok ? EXIT.invalid : exitCode;
  }
  const pg = await loadPostgres();
  const table = checkTable(pg, options.table);
  const settings = {
    batchSize: number('--batch-size', options.batchSize, 1),
    pollIntervalMs: number('--poll-interval', options.pollInterval, 1),
    retentionMs: number('--retention', options.retention, 0),
  };
  const statusMs = number('--status-interval', options.statusInterval, 0) ?? 0;
  const { brokerFromEnv, createJsonLogger, createTransportFromEnv, tracedRelayTransport } =
    await import('@eventform/runtime');
  let broker: ReturnType<typeof brokerFromEnv>;
  try {
    broker = options.broker ?? brokerFromEnv();
  } catch (error) {
    throw new UserError((error as Error).message, EXIT.usage);
  }
  if (broker === 'memory') {
    throw new UserError(
      'eventform relay publishes to a real broker: set BROKER or --broker (rabbitmq, kafka)',
      EXIT.usage,
    );
  }
  const logger = createJsonLogger({ fields: { component: 'eventform-relay', topology: ir.name } });
  let transport: Transport;
  try {
    // Unstarted: this only finds the broker's package and reads its settings.
    // With send spans, as the in-process relay has, through the global OpenTelemetry providers (an
    // SDK the process loads, e.g. with NODE_OPTIONS=--import); without one they cost nothing.
    transport = tracedRelayTransport(
      await createTransportFromEnv({ broker, logger, clientName: 'eventform-relay' }),
      ir.events,
    );
  } catch (error) {
    throw new UserError((error as Error).message, EXIT.usage);
  }
  const connectionString = options.databaseUrl ?? process.env['DATABASE_URL'];
  const outbox = pg.createOutbox({ connectionString, table, createTable: options.createTable, logger });
  // The database first, on its own, so a failure says which of the two services it was.
  try {
    await outbox.init();
  } catch (error) {
    await outbox.close();
    return reportUnavailable(io, `eventform relay: ${describeDatabase(connectionString)}`, error, options.debug);
  }
  let relay: Awaited<ReturnType<PostgresPackage['startOutboxRelay']>>;
  try {
    relay = await outbox.startRelay({ topology: ir, transport, logger }, defined(settings), () => outbox.close());
  } catch (error) {
    await outbox.close();
    await transport.close().catch(() => {});
    // The transport's own message names the broker and its address.
    return reportUnavailable(io, 'eventform relay', error, options.debug);
  }
  io.stderr(`eventform relay: publishing ${describe(ir)} from ${table} to ${broker}; SIGINT or SIGTERM stops it\n`);
  const status = statusMs > 0 ? setInterval(() => logStatus(logger, relay), statusMs) : undefined;
  await new Promise<void>((resolve) =>
    signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true }),
  );
  clearInterval(status);
  await relay.stop();
  await transport.close();
  return EXIT.ok;
}

function logStatus(logger: Logger, relay: { health(): object }): void {
  logger.info('outbox relay status', { ...relay.health() });
}

function describe(ir: TopologyIR): string {
  return `${ir.events.length} event(s) of topology ${ir.name}`;
}

function defined<T extends object>(o: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as never;
}
