/**
 * Hostile files against the CLI, as in a CI job that runs `eventform` on an untrusted pull request:
 * `$ref`s that climb out of the topology's folder (by `../` or by a symbolic link) are refused
 * unread, so nothing of the target reaches a diagnostic or the generated code; the writer never
 * writes through a link and replaces each file whole; a payload field named like an
 * `Object.prototype` member is present only when the payload has it. Each case failed before.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileValidators } from '../../runtime/core/src/validation.js';
import { loadTopology } from '../../generator/src/spec/index.js';

const CLI = path.resolve(import.meta.dirname, '../../generator/bin/eventform.js');
const SECRET = 'SECRET-DO-NOT-PRINT-4f1c';
const roots: string[] = [];
afterAll(() => roots.forEach((r) => fs.rmSync(r, { recursive: true, force: true })));

/** A sandbox: `outside/` holds a secret; `project/` holds the topology. */
function sandbox(topology: string): { root: string; project: string; outside: string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'eventform-hostile-cli-'));
  roots.push(root);
  const project = path.join(root, 'project');
  const outside = path.join(root, 'outside');
  fs.mkdirSync(project);
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, 'secret.json'), JSON.stringify({ type: 'object', description: SECRET }));
  fs.writeFileSync(path.join(outside, 'secret.env'), `TOKEN=${SECRET}\n`);
  fs.writeFileSync(path.join(project, 'topology.yaml'), topology);
  return { root, project, outside };
}

function run(cwd: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  return { code: r.status, out: r.stdout + r.stderr };
}

const topologyWithRef = (ref: string) => `topology: t
version: 1
events:
  ThingHappened:
    payload: { $ref: '${ref}' }
services:
  maker: { produces: [ThingHappened] }
  taker:
    consumes:
      take: { event: ThingHappened }
`;

/** Every file under `dir`, as text. */
function allText(dir: string): string {
  if (!fs.existsSync(dir)) return '';
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => fs.readFileSync(path.join(e.parentPath, e.name), 'utf8'))
    .join('\n');
}

