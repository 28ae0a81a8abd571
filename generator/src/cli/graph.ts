/**
 * `eventform graph [topology] --format mermaid|dot|html [--out file]`: services, events, who produces
 * and who consumes what, each handler's retries and dead-letter queue. Without `--out` the text goes
 * to standard output. See generator/src/graph.
 */
import { Option, type Command } from 'commander';
import { GRAPH_FORMATS, renderGraph, type GraphFormat } from '../graph/index.js';
import { writeUserFile } from '../writer.js';
import { DEFAULT_TOPOLOGY, EXIT, loadAndReport } from './shared.js';

export function register(program: Command): void {
  program
    .command('graph')
    .description('draw the topology: services, events, producer → event → consumer, retries and dead letters')
    .argument('[topology]', 'topology file', DEFAULT_TOPOLOGY)
    .addOption(new Option('--format <format>', 'output format').choices([...GRAPH_FORMATS]).default('mermaid'))
    .option('--out <file>', 'write to this file instead of standard output')
    .action(async (file: string, options: { format: GraphFormat; out?: string }) => {
      const loaded = loadAndReport(file, { quietWhenClean: true });
      if (!loaded.ir) {
        process.exitCode = loaded.exitCode === EXIT.ok ? EXIT.invalid : loaded.exitCode;
        return;
      }
      const text = await renderGraph(loaded.ir, options.format);
      if (options.out) {
        writeUserFile(options.out, text);
        process.stderr.write(`${options.out}: ${options.format} graph of '${loaded.ir.name}'\n`);
      } else {
        process.stdout.write(text);
      }
      process.exitCode = EXIT.ok;
    });
}
