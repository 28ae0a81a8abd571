/**
 * `eventform dlq list | show | replay | purge`: the dead letters of a topology's consumers on any
 * broker whose binding offers them (`openDeadLetters`): RabbitMQ, Kafka, NATS JetStream (docs/dlq.md).
 *
 *   list     counts per consumer and reason
 *   show ID  one record in full (every copy with that id)
 *   replay   send the selected dead letters back to the consumer each came from, and to no other
 *   purge    delete the selected dead letters; asks on a terminal, else needs --yes
 *
 * The broker is reached only through its package's `brokerBinding` (broker-access.ts), loaded
 * when a command runs, as `provision` does: a new broker needs no change here. Selection: `--consumer`, `--reason`, `--type`, `--id`, `--since`,
 * `--until` (dlq-records.ts holds the rules). Exit codes (exit-codes.ts): 0 done; 1 invalid
 * topology, nothing found by `show`, or dead letters that could not be replayed; 2 usage error,
 * purge refused; 4 the broker cannot be reached or failed a request.
 */
import { createInterface } from 'node:readline/promises';
import { Command, Option } from 'commander';
import type { ConsumerIR, DeadLetterReason, DeadLetterStore, Logger, TopologyIR } from '@eventform/runtime';
import { didYouMean } from '../spec/suggest.js';
import { BROKER_CHOICES, addTargetOptions, cliLogger, explicitTarget, loadBinding } from './broker-access.js';
import type { TargetOptions } from './broker-access.js';
import {
  DLQ_DEFAULTS,
  ProgressBar,
  RateLimiter,
  countRows,
  entryJson,
  filtersRecords,
  formatEntry,
  matches,
  parseReason,
  parseTime,
  readEntry,
  replayHeaders,
  safeLine,
  table,
  type DlqEntry,
  type DlqFilter,
} from './dlq-records.js';
import { DEFAULT_TOPOLOGY, EXIT, UserError, loadAndReport, processIo, reportUnavailable } from './shared.js';
import type { CliIo } from './shared.js';

export interface DlqCliOptions extends TargetOptions {
  /** A broker name of `BROKER_PACKAGES`. */
  broker?: string | undefined;
  consumer?: string[] | undefined;
  reason?: string[] | undefined;
  type?: string[] | undefined;
  id?: string[] | undefined;
  since?: string | undefined;
  until?: string | undefined;
  json?: boolean | undefined;
  debug?: boolean | undefined;
  /** show */
  maxBody?: string | undefined;
  /** replay, purge */
  dryRun?: boolean | undefined;
  /** replay */
  rate?: string | undefined;
  keep?: boolean | undefined;
  /** purge */
  yes?: boolean | undefined;
}

/** Where the command's side effects go; tests replace the clock and the question. */
export interface DlqIo extends CliIo {
  now(): Date;
  /** Whether a person can be asked (stdin and stderr are terminals). */
  interactive: boolean;
  ask(question: string): Promise<string>;
  /** Where the progress bar is drawn (only when it is a terminal). */
  progress: { isTTY?: boolean | undefined; write(text: string): unknown };
  /** Connects to the broker; by default through its binding (tests pass a store of their own). */
  openStore?:
    | ((broker: string, o: DlqCliOptions, logger: Logger) => Promise<{ store: DeadLetterStore; target: string }>)
    | undefined;
}

export const processDlqIo: DlqIo = {
  ...processIo,
  now: () => new Date(),
  interactive: process.stdin.isTTY === true && process.stderr.isTTY === true,
  ask: async (question) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    try {
      return await rl.question(question);
    } finally {
      rl.close();
    }
  },
  progress: process.stderr,
};

const collect = (value: string, previous: string[] | undefined): string[] => [
  ...(previous ?? []),
  ...value
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== ''),
];

