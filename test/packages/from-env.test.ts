/**
 * createTransportFromEnv as installed (the built @eventform/runtime, loaded by plain Node from a
 * project folder): a broker package that is missing is named with the version to install; a
 * broker package that is installed but broken says what is really missing.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = path.resolve(import.meta.dirname, '../..');
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eventform-from-env-'));
  fs.mkdirSync(path.join(dir, 'node_modules/@eventform/kafka'), { recursive: true });
  // A copy, not a link: Node resolves a linked package from its real path, inside this repository,
  // where every broker package is installed.
  const runtime = path.join(dir, 'node_modules/@eventform/runtime');
  fs.mkdirSync(runtime);
  fs.copyFileSync(path.join(REPO, 'runtime/core/package.json'), path.join(runtime, 'package.json'));
  fs.cpSync(path.join(REPO, 'runtime/core/dist'), path.join(runtime, 'dist'), { recursive: true });
  fs.symlinkSync(path.join(REPO, 'node_modules/ajv'), path.join(dir, 'node_modules/ajv'));
  fs.symlinkSync(path.join(REPO, 'node_modules/ajv-formats'), path.join(dir, 'node_modules/ajv-formats'));
  // A peer dependency of the runtime: npm installs it with the runtime.
  fs.mkdirSync(path.join(dir, 'node_modules/@opentelemetry'), { recursive: true });
  fs.symlinkSync(path.join(REPO, 'node_modules/@opentelemetry/api'), path.join(dir, 'node_modules/@opentelemetry/api'));
  // An installed @eventform/kafka whose own dependency is missing.
  fs.writeFileSync(
    path.join(dir, 'node_modules/@eventform/kafka/package.json'),
    JSON.stringify({ name: '@eventform/kafka', type: 'module', exports: './index.js' }),
  );
  fs.writeFileSync(
    path.join(dir, 'node_modules/@eventform/kafka/index.js'),
    "export * from 'kafkajs-not-installed';\n",
  );
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function tryBroker(broker: string): string {
  const code = `import('@eventform/runtime').then((r) => r.createTransportFromEnv({ broker: '${broker}' })).then(() => console.log('created'), (e) => console.log(e.name + ': ' + e.message))`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: dir, encoding: 'utf8' });
  return r.stdout.trim() + r.stderr;
}

describe('createTransportFromEnv, installed', () => {
  it('names the missing broker package and the version to install', () => {
    const version = (
      JSON.parse(fs.readFileSync(path.join(REPO, 'runtime/core/package.json'), 'utf8')) as { version: string }
    ).version;
    expect(tryBroker('rabbitmq')).toBe(
      `TransportPackageMissingError: BROKER=rabbitmq needs the package @eventform/rabbitmq, which is not installed: npm install @eventform/rabbitmq@${version}`,
    );
  });

  it('an installed package with a missing dependency of its own is not reported as missing itself', () => {
    const out = tryBroker('kafka');
    expect(out).not.toContain('TransportPackageMissingError');
    expect(out).toContain("Cannot find package 'kafkajs-not-installed'");
  });

  it('memory needs no package', () => {
    expect(tryBroker('memory')).toBe('created');
  });
});
