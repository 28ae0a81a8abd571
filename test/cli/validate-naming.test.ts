/**
 * `validate` reports what `generate` would refuse: two topology names that the generator would map
 * to one identifier are an error with a location, so a topology that validates always generates.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ef-naming-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function validate(file: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(root, 'generator/bin/eventform.js'), 'validate', file],
      { cwd: dir },
      (error, _stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stderr }),
    );
  });
}

describe('validate: names the generator cannot make safe', () => {
  it('rejects `Record` beside `RecordEvent` with EF8002 at the second event', async () => {
    const file = path.join(dir, 'clash.yaml');
    fs.writeFileSync(
      file,
      'topology: clash\nversion: 1\nevents:\n  Record: { payload: { type: object } }\n  RecordEvent: { payload: { type: object } }\nservices:\n  svc: { produces: [Record, RecordEvent] }\n',
    );
    const { code, stderr } = await validate('clash.yaml');
    expect(code).toBe(1);
    expect(stderr).toMatch(
      /clash\.yaml:5:3 error EF8002 event RecordEvent and event Record .* would both be generated as `RecordEvent`/,
    );
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it('accepts `Record` alone (escaped as RecordEvent, with a warning)', async () => {
    const file = path.join(dir, 'alone.yaml');
    fs.writeFileSync(
      file,
      'topology: alone\nversion: 1\nevents:\n  Record: { payload: { type: object } }\nservices:\n  svc: { produces: [Record] }\n',
    );
    const { code, stderr } = await validate('alone.yaml');
    expect(code).toBe(0);
    expect(stderr).toContain('EF9010');
  });
});