function common(command: Command, filters: boolean): Command {
  command
    .argument('[topology]', 'topology file', DEFAULT_TOPOLOGY)
    .addOption(new Option('--broker <broker>', 'broker (default: $BROKER, else rabbitmq)').choices(BROKER_CHOICES));
  addTargetOptions(command)
    .option('--consumer <id>', 'only this consumer (service.handler); repeatable', collect)
    .option('--json', 'JSON on stdout')
    .option('--debug', 'print stack traces of unexpected errors');
  if (filters) {
    command
      .option('--reason <reason>', 'only dead letters with this reason; repeatable', collect)
      .option('--type <event>', 'only events of this type; repeatable', collect)
      .option('--id <id>', 'only this id (event id, or the sha256: id list/show print); repeatable', collect)
      .option('--since <time>', 'dead-lettered at or after: ISO 8601, or a duration ago (30m, 2h, 7d)')
      .option('--until <time>', 'dead-lettered at or before: ISO 8601, or a duration ago');
  }
  return command;
}

/** Adds `dlq list | show | replay | purge` to the eventform CLI. */
export function register(program: Command): Command {
  const dlq = program
    .command('dlq')
    .description('dead letters on RabbitMQ, Kafka or NATS JetStream: count, show, replay to their consumer, purge');
  const action =
    (run: (file: string, options: DlqCliOptions) => Promise<number>) =>
    async (file: string, options: DlqCliOptions, command: Command): Promise<void> => {
      const debug = options.debug ?? (command.optsWithGlobals() as { debug?: boolean }).debug;
      process.exitCode = await run(file, { ...options, debug: debug ?? false });
    };
  common(dlq.command('list').description('dead letters per consumer and reason'), true).action(
    action((file, o) => runDlqList(file, o)),
  );
  common(
    dlq
      .command('show')
      .description('one dead letter in full: record, headers, body (every copy with that id)')
      .argument('<id>', 'the id `dlq list --json` or the event id names'),
    false,
  )
    .option('--max-body <bytes>', `body bytes printed (default: ${DLQ_DEFAULTS.maxBodyBytes})`)
    .action(async (id: string, file: string, options: DlqCliOptions, command: Command) => {
      await action((f, o) => runDlqShow(id, f, o))(file, options, command);
    });
  common(dlq.command('replay').description('send dead letters back to the consumer each came from, only'), true)
    .option('--dry-run', 'only say what would be replayed')
    .option('--rate <n>', `messages per second at most; 0: no limit (default: ${DLQ_DEFAULTS.ratePerSecond})`)
    .option('--keep', 'leave the replayed messages in the dead-letter queue or stream (on Kafka they always stay)')
    .action(action((file, o) => runDlqReplay(file, o)));
  common(dlq.command('purge').description('delete dead letters; asks first, or takes --yes'), true)
    .option('--dry-run', 'only count what would be deleted')
    .option('--yes', 'do not ask (needed when there is no terminal to ask on)')
    .action(action((file, o) => runDlqPurge(file, o)));
  return dlq;
}

// ---- shared plumbing ---------------------------------------------------------------------------

interface Session {
  ir: TopologyIR;
  broker: string;
  target: string;
  store: DeadLetterStore;
  consumers: ConsumerIR[];
  filter: DlqFilter;
  /** Whether --consumer named them. */
  named: boolean;
}

