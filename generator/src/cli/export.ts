/**
 * `eventform export asyncapi [topology] [--out file] [--format yaml|json]`: the topology as an
 * AsyncAPI 3.0 document (see generator/src/asyncapi/export.ts). Without `--out` it goes to
 * standard output.
 */
import { Option, type Command } from 'commander';
import { stringify } from 'yaml';
import { exportAsyncApi } from '../asyncapi/export.js';
import { writeUserFile } from '../writer.js';
import { DEFAULT_TOPOLOGY, EXIT, loadAndReport } from './shared.js';

export function register(program: Command): void {
  const exporter = program.command('export').description('write the topology in another format');
  exporter
    .command('asyncapi')
    .description('an AsyncAPI 3.0 document: channels, operations, messages, AMQP and Kafka bindings')
    .argument('[topology]', 'topology file', DEFAULT_TOPOLOGY)
    .option('--out <file>', 'write to this file instead of standard output')
    .addOption(new Option('--format <format>', 'output format').choices(['yaml', 'json']).default('yaml'))
    .action((file: string, options: { out?: string; format: 'yaml' | 'json' }) => {
      const loaded = loadAndReport(file, { quietWhenClean: true });
      if (!loaded.ir) {
        process.exitCode = loaded.exitCode === EXIT.ok ? EXIT.invalid : loaded.exitCode;
        return;
      }
      const doc = exportAsyncApi(loaded.ir);
      const text = options.format === 'json' ? `${JSON.stringify(doc, null, 2)}\n` : stringify(doc, { lineWidth: 0 });
      if (options.out) {
        writeUserFile(options.out, text);
        process.stderr.write(`${options.out}: AsyncAPI 3.0 document of '${loaded.ir.name}'\n`);
      } else {
        process.stdout.write(text);
      }
      process.exitCode = EXIT.ok;
    });
}
