/**
 * `eventform import asyncapi FILE [--out topology.yaml] [--force]`: a topology skeleton from an
 * AsyncAPI 3 document (see generator/src/asyncapi/import.ts). It never overwrites a file unless
 * told to, validates what it wrote, and lists what it could not carry over.
 */
import fs from 'node:fs';
import type { Command } from 'commander';
import { importAsyncApi } from '../asyncapi/import.js';
import { formatDiagnostics, loadTopology } from '../spec/index.js';
import { writeUserFile } from '../writer.js';
import { DEFAULT_TOPOLOGY, EXIT, exitCodeFor, readSource, useColor } from './shared.js';

export function register(program: Command): void {
  const importer = program.command('import').description('start a topology from another format');
  importer
    .command('asyncapi')
    .description('a topology skeleton from an AsyncAPI 3 document')
    .argument('<file>', 'the AsyncAPI document (YAML or JSON)')
    .option('--out <file>', 'the topology to write', DEFAULT_TOPOLOGY)
    .option('--force', 'overwrite --out when it exists')
    .action((file: string, options: { out: string; force?: boolean }) => {
      let data: Buffer;
      try {
        data = fs.readFileSync(file);
      } catch (err) {
        process.stderr.write(`error: cannot read ${file}: ${(err as Error).message}\n`);
        process.exitCode = EXIT.usage;
        return;
      }
      const result = importAsyncApi(file, data);
      const color = useColor(process.stderr);
      if (result.diagnostics.length > 0)
        process.stderr.write(formatDiagnostics(result.diagnostics, readSource, { color }));
      for (const note of result.notes) process.stderr.write(`note: ${note}\n`);
      if (result.yaml === null) {
        // A document that does not parse, or is not AsyncAPI 3: a finding, as for an invalid topology.
        const code = exitCodeFor(result.diagnostics);
        process.exitCode = code === EXIT.ok ? EXIT.invalid : code;
        return;
      }
      if (fs.existsSync(options.out) && !options.force) {
        process.stderr.write(`error: ${options.out} exists; choose another --out, or --force to overwrite it\n`);
        process.exitCode = EXIT.usage;
        return;
      }
      writeUserFile(
        options.out,
        `# Imported from ${file} by \`eventform import asyncapi\`: review it, then \`eventform generate\`.\n${result.yaml}`,
      );
      const { ir, diagnostics } = loadTopology(options.out);
      if (diagnostics.length > 0) process.stderr.write(formatDiagnostics(diagnostics, readSource, { color }));
      process.stdout.write(
        ir
          ? `${options.out}: ${ir.events.length} events, ${ir.services.length} services, ${ir.consumers.length} handlers from ${file}\n`
          : `${options.out}: written from ${file}, but it does not validate yet (above)\n`,
      );
      process.exitCode = ir ? EXIT.ok : EXIT.invalid;
    });
}