/** Loads the topology, checks the options, connects; the caller closes `store`. */
async function open(file: string, o: DlqCliOptions, io: DlqIo, verb: string): Promise<Session | number> {
  const { ir, exitCode } = loadAndReport(file, { format: o.json ? 'json' : 'text', quietWhenClean: true });
  if (!ir) {
    if (exitCode !== EXIT.usage) io.stderr(`${file}: cannot ${verb} dead letters of an invalid topology\n`);
    return exitCode === EXIT.ok ? EXIT.invalid : exitCode;
  }
  const broker = brokerOf(o.broker);
  const filter = filterOf(o, io.now());
  const consumers = selectConsumers(ir, o.consumer ?? []);
  const logger: Logger = cliLogger(io, o.debug ?? false);
  let store: DeadLetterStore;
  let target: string;
  try {
    if (io.openStore) {
      ({ store, target } = await io.openStore(broker, o, logger));
    } else {
      const binding = await loadBinding(broker);
      if (!binding.openDeadLetters) {
        throw new UserError(
          `eventform dlq: ${binding.packageName} offers no access to the dead letters on ${binding.title}`,
          EXIT.usage,
        );
      }
      const explicit = explicitTarget(o);
      target = binding.describeTarget(explicit, process.env);
      store = await binding.openDeadLetters(ir, { target: explicit, env: process.env, logger });
    }
  } catch (error) {
    if (error instanceof UserError) throw error;
    return reportUnavailable(io, `eventform dlq ${verb}`, error, o.debug ?? false);
  }
  return { ir, broker, target, store, consumers, filter, named: (o.consumer ?? []).length > 0 };
}

function brokerOf(option: string | undefined): string {
  const broker = option ?? (process.env['BROKER'] || 'rabbitmq'); // BROKER= (empty) is unset
  if (BROKER_CHOICES.includes(broker)) return broker;
  const memory =
    broker === 'memory'
      ? '; the memory broker keeps its dead letters inside the process that ran it (docs/dlq.md), out of reach of a command'
      : '';
  throw new UserError(
    `dead letters live on a broker: --broker ${BROKER_CHOICES.join(', ')} (BROKER is "${safeLine(broker, 40)}")${memory}`,
    EXIT.usage,
  );
}

/** The filter the options describe; a usage error for a bad reason or time. */
export function filterOf(o: Partial<DlqCliOptions>, now: Date): DlqFilter {
  try {
    return {
      reasons: (o.reason ?? []).map(parseReason) as DeadLetterReason[],
      types: o.type ?? [],
      ids: o.id ?? [],
      since: o.since === undefined ? null : parseTime(o.since, now),
      until: o.until === undefined ? null : parseTime(o.until, now),
    };
  } catch (error) {
    throw new UserError(messageOf(error), EXIT.usage);
  }
}

/** The consumers with a DLQ, or those `--consumer` names; a usage error for an unknown one. */
export function selectConsumers(ir: TopologyIR, names: string[]): ConsumerIR[] {
  const withDlq = ir.consumers.filter((c) => c.deadLetter);
  if (names.length === 0) return withDlq;
  const all = ir.consumers.map((c) => c.id);
  return names.map((name) => {
    const consumer = ir.consumers.find((c) => c.id === name);
    if (!consumer) {
      const hint = didYouMean(name, all) ?? `consumers: ${all.join(', ')}`;
      throw new UserError(`topology ${ir.name} has no consumer "${safeLine(name, 100)}"; ${hint}`, EXIT.usage);
    }
    if (!consumer.deadLetter) {
      throw new UserError(`consumer ${name} has dead-lettering off (deadLetter: false): it has no DLQ`, EXIT.usage);
    }
    return consumer;
  });
}

function header(s: Session, extra = ''): string {
  return `${s.broker} ${s.target} — topology ${s.ir.name}${extra}\n`;
}

/** What a command keeps of an entry it only counts: no body. */
function light(entry: DlqEntry): DlqEntry {
  return { ...entry, stored: { ...entry.stored, body: Buffer.alloc(0) } };
}

async function withSession(
  file: string,
  o: DlqCliOptions,
  io: DlqIo,
  verb: string,
  body: (s: Session) => Promise<number>,
): Promise<number> {
  const session = await open(file, o, io, verb);
  if (typeof session === 'number') return session;
  try {
    return await body(session);
  } catch (error) {
    if (error instanceof UserError) throw error;
    // What the store throws is the broker's answer: a lost connection, a refused request.
    return reportUnavailable(io, `eventform dlq ${verb}`, error, o.debug ?? false);
  } finally {
    await session.store.close();
  }
}

// ---- list ------------------------------------------------------------------------------------

