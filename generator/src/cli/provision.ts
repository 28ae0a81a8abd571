/**
 * `eventform provision [topology.yaml]`: make a broker match the topology — create what is
 * missing, change nothing that exists, report conflicts. The broker is reached only through its
 * package's `brokerBinding` (runtime/core broker-binding.ts), found by name in `BROKER_PACKAGES`.
 *
 * Exit codes (generator/src/cli/exit-codes.ts): 0 done or nothing to do; 1 conflicts found (nothing
 * changed) or an invalid topology; 2 usage error, unreadable file, broker package not installed;
 * 4 the broker cannot be reached or refused a change.
 */
import { Command, Option } from 'commander';
import type { ProvisionPlanItem, TopologyIR } from '@eventform/runtime';
import { BROKER_CHOICES, addTargetOptions, cliLogger, explicitTarget, loadBinding } from './broker-access.js';
import type { TargetOptions } from './broker-access.js';
import { DEFAULT_TOPOLOGY, EXIT, loadAndReport, processIo, reportUnavailable, type CliIo } from './shared.js';

export type { ProvisionPlanItem };

export interface ProvisionCliOptions extends TargetOptions {
  /** A broker name of `BROKER_PACKAGES`. */
  broker: string;
  dryRun?: boolean | undefined;
  format: 'text' | 'json';
  debug?: boolean | undefined;
}

/** Adds the `provision` command to the eventform CLI. */
export function register(program: Command): Command {
  const command = program
    .command('provision')
    .description('create the broker resources the topology needs; never changes existing ones')
    .argument('[topology]', 'topology file', DEFAULT_TOPOLOGY)
    .addOption(new Option('--broker <broker>', 'target broker').choices(BROKER_CHOICES).default('rabbitmq'));
  return addTargetOptions(command)
    .option('--dry-run', 'only show the plan; change nothing')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .option('--debug', 'print stack traces of unexpected errors')
    .action(async (file: string, options: ProvisionCliOptions, command: Command) => {
      const debug = options.debug ?? (command.optsWithGlobals() as { debug?: boolean }).debug;
      process.exitCode = await runProvision(file, { ...options, debug: debug ?? false });
    });
}

/**
 * The command's body, callable from tests; returns the exit code instead of exiting: 0 done,
 * 1 conflicts (or an invalid topology), 2 unreadable file, 4 unreachable or refusing broker.
 * @throws UserError (usage) when the broker's package is not installed
 */
export async function runProvision(file: string, options: ProvisionCliOptions, io: CliIo = processIo): Promise<number> {
  const { ir, diagnostics, exitCode } = loadAndReport(file, { format: options.format, quietWhenClean: true });
  if (!ir) {
    if (options.format === 'json')
      io.stdout(`${JSON.stringify({ error: 'invalid topology', diagnostics }, null, 2)}\n`);
    else if (exitCode !== EXIT.usage) io.stderr(`${file}: cannot provision an invalid topology\n`);
    return exitCode === EXIT.ok ? EXIT.invalid : exitCode;
  }

  const binding = await loadBinding(options.broker);
  const explicit = explicitTarget(options);
  const target = binding.describeTarget(explicit, process.env);
  const logger = cliLogger(io, options.debug ?? false);
  let plan: ProvisionPlanItem[];
  try {
    // The binding throws only when the broker cannot be reached or refused a request (its contract).
    plan = await binding.provision(ir, { target: explicit, env: process.env, dryRun: options.dryRun ?? false, logger });
  } catch (err) {
    const code = reportUnavailable(io, 'eventform provision', err, options.debug ?? false);
    const completed = (err as { completed?: unknown }).completed;
    if (Array.isArray(completed)) {
      io.stderr(
        completed.length > 0
          ? `created before the failure (left in place; run again once the cause is fixed):\n${completed.map((c) => `  ${String(c)}\n`).join('')}`
          : 'nothing was created before the failure\n',
      );
    }
    return code;
  }

  const conflicts = plan.filter((p) => p.action === 'conflict').length;
  const applied = !options.dryRun && conflicts === 0;
  if (options.format === 'json') {
    io.stdout(
      `${JSON.stringify(
        {
          broker: options.broker,
          target,
          topology: ir.name,
          dryRun: options.dryRun ?? false,
          applied,
          summary: summarize(plan),
          plan,
        },
        null,
        2,
      )}\n`,
    );
  } else {
    io.stdout(formatPlan(ir, options.broker, target, plan, { dryRun: options.dryRun ?? false, applied }));
  }
  return conflicts > 0 ? EXIT.invalid : EXIT.ok;
}

function summarize(plan: ProvisionPlanItem[]): Record<string, number> {
  const counts: Record<string, number> = { create: 0, unchanged: 0, conflict: 0 };
  for (const item of plan) counts[item.action] = (counts[item.action] ?? 0) + 1;
  return counts;
}

/** The plan as an aligned table, conflicts last so they are what the reader sees. */
export function formatPlan(
  ir: TopologyIR,
  broker: string,
  target: string,
  plan: ProvisionPlanItem[],
  state: { dryRun: boolean; applied: boolean },
): string {
  const order: Record<string, number> = { create: 0, update: 1, unchanged: 2, conflict: 3 };
  const rows = [...plan].sort((a, b) => (order[a.action] ?? 9) - (order[b.action] ?? 9));
  const width = (pick: (p: ProvisionPlanItem) => string, title: string): number =>
    Math.max(title.length, ...rows.map((r) => pick(r).length));
  const wAction = width((r) => r.action, 'ACTION');
  const wKind = width((r) => r.kind, 'KIND');
  const wName = width((r) => r.name, 'NAME');
  const line = (a: string, k: string, n: string, d: string): string =>
    `  ${a.padEnd(wAction)}  ${k.padEnd(wKind)}  ${n.padEnd(wName)}  ${d}`.trimEnd() + '\n';

  let out = `${broker} ${target} — topology ${ir.name}${state.dryRun ? ' (dry run)' : ''}\n\n`;
  out += line('ACTION', 'KIND', 'NAME', 'DETAIL');
  for (const r of rows) out += line(r.action, r.kind, r.name, r.detail);
  const s = summarize(plan);
  const parts = Object.entries(s)
    .filter(([, n]) => n > 0)
    .map(([action, n]) => `${n} ${action}`);
  out += `\n${parts.join(', ') || 'nothing to do'}`;
  if ((s.conflict ?? 0) > 0) {
    out +=
      ' — nothing was changed. Resolve each conflict (delete or rename the existing resource, or change the topology) and run again.\n';
  } else if (state.dryRun) {
    out += ' — dry run, nothing was changed.\n';
  } else {
    out += state.applied && (s.create ?? 0) > 0 ? ' — created.\n' : ' — up to date.\n';
  }
  return out;
}
