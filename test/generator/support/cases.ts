/**
 * The golden cases: the root topology (whose output IS `generated/`) and every fixture under
 * test/fixtures/generator/<name>/topology.yaml (output committed beside it in `generated/`).
 * Paths are relative to the repository root, which is vitest's working directory.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate, type GenerateResult } from '../../../generator/src/generate.js';
import { loadTopology } from '../../../generator/src/spec/index.js';
import type { TopologyIR } from '../../../runtime/core/src/ir.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const FIXTURES_DIR = 'test/fixtures/generator';

export interface GoldenCase {
  name: string;
  /** Topology file, relative to the repo root. */
  topology: string;
  /** Golden output directory, relative to the repo root. */
  out: string;
}

export function goldenCases(): GoldenCase[] {
  const fixtures = fs
    .readdirSync(path.join(REPO_ROOT, FIXTURES_DIR), { withFileTypes: true })
    .filter((d) => d.isDirectory() && fs.existsSync(path.join(REPO_ROOT, FIXTURES_DIR, d.name, 'topology.yaml')))
    .map((d) => d.name)
    .sort();
  return [
    { name: 'root', topology: 'topology.yaml', out: 'generated' },
    ...fixtures.map((name) => ({
      name,
      topology: `${FIXTURES_DIR}/${name}/topology.yaml`,
      out: `${FIXTURES_DIR}/${name}/generated`,
    })),
  ];
}

/** Load a topology that must be valid; fails with its diagnostics otherwise. */
export function loadValid(file: string, text?: string): TopologyIR {
  const { ir, diagnostics } = loadTopology(file, text === undefined ? {} : { text });
  if (!ir) {
    const errors = diagnostics.filter((d) => d.severity === 'error');
    throw new Error(
      `${file} is invalid:\n${errors.map((d) => `${d.file}:${d.line}:${d.col} ${d.code} ${d.message}`).join('\n')}`,
    );
  }
  return ir;
}

export async function generateCase(c: GoldenCase): Promise<GenerateResult> {
  return generate(loadValid(c.topology), { cwd: REPO_ROOT });
}
