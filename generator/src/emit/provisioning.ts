/**
 * `provisioning/<broker>.json` (one file a broker package in `BROKER_PACKAGES`) and
 * `provisioning/PLAN.md`: the broker resources the topology needs, as data and as a plan a person
 * can review in a pull request.
 *
 * Each broker package writes its own file and plan section from its pure resource functions
 * (`provisioningDocument` of its `/resources` entry point; `ProvisioningDocument`, runtime/core),
 * so what is committed here is exactly what the transports assert at start-up and what
 * `eventform provision` creates. JSON cannot carry a comment, so the banner is the `$comment` member.
 */
import { BROKER_PACKAGES } from '@eventform/runtime';
import type { PlanMarkdown, ProvisioningDocument, ProvisioningDocumentFn, TopologyIR } from '@eventform/runtime';
import { formatDuration } from '../spec/duration.js';
import { escapeMarkdownCell } from '../naming.js';
import { bannerLine, type EmitContext, type GeneratedFile } from './context.js';

export async function emitProvisioning(ctx: EmitContext): Promise<GeneratedFile[]> {
  const comment = bannerLine(ctx);
  const documents = await brokerDocuments(ctx.ir);
  return [
    ...documents.map((d) => ({
      path: `provisioning/${d.file}`,
      contents: json({ $comment: comment, ...d.data }),
    })),
    { path: 'provisioning/PLAN.md', contents: plan(ctx, documents) },
  ];
}

/**
 * Each broker package's document, in `BROKER_PACKAGES` order, from its `/resources` entry point
 * (pure: no client is loaded). The packages are the CLI's dependencies.
 */
async function brokerDocuments(ir: TopologyIR): Promise<ProvisioningDocument[]> {
  const documents: ProvisioningDocument[] = [];
  for (const [broker, pkg] of Object.entries(BROKER_PACKAGES)) {
    const module = (await import(`${pkg}/resources`)) as { provisioningDocument?: ProvisioningDocumentFn };
    if (typeof module.provisioningDocument !== 'function') {
      throw new Error(
        `${pkg}/resources exports no provisioningDocument: ${broker}'s provisioning file cannot be written`,
      );
    }
    documents.push(module.provisioningDocument(ir, MARKDOWN));
  }
  return documents;
}

function json(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}

const cell = (value: unknown): string => escapeMarkdownCell(String(value));
const code = (value: string): string => (value === '' ? '(default exchange)' : `\`${value.replace(/`/g, "'")}\``);

function table(header: string[], rows: string[][]): string[] {
  if (rows.length === 0) return ['(none)'];
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
}

function args(record: Record<string, string | number | boolean>): string {
  const entries = Object.entries(record);
  return entries.length === 0 ? '' : entries.map(([k, v]) => `\`${k}=${String(v).replace(/`/g, "'")}\``).join(' ');
}

const MARKDOWN: PlanMarkdown = { table, code, cell, args };

function plan(ctx: EmitContext, documents: ProvisioningDocument[]): string {
  const { ir } = ctx;
  const files = documents.map((d) => `\`${d.file}\``);
  const lines: string[] = [
    `<!-- ${bannerLine(ctx).replace(/--/g, '-\\-')} -->`,
    '',
    `# Provisioning plan: \`${ir.name}\``,
    '',
    `${ir.events.length} events, ${ir.services.length} services, ${ir.consumers.length} consumers. ` +
      `The same resources are in ${files.slice(0, -1).join(', ')} and ${files.at(-1)}; \`eventform provision\` creates them.`,
    '',
    '## Consumers',
    '',
    ...table(
      ['consumer', 'events', 'attempts', 'delays', 'dead letter', 'idempotency', 'concurrency'],
      ir.consumers.map((c) => [
        code(c.id),
        c.events.map(cell).join(', '),
        cell(c.retry.attempts),
        c.retry.delaysMs.length === 0 ? '-' : c.retry.delaysMs.map(formatDuration).join(', '),
        c.deadLetter ? 'yes' : '**off**',
        c.idempotency.enabled
          ? `${c.idempotency.key ? code(c.idempotency.key) : 'event id'}, ${formatDuration(c.idempotency.windowMs)}`
          : 'off',
        cell(c.concurrency),
      ]),
    ),
  ];
  for (const d of documents) lines.push('', ...d.plan);
  return lines.join('\n') + '\n';
}
