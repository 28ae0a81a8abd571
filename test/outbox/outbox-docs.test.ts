/**
 * docs/outbox.md stays true: its migration SQL is what `eventform relay schema` prints, its tables of
 * defaults state the defaults in the code, its health table names every field `health()` reports,
 * and its TypeScript examples, put together as one module, type-check against the packages and the
 * shop's generated code.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import type { Pool } from 'pg';
import { OutboxRelay, POSTGRES_OUTBOX_DEFAULTS, POSTGRES_STORE_DEFAULTS, outboxSchemaSql } from '@eventform/postgres';
import type { Logger, TopologyIR, Transport } from '@eventform/runtime';
import { outboxTable } from '../../runtime/postgres/src/outbox-table.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const doc = fs.readFileSync(path.join(ROOT, 'docs/outbox.md'), 'utf8');
const blocks = (lang: string) =>
  [...doc.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!);

/** 3_600_000, as the docs write numbers. */
const written = (n: number) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, '_');

/** The cells of the table rows whose first cell is `name` (in backticks). */
function row(name: string): string[] {
  const line = doc.split('\n').find((l) => l.startsWith(`| \`${name}\` |`));
  if (!line) throw new Error(`docs/outbox.md has no table row for ${name}`);
  return line.split('|').map((c) => c.trim());
}

describe('docs/outbox.md', () => {
  it('shows the migration SQL eventform relay schema prints', () => {
    expect(blocks('sql')[0]).toBe(outboxSchemaSql());
  });

  it('states the defaults of the code', () => {
    const D = POSTGRES_OUTBOX_DEFAULTS;
    expect(row('table')[2]).toBe(`\`${POSTGRES_STORE_DEFAULTS.table}\``);
    expect(doc).toContain(`| \`table\` | \`${D.table}\` |`);
    expect(row('poolConfig')[2]).toBe(`\`{ max: ${POSTGRES_STORE_DEFAULTS.maxClients} }\``);
    expect(row('purgeIntervalMs')[2]).toContain(`\`${written(POSTGRES_STORE_DEFAULTS.purgeIntervalMs)}\``);
    expect(row('batchSize')[2]).toBe(`\`${written(D.batchSize)}\``);
    expect(row('pollIntervalMs')[2]).toBe(`\`${written(D.pollIntervalMs)}\``);
    expect(row('retentionMs')[2]).toContain(`\`${written(D.retentionMs)}\``);
    expect(doc).toContain(`| \`purgeIntervalMs\` | \`${written(D.purgeIntervalMs)}\` |`);
    expect(row('statsIntervalMs')[2]).toBe(`\`${written(D.statsIntervalMs)}\``);
    expect(row('retry')[2]).toBe(
      `\`{ initialDelayMs: ${written(D.retry.initialDelayMs)}, maxDelayMs: ${written(D.retry.maxDelayMs)} }\``,
    );
    expect(doc).toContain(`at most ${D.purgeBatch.toLocaleString('en-US')} rows per statement`);
  });

  it("names every field of the relay's health", () => {
    const noop = () => {};
    const logger: Logger = { debug: noop, info: noop, warn: noop, error: noop };
    const topology = { name: 't', events: [] } as unknown as TopologyIR;
    const relay = new OutboxRelay({} as Pool, outboxTable('eventform_outbox'), {
      topology,
      transport: {} as Transport,
      logger,
    });
    const section = doc.slice(doc.indexOf('**Health.**'), doc.indexOf('## What happens when something fails'));
    const documented = [...section.matchAll(/^\| `(\w+)` \|/gm)].map((m) => m[1]);
    // lastError is reported only while the relay is failing.
    expect(documented.sort()).toEqual([...Object.keys(relay.health()), 'lastError'].sort());
  });

  it('has TypeScript examples that type-check', () => {
    const dir = path.join(ROOT, 'test/.tmp/outbox-docs');
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'examples.ts');
    const generated = path.relative(dir, path.join(ROOT, 'generated/index.js'));
    const source = blocks('ts').join('\n').replaceAll("'./generated/index.js'", `'${generated}'`);
    fs.writeFileSync(file, source);
    const config = ts.readConfigFile(path.join(ROOT, 'tsconfig.json'), (f) => ts.sys.readFile(f));
    const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT);
    const program = ts.createProgram([file], { ...parsed.options, noEmit: true });
    const sourceFile = program.getSourceFile(file)!;
    const problems = [...program.getSyntacticDiagnostics(sourceFile), ...program.getSemanticDiagnostics(sourceFile)];
    const text = problems.map((d) => {
      const where = d.start === undefined ? '' : `line ${sourceFile.getLineAndCharacterOfPosition(d.start).line + 1}: `;
      return where + ts.flattenDiagnosticMessageText(d.messageText, '\n');
    });
    expect(text).toEqual([]);
    expect(source).toContain('ctx.tx.query'); // no cast: ctx.tx is typed
  }, 120_000);
});