export function runDlqList(file: string, o: DlqCliOptions, io: DlqIo = processDlqIo): Promise<number> {
  return withSession(file, o, io, 'list', async (s) => {
    const entries: DlqEntry[] = [];
    const queues: { consumer: string; location: string; missing: boolean; messages: number; matched: number }[] = [];
    for (const consumer of s.consumers) {
      let matched = 0;
      const pass = await s.store.pass(consumer, (stored) => {
        const entry = readEntry(stored);
        if (matches(entry, s.filter)) {
          matched++;
          entries.push(light(entry));
        }
        return { action: 'keep' };
      });
      queues.push({
        consumer: consumer.id,
        location: pass.location,
        missing: pass.missing,
        messages: pass.read,
        matched,
      });
    }
    const rows = countRows(entries);
    if (o.json) {
      io.stdout(
        `${JSON.stringify({ broker: s.broker, target: s.target, topology: s.ir.name, counts: rows, queues, ids: entries.map((e) => ({ consumer: e.stored.consumer, id: e.id, reason: e.record?.reason ?? null, eventType: e.record?.eventType ?? null, lastFailure: e.record?.lastFailure ?? null })) }, null, 2)}\n`,
      );
      return EXIT.ok;
    }
    let out = header(s);
    if (rows.length > 0) {
      out += `\n${table(
        ['CONSUMER', 'REASON', 'COUNT', 'REPLAYED', 'OLDEST', 'NEWEST'],
        rows.map((r) => [
          safeLine(r.consumer),
          r.reason,
          String(r.count),
          String(r.replayed),
          safeLine(r.oldest ?? '-', 40),
          safeLine(r.newest ?? '-', 40),
        ]),
      )}`;
    }
    const missing = queues.filter((q) => q.missing).map((q) => q.location);
    const total = rows.reduce((n, r) => n + r.count, 0);
    out += `\n${total} dead letter${total === 1 ? '' : 's'}${filtersRecords(s.filter) ? ' selected' : ''} in ${queues.length - missing.length} dead-letter ${s.store.locationKind}(s)`;
    out += missing.length > 0 ? `; missing (run \`eventform provision\`): ${missing.join(', ')}\n` : '\n';
    if (!s.store.deletesSingle && rows.some((r) => r.count > 0)) {
      out += `A replayed message stays in its dead-letter ${s.store.locationKind} (a log) until \`eventform dlq purge\`.\n`;
    }
    io.stdout(out);
    return EXIT.ok;
  });
}

// ---- show ------------------------------------------------------------------------------------

export function runDlqShow(id: string, file: string, o: DlqCliOptions, io: DlqIo = processDlqIo): Promise<number> {
  const maxBodyBytes = positiveInt('--max-body', o.maxBody) ?? DLQ_DEFAULTS.maxBodyBytes;
  return withSession(file, o, io, 'show', async (s) => {
    const found: { entry: DlqEntry; location: string }[] = [];
    let more = 0;
    for (const consumer of s.consumers) {
      const location = s.store.location(consumer)!;
      await s.store.pass(consumer, (stored) => {
        const entry = readEntry(stored);
        if (entry.id === id || entry.record?.eventId === id) {
          if (found.length < DLQ_DEFAULTS.maxShown) found.push({ entry, location });
          else more++;
        }
        return { action: 'keep' };
      });
    }
    if (o.json) {
      io.stdout(
        `${JSON.stringify({ id, records: found.map((f) => entryJson(f.entry, { maxBodyBytes, location: f.location })), more }, null, 2)}\n`,
      );
    } else if (found.length > 0) {
      io.stdout(header(s));
      for (const f of found) io.stdout(`\n${formatEntry(f.entry, { maxBodyBytes, location: f.location })}`);
      if (found.length > 1) io.stdout(`\n${found.length} dead letters have id ${safeLine(id, 200)}\n`);
      if (more > 0) io.stdout(`${more} more not shown\n`);
    }
    if (found.length === 0) {
      io.stderr(
        `no dead letter with id ${safeLine(id, 200)} in ${s.consumers.length} dead-letter ${s.store.locationKind}(s)\n`,
      );
      return EXIT.invalid;
    }
    return EXIT.ok;
  });
}

