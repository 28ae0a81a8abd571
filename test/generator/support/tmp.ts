/**
 * Scratch directories under test/.tmp (inside the package, so generated code there still
 * resolves `eventform/runtime`; excluded from the repo's tsconfig). Removed by `cleanup`.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { CliIo } from '../../../generator/src/cli/shared.js';
import { REPO_ROOT } from './cases.js';

export function scratchDir(label: string): { dir: string; cleanup: () => void } {
  const dir = path.join(REPO_ROOT, 'test/.tmp', `generator-${label}-${randomBytes(4).toString('hex')}`);
  fs.mkdirSync(dir, { recursive: true });
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Captures a command's output. */
export function captureIo(): CliIo & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: (t) => void (out += t),
    stderr: (t) => void (err += t),
    out: () => out,
    err: () => err,
  };
}
