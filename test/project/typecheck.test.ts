/**
 * The whole project — runtime, generator, generated/, examples, benches and the tests themselves —
 * type-checks under the strict tsconfig, so a topology change that the examples have not followed
 * up fails `npm test`, not just the editor.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('tsc --noEmit -p .', () => {
  it('reports no errors', async () => {
    const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
    const result = await new Promise<{ code: number | null; out: string }>((resolve) => {
      execFile(
        process.execPath,
        [tsc, '--noEmit', '-p', '.'],
        { cwd: root, timeout: 300_000, maxBuffer: 16 << 20 },
        (error, stdout, stderr) =>
          resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
      );
    });
    expect(result.out).toBe('');
    expect(result.code).toBe(0);
  }, 300_000);
});
