/** `eventform validate [file]`: check a topology and print every problem at once. */
import type { Command } from 'commander';
import { Option } from 'commander';
import { DEFAULT_TOPOLOGY, EXIT, loadAndReport } from './shared.js';

export function register(program: Command): void {
  program
    .command('validate')
    .description('check a topology file and report every problem with its file:line:col')
    .argument('[file]', 'topology file', DEFAULT_TOPOLOGY)
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action((file: string, opts: { format: 'text' | 'json' }) => {
      const r = loadAndReport(file, { format: opts.format });
      const errors = r.diagnostics.filter((d) => d.severity === 'error').length;
      if (opts.format === 'json') {
        const out = {
          file,
          valid: r.ir !== null,
          errors,
          warnings: r.diagnostics.length - errors,
          diagnostics: r.diagnostics,
        };
        process.stdout.write(JSON.stringify(out, null, 2) + '\n');
      } else if (r.ir) {
        const ir = r.ir;
        process.stdout.write(
          `${file} is valid: topology '${ir.name}', ${plural(ir.events.length, 'event')}, ` +
            `${plural(ir.services.length, 'service')}, ${plural(ir.consumers.length, 'consumer')}\n`,
        );
      }
      process.exitCode = r.exitCode === EXIT.ok && r.ir === null ? EXIT.invalid : r.exitCode;
    });
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
