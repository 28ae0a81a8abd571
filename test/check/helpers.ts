/** Shared helpers for the check tests: topologies as plain objects, loaded through the real loader. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import type { TopologyIR } from '../../runtime/core/src/ir.js';
import { loadTopology } from '../../generator/src/spec/index.js';

export const FIXTURES = fileURLToPath(new URL('../fixtures/check/', import.meta.url));
export const CLI = fileURLToPath(new URL('../../generator/bin/eventform.js', import.meta.url));

/** The demo shop topology (docs' example), as a mutable object. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests edit deep paths freely
export function shop(): Record<string, any> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return parse(readFileSync(`${FIXTURES}shop.yaml`, 'utf8')) as Record<string, any>;
}

export function toYaml(doc: unknown): string {
  return stringify(doc, { lineWidth: 0 });
}

/** Loads a topology object; fails the test on loader errors. */
export function irOf(doc: unknown, file = 'topology.yaml'): TopologyIR {
  const r = loadTopology(file, { text: toYaml(doc) });
  if (!r.ir)
    throw new Error(
      `fixture does not load:\n${r.diagnostics.map((d) => `${d.line}:${d.col} ${d.code} ${d.message}`).join('\n')}`,
    );
  return r.ir;
}