// ---- replay ----------------------------------------------------------------------------------

interface ReplayReport {
  consumer: string;
  location: string;
  missing: boolean;
  /** Selected by the filter. */
  matched: number;
  replayed: number;
  /** Selected but not replayable: not a dead-letter record, or no path to this consumer alone. */
  skipped: number;
  why: string | null;
  /** The replayed (or, with --dry-run, the selected) ids, at most 1,000. */
  ids: string[];
}

export function runDlqReplay(file: string, o: DlqCliOptions, io: DlqIo = processDlqIo): Promise<number> {
  const rate = nonNegative('--rate', o.rate) ?? DLQ_DEFAULTS.ratePerSecond;
  return withSession(file, o, io, 'replay', async (s) => {
    const blocked = s.consumers.filter((c) => s.store.replayBlocked(c) !== null);
    if (s.named && blocked.length > 0) {
      throw new UserError(blocked.map((c) => s.store.replayBlocked(c)!).join('\n'), EXIT.usage);
    }
    const limiter = new RateLimiter(rate);
    const bar = new ProgressBar(o.dryRun ? 'replay (dry run)' : 'replay', io.progress);
    const reports: ReplayReport[] = [];
    try {
      for (const consumer of s.consumers) {
        const why = s.store.replayBlocked(consumer);
        const report: ReplayReport = {
          consumer: consumer.id,
          location: s.store.location(consumer)!,
          missing: false,
          matched: 0,
          replayed: 0,
          skipped: 0,
          why,
          ids: [],
        };
        reports.push(report);
        const pass = await s.store.pass(
          consumer,
          async (stored) => {
            bar.tick();
            const entry = readEntry(stored);
            if (!matches(entry, s.filter)) return { action: 'keep' };
            report.matched++;
            if (why !== null || entry.record === null || stored.notReplayable !== undefined) {
              report.skipped++;
              report.why ??=
                stored.notReplayable !== undefined
                  ? `a dead letter that ${stored.notReplayable}`
                  : `not a dead-letter record: ${entry.problem ?? ''}`;
              return { action: 'keep' };
            }
            if (report.ids.length < 1_000) report.ids.push(entry.id);
            if (o.dryRun) return { action: 'keep' };
            await limiter.take();
            report.replayed++;
            return { action: 'replay', headers: replayHeaders(entry.record, io.now()), keep: o.keep ?? false };
          },
          { onTotal: (n) => bar.addTotal(n) },
        );
        report.missing = pass.missing;
      }
    } finally {
      bar.finish();
    }
    const skipped = reports.reduce((n, r) => n + r.skipped, 0);
    if (o.json) {
      io.stdout(
        `${JSON.stringify({ broker: s.broker, target: s.target, topology: s.ir.name, dryRun: o.dryRun ?? false, consumers: reports }, null, 2)}\n`,
      );
    } else {
      let out = header(s, o.dryRun ? ' (dry run)' : '');
      for (const r of reports) {
        if (r.missing) out += `  ${r.consumer}: ${r.location} is missing (run \`eventform provision\`)\n`;
        else if (r.matched === 0) continue;
        else {
          out += o.dryRun
            ? `  ${r.consumer}: would replay ${r.matched - r.skipped} of ${r.location}\n`
            : `  ${r.consumer}: replayed ${r.replayed} from ${r.location}\n`;
          if (r.skipped > 0) out += `    ${r.skipped} not replayable: ${safeLine(r.why ?? '', 300)}\n`;
        }
      }
      const total = reports.reduce((n, r) => n + (o.dryRun ? r.matched - r.skipped : r.replayed), 0);
      out += `${o.dryRun ? 'would replay' : 'replayed'} ${total} dead letter${total === 1 ? '' : 's'}`;
      out += o.dryRun ? ' — dry run, nothing was changed.\n' : ' to the consumer each came from.\n';
      if (!s.store.deletesSingle && total > 0 && !o.dryRun) {
        out += `They stay in the dead-letter ${s.store.locationKind}s (a log); \`eventform dlq purge\` removes them.\n`;
      }
      io.stdout(out);
    }
    return skipped > 0 ? EXIT.invalid : EXIT.ok;
  });
}