describe('$ref confinement', () => {
  it.each([
    '../outside/secret.json',
    '../outside/secret.env',
    './sub/../../outside/secret.json',
    '../outside/secret.json#/$defs/Secret',
  ])('%s is refused unread by validate and generate, both exiting 1', (ref) => {
    const { project } = sandbox(topologyWithRef(ref));
    const validate = run(project, 'validate');
    expect(validate.code).toBe(1);
    expect(validate.out).toMatch(/error EF4005 schema file '.*' is outside the topology's folder; it is not read/);
    expect(validate.out).not.toContain(SECRET);
    const generate = run(project, 'generate');
    expect(generate.code).toBe(1);
    expect(generate.out).not.toContain(SECRET);
    expect(allText(path.join(project, 'generated'))).not.toContain(SECRET);
  });

  it('a link inside the folder that leads outside is refused too', () => {
    const { project, outside } = sandbox(topologyWithRef('./schemas/payload.json'));
    fs.mkdirSync(path.join(project, 'schemas'));
    fs.symlinkSync(path.join(outside, 'secret.json'), path.join(project, 'schemas/payload.json'));
    const r = run(project, 'validate');
    expect(r.code).toBe(1);
    expect(r.out).toContain("schema file './schemas/payload.json' is a link to a file outside the topology's folder");
    expect(r.out).not.toContain(SECRET);
  });

  it('so is a linked folder', () => {
    const { project, outside } = sandbox(topologyWithRef('./schemas/secret.json'));
    fs.symlinkSync(outside, path.join(project, 'schemas'));
    const r = run(project, 'validate');
    expect(r.code).toBe(1);
    expect(r.out).not.toContain(SECRET);
  });

  it('--schema-root widens it, explicitly', () => {
    const { root, project } = sandbox(topologyWithRef('../outside/secret.json'));
    const r = run(project, '--schema-root', root, 'validate');
    expect(r.code, r.out).toBe(0);
  });

  it('a file inside the folder, and a link that stays inside, are fine', () => {
    const { project } = sandbox(topologyWithRef('./schemas/linked.json'));
    fs.mkdirSync(path.join(project, 'schemas'));
    fs.writeFileSync(path.join(project, 'schemas/real.json'), JSON.stringify({ type: 'object' }));
    fs.symlinkSync('real.json', path.join(project, 'schemas/linked.json'));
    const r = run(project, 'validate');
    expect(r.code, r.out).toBe(0);
  });
});

describe('the output writer', () => {
  const plain = topologyWithRef('#/schemas/Thing').replace('events:', 'schemas:\n  Thing: { type: object }\nevents:');

  it('refuses to write through a link in the output folder, and leaves the link target alone', () => {
    const { project, outside } = sandbox(plain);
    expect(run(project, 'generate').code).toBe(0);
    const victim = path.join(outside, 'victim.txt');
    fs.writeFileSync(victim, 'untouched\n');
    fs.rmSync(path.join(project, 'generated/types.ts'));
    fs.symlinkSync(victim, path.join(project, 'generated/types.ts'));
    const r = run(project, 'generate');
    expect(r.code).toBe(2);
    expect(r.out).toContain('EF8005');
    expect(fs.readFileSync(victim, 'utf8')).toBe('untouched\n');
  });

  it('refuses a linked folder inside the output, and an output folder that is itself a link', () => {
    const { project, outside } = sandbox(plain);
    expect(run(project, 'generate').code).toBe(0);
    fs.rmSync(path.join(project, 'generated/provisioning'), { recursive: true });
    fs.symlinkSync(outside, path.join(project, 'generated/provisioning'));
    expect(run(project, 'generate').out).toContain('EF8005');
    expect(fs.readdirSync(outside).sort()).toEqual(['secret.env', 'secret.json']);

    const linkedOut = path.join(project, 'out-link');
    fs.symlinkSync(outside, linkedOut);
    const r = run(project, 'generate', '--out', 'out-link');
    expect(r.code).toBe(2);
    expect(r.out).toContain('EF8005');
    expect(fs.readdirSync(outside).sort()).toEqual(['secret.env', 'secret.json']);
  });

  it('replaces each file whole (a new file renamed over the old), leaving no temporary files', () => {
    const { project } = sandbox(plain);
    expect(run(project, 'generate').code).toBe(0);
    const types = path.join(project, 'generated/types.ts');
    const before = fs.readFileSync(types, 'utf8');
    // A hard link keeps the old file: an in-place write would change what it shows.
    fs.linkSync(types, path.join(project, 'old-types.ts'));
    fs.writeFileSync(
      path.join(project, 'topology.yaml'),
      plain.replace('Thing: { type: object }', 'Thing: { type: object, description: changed }'),
    );
    expect(run(project, 'generate').code).toBe(0);
    expect(fs.readFileSync(types, 'utf8')).not.toBe(before);
    expect(fs.readFileSync(path.join(project, 'old-types.ts'), 'utf8')).toBe(before);
    expect(fs.readdirSync(path.join(project, 'generated')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

describe('payload fields named like Object.prototype members', () => {
  const topology = `topology: t
version: 1
events:
  ThingHappened:
    payload:
      type: object
      required: [constructor, toString]
      properties: { constructor: { type: string }, toString: { type: string } }
    examples:
      - {}
services:
  maker: { produces: [ThingHappened] }
`;

  it('an example without them is rejected (an inherited member is not a present field)', () => {
    const { project } = sandbox(topology);
    const { ir, diagnostics } = loadTopology(path.join(project, 'topology.yaml'));
    expect(ir).toBeNull();
    expect(diagnostics.map((d) => `${d.code} ${d.message}`).join('\n')).toMatch(/constructor/);
  });

  it('the generated and the runtime validators reject a payload without them', async () => {
    const { project } = sandbox(topology.replace('      - {}', '      - { constructor: c, toString: s }'));
    expect(run(project, 'generate').code).toBe(0);
    const { validators } = (await import(path.join(project, 'generated/validators.ts'))) as {
      validators: Record<string, (data: unknown) => boolean>;
    };
    expect(validators['ThingHappened']!({})).toBe(false);
    expect(validators['ThingHappened']!({ constructor: 'c', toString: 's' })).toBe(true);
    const { ir } = loadTopology(path.join(project, 'topology.yaml'));
    expect(compileValidators(ir!)['ThingHappened']!({})).toBe(false);
  });
});
