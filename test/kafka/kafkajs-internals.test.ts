/**
 * kafkajs' internals (runtime/kafka/src/kafkajs-internals.ts) are installed when the first
 * transport is constructed, once per process, and every transport says so when a path is off.
 * Each case runs in a fresh process: installation is process-wide and cannot be undone.
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { VERIFIED_KAFKAJS_VERSION } from '../../runtime/kafka/src/kafkajs-internals.js';
import { REPO_ROOT } from '../support/scripts.js';

interface Outcome {
  paths: { version: string; recordEncoder: string; recordDecoder: string };
  warnings: { message: string; fields?: { reason?: string } }[];
}

function construct(mode: 'first' | 'late', env: NodeJS.ProcessEnv = {}): Promise<Outcome> {
  const worker = path.join(REPO_ROOT, 'test/kafka/fast-paths-worker.ts');
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', worker, mode],
      { cwd: REPO_ROOT, env: { ...process.env, ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${error.message}\n${stderr}`));
        else resolve(JSON.parse(String(stdout).trim().split('\n').pop()!) as Outcome);
      },
    );
  });
}

describe("kafkajs' internals", () => {
  it('are verified for the kafkajs version the package depends on', () => {
    const require = createRequire(import.meta.url);
    expect((require('kafkajs/package.json') as { version: string }).version).toBe(VERIFIED_KAFKAJS_VERSION);
  });

  it('install both paths when the first transport is constructed, without a warning', async () => {
    const outcome = await construct('first', {
      EVENTFORM_KAFKA_RECORD_ENCODER: '',
      EVENTFORM_KAFKA_RECORD_DECODER: '',
    });
    expect(outcome.paths).toEqual({
      version: VERIFIED_KAFKAJS_VERSION,
      recordEncoder: 'installed',
      recordDecoder: 'installed',
    });
    expect(outcome.warnings).toEqual([]);
  });

  it('fall back with a visible warning when kafkajs already fetched in the process', async () => {
    const outcome = await construct('late');
    expect(outcome.paths.recordDecoder).toBe('too-late');
    expect(outcome.paths.recordEncoder).toBe('installed');
    expect(outcome.warnings).toEqual([
      {
        message: expect.stringMatching(/^kafka record decoder off/),
        fields: { reason: expect.stringMatching(/before the first KafkaTransport was constructed/) },
      },
    ]);
  });

  it('are turned off by the environment, with a warning', async () => {
    const outcome = await construct('first', {
      EVENTFORM_KAFKA_RECORD_ENCODER: 'kafkajs',
      EVENTFORM_KAFKA_RECORD_DECODER: 'kafkajs',
    });
    expect(outcome.paths).toMatchObject({ recordEncoder: 'disabled', recordDecoder: 'disabled' });
    expect(outcome.warnings.map((w) => w.fields?.reason)).toEqual([
      'turned off by EVENTFORM_KAFKA_RECORD_ENCODER=kafkajs',
      'turned off by EVENTFORM_KAFKA_RECORD_DECODER=kafkajs',
    ]);
  });
});