// ---- purge -----------------------------------------------------------------------------------

export function runDlqPurge(file: string, o: DlqCliOptions, io: DlqIo = processDlqIo): Promise<number> {
  return withSession(file, o, io, 'purge', async (s) => {
    const byRecord = filtersRecords(s.filter);
    if (byRecord && !s.store.deletesSingle) {
      throw new UserError(
        `${s.store.broker} cannot delete single dead letters (a ${s.store.locationKind} is a log): purge whole dead-letter ${s.store.locationKind}s, selected with --consumer only`,
        EXIT.usage,
      );
    }
    const counts = new Map<string, number>();
    for (const consumer of s.consumers) {
      let n = 0;
      await s.store.pass(consumer, (stored) => {
        if (matches(readEntry(stored), s.filter)) n++;
        return { action: 'keep' };
      });
      counts.set(consumer.id, n);
    }
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    const which = [...counts].filter(([, n]) => n > 0);
    const summary = which.map(([id, n]) => `${id} (${n})`).join(', ');
    if (total === 0 || o.dryRun) {
      const text = total === 0 ? 'nothing to purge' : `would delete ${total} dead letter(s): ${summary} — dry run`;
      if (o.json)
        io.stdout(
          `${JSON.stringify({ broker: s.broker, target: s.target, topology: s.ir.name, dryRun: o.dryRun ?? false, deleted: 0, selected: Object.fromEntries(counts) }, null, 2)}\n`,
        );
      else io.stdout(`${header(s)}${text}\n`);
      return EXIT.ok;
    }
    if (!o.yes) {
      if (!io.interactive) {
        throw new UserError(
          `refusing to delete ${total} dead letter(s) without --yes: there is no terminal to ask on`,
          EXIT.usage,
        );
      }
      const answer = await io.ask(`Delete ${total} dead letter(s) from ${s.broker} ${s.target}: ${summary}? [y/N] `);
      if (!/^y(es)?$/i.test(answer.trim())) {
        io.stderr('not purged\n');
        return EXIT.ok;
      }
    }
    const deleted: Record<string, number> = {};
    for (const consumer of s.consumers) {
      if ((counts.get(consumer.id) ?? 0) === 0) continue;
      if (byRecord) {
        const pass = await s.store.pass(consumer, (stored) =>
          matches(readEntry(stored), s.filter) ? { action: 'delete' } : { action: 'keep' },
        );
        deleted[consumer.id] = pass.deleted;
      } else {
        deleted[consumer.id] = await s.store.truncate(consumer);
      }
    }
    const n = Object.values(deleted).reduce((a, b) => a + b, 0);
    if (o.json)
      io.stdout(
        `${JSON.stringify({ broker: s.broker, target: s.target, topology: s.ir.name, dryRun: false, deleted: n, selected: Object.fromEntries(counts), deletedPerConsumer: deleted }, null, 2)}\n`,
      );
    else
      io.stdout(
        `${header(s)}deleted ${n} dead letter(s): ${Object.entries(deleted)
          .map(([id, k]) => `${id} (${k})`)
          .join(', ')}\n`,
      );
    return EXIT.ok;
  });
}

// ---- small helpers ---------------------------------------------------------------------------

function positiveInt(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new UserError(`${flag} must be a positive integer, got "${value}"`, EXIT.usage);
  return n;
}

function nonNegative(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || value.trim() === '') {
    throw new UserError(`${flag} must be a number ≥ 0, got "${value}"`, EXIT.usage);
  }
  return n;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
