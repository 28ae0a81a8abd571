/**
 * A topology given as text or as data, through the one loader: what tests, benchmarks and the
 * transport conformance suite use to get an IR, so every IR they run on is one the generator makes
 * from a `topology.yaml`.
 *
 * @example
 * const ir = topologyFromDocument({
 *   topology: 'orders',
 *   events: { OrderPlaced: { key: 'orderId', payload: { type: 'object' } } },
 *   services: { billing: { consumes: { charge: { event: 'OrderPlaced', retry: { delay: '100ms' } } } } },
 * });
 */
import type { TopologyDocument, TopologyIR } from '@eventform/runtime';
import { formatDiagnostics } from './format-diagnostics.js';
import { loadTopology, type LoadOptions } from './load-topology.js';

export interface TopologyFromDocumentOptions extends Pick<LoadOptions, 'readFile' | 'schemaRoot'> {
  /**
   * The file name diagnostics and the IR's `sourceFile` carry; external `$ref`s resolve from its folder.
   * @default '<document>.yaml'
   */
  file?: string | undefined;
}

/** The loader refused the document; `message` holds every diagnostic, formatted. */
export class TopologyDocumentError extends Error {
  override readonly name = 'TopologyDocumentError';
}

/** Loads a topology from YAML text or a document object; throws a {@link TopologyDocumentError} on any error. */
export function topologyFromDocument(
  source: string | TopologyDocument,
  options: TopologyFromDocumentOptions = {},
): TopologyIR {
  const file = options.file ?? '<document>.yaml';
  const text = typeof source === 'string' ? source : JSON.stringify(source, null, 1);
  const { ir, diagnostics } = loadTopology(file, {
    text,
    ...(options.readFile ? { readFile: options.readFile } : {}),
    ...(options.schemaRoot !== undefined ? { schemaRoot: options.schemaRoot } : {}),
  });
  if (ir) return ir;
  const errors = diagnostics.filter((d) => d.severity === 'error');
  throw new TopologyDocumentError(
    `the topology is invalid:\n${formatDiagnostics(errors, (f) => (f === file ? text : undefined))}`,
  );
}
