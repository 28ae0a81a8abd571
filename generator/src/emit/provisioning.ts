/**
 * `provisioning/rabbitmq.json`, `provisioning/kafka.json` and `provisioning/PLAN.md`: the broker
 * resources the topology needs, as data and as a plan a person can review in a pull request.
 *
 * The data comes from the transports' own pure descriptor functions (`rabbitmqResources`,
 * `kafkaResources`), so what is committed here is exactly what the transports assert at start-up
 * and what `eventform provision` creates. JSON cannot carry a comment, so the banner is the
 * `$comment` member.
 */
import type { KafkaResources } from '@eventform/kafka';
import type { RabbitResources } from '@eventform/rabbitmq';
import { formatDuration } from '../spec/duration.js';
import { escapeMarkdownCell } from '../naming.js';
import { bannerLine, type EmitContext, type GeneratedFile } from './context.js';
import { kafkaResources } from '@eventform/kafka/resources';
import { rabbitmqResources } from '@eventform/rabbitmq/resources';

export async function emitProvisioning(ctx: EmitContext): Promise<GeneratedFile[]> {
  const rabbit = rabbitmqResources(ctx.ir);
  const kafka = kafkaResources(ctx.ir);
  const comment = bannerLine(ctx);
  // Same data, keys in a reading order (name first) rather than the order objects were built in.
  // Exchange-to-exchange bindings exist only with per-key order (`rabbitmq.partitions`); left out
  // when there are none, so other topologies' files stay as they were.
  const { exchangeBindings, ...rest } = rabbit;
  const rabbitData = pick(
    {
      ...rest,
      ...(exchangeBindings.length > 0
        ? { exchangeBindings: exchangeBindings.map((b) => pick(b, ['source', 'routingKey', 'destination'])) }
        : {}),
      $comment: comment,
      exchanges: rabbit.exchanges.map((e) => pick(e, ['name', 'type', 'durable', 'arguments'])),
      queues: rabbit.queues.map((q) =>
        pick(q, ['name', 'role', 'consumer', 'queueType', 'durable', 'delayMs', 'arguments']),
      ),
      bindings: rabbit.bindings.map((b) => pick(b, ['exchange', 'routingKey', 'queue'])),
    },
    ['$comment', 'exchanges', 'queues', 'bindings', 'exchangeBindings'],
  );
  return [
    { path: 'provisioning/rabbitmq.json', contents: json(rabbitData) },
    { path: 'provisioning/kafka.json', contents: json({ $comment: comment, ...kafka }) },
    { path: 'provisioning/PLAN.md', contents: plan(ctx, rabbit, kafka) },
  ];
}

/** `record` with `order`'s keys first (when present), then any others sorted: new fields are never dropped. */
function pick<T extends object>(record: T, order: readonly string[]): Record<string, unknown> {
  const source = record as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of order) if (key in source) out[key] = source[key];
  for (const key of Object.keys(source).sort()) if (!(key in out)) out[key] = source[key];
  return out;
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

function plan(ctx: EmitContext, rabbit: RabbitResources, kafka: KafkaResources): string {
  const { ir } = ctx;
  const lines: string[] = [
    `<!-- ${bannerLine(ctx).replace(/--/g, '-\\-')} -->`,
    '',
    `# Provisioning plan: \`${ir.name}\``,
    '',
    `${ir.events.length} events, ${ir.services.length} services, ${ir.consumers.length} consumers. ` +
      'The same resources are in `rabbitmq.json` and `kafka.json`; `eventform provision` creates them.',
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
    '',
    '## RabbitMQ',
    '',
    '### Exchanges',
    '',
    ...table(
      ['exchange', 'type', 'durable', 'arguments'],
      rabbit.exchanges.map((e) => [code(e.name), e.type, String(e.durable), args(e.arguments)]),
    ),
    '',
    '### Queues',
    '',
    ...table(
      ['queue', 'role', 'consumer', 'type', 'arguments'],
      rabbit.queues.map((q) => [code(q.name), q.role, code(q.consumer), q.queueType, args(q.arguments)]),
    ),
    '',
    '### Bindings',
    '',
    ...table(
      ['exchange', 'routing key', 'queue'],
      [
        ...rabbit.bindings.map((b) => [code(b.exchange), code(b.routingKey), code(b.queue)]),
        ...rabbit.exchangeBindings.map((b) => [code(b.source), code(b.routingKey), `exchange ${code(b.destination)}`]),
      ],
    ),
    '',
    '## Kafka',
    '',
    ...table(
      ['topic', 'role', 'owner', 'partitions', 'replication', 'configs'],
      kafka.topics.map((t) => [
        code(t.name),
        t.role,
        code(t.owner),
        String(t.partitions),
        String(t.replicationFactor),
        args(t.configs),
      ]),
    ),
  ];
  if (kafka.notes.length > 0) lines.push('', ...kafka.notes.map((n) => `- ${cell(n)}`));
  return lines.join('\n') + '\n';
}
