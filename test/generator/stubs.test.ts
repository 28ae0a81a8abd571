/**
 * Handler stubs are user-owned: created once, then only appended to. Runs the real command
 * (runGenerate with --stubs) on a copy of the rides fixture in a scratch directory inside the
 * package, and type-checks the stubs against the generated contract at each step.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runGenerate } from '../../generator/src/cli/generate.js';
import { generatedImport } from '../../generator/src/stubs/stubs.js';
import { REPO_ROOT } from './support/cases.js';
import { captureIo, scratchDir } from './support/tmp.js';
import { formatTypeErrors, typecheck } from './support/tsc.js';

const RIDES = fs.readFileSync(path.join(REPO_ROOT, 'test/fixtures/generator/rides/topology.yaml'), 'utf8');

describe('handler stubs', () => {
  const scratch = scratchDir('stubs');
  afterAll(() => scratch.cleanup());
  const topology = path.join(scratch.dir, 'topology.yaml');
  const out = path.join(scratch.dir, 'generated');
  const stubs = path.join(scratch.dir, 'services');
  const dispatchStub = path.join(stubs, 'dispatch', 'handlers.ts');

  const gen = async (text: string) => {
    fs.writeFileSync(topology, text);
    const io = captureIo();
    const code = await runGenerate(topology, { out, stubs }, io);
    return { code, stdout: io.out(), stderr: io.err() };
  };
  const stubFiles = () =>
    fs
      .readdirSync(stubs, { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.ts'))
      .map((f) => path.join(stubs, f));
  const compileErrors = () => typecheck(stubFiles(), [stubs, out]);

  const USER_BODY = [
    '    // user code: pick the nearest driver',
    '    const nearest = await   Promise.resolve(event.data.pickup);   // odd spacing kept',
    "    await ctx.publish('DriverAssigned', { rideId: event.data.rideId, driverId: String(nearest.lat), etaSeconds: 60 });",
  ].join('\n');

  it('creates one stub per consuming service, importing the generated code relatively, and they compile', async () => {
    const r = await gen(RIDES);
    expect(r.code).toBe(0);
    expect(
      stubFiles()
        .map((f) => path.relative(stubs, f).split(path.sep).join('/'))
        .sort(),
    ).toEqual(['analytics/handlers.ts', 'billing/handlers.ts', 'dispatch/handlers.ts', 'rider-app/handlers.ts']);
    const text = fs.readFileSync(dispatchStub, 'utf8');
    expect(text).toContain('yours to edit; eventform only appends new handlers');
    expect(text).toContain("import type { DispatchHandlers } from '../../generated/index.js';");
    expect(text).toContain('export const handlers: DispatchHandlers = {');
    for (const h of ['assignDriver', 'cancelAssignment', 'trackDriver'])
      expect(text).toContain(`async ${h}(event, ctx) {`);
    expect(r.stdout).toMatch(
      /services\/dispatch\/handlers\.ts: created \(assignDriver, cancelAssignment, trackDriver\)/,
    );
    expect(formatTypeErrors(compileErrors())).toBe('');
  }, 120_000);

  it('keeps user edits byte for byte and appends a handler added to the topology', async () => {
    const generatedStub = fs.readFileSync(dispatchStub, 'utf8');
    const todo = / {4}\/\/ TODO: handle RideRequested \(event\.data\)\.\n {4}ctx\.logger\.warn\([^\n]*\n/;
    expect(generatedStub).toMatch(todo);
    const edited =
      generatedStub.replace(todo, `${USER_BODY}\n`) +
      '\n// a helper of mine, after the handlers\nexport function helper(): number {\n  return 1;\n}\n';
    fs.writeFileSync(dispatchStub, edited);

    const added = RIDES.replace(
      '      cancelAssignment: { event: RideCancelled, rabbitmq: { queueType: classic } }\n',
      '      cancelAssignment: { event: RideCancelled, rabbitmq: { queueType: classic } }\n' +
        '      rebalance: { event: [DriverLocationUpdated, RideCompleted] }\n',
    );
    expect(added).not.toBe(RIDES);
    const r = await gen(added);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/services\/dispatch\/handlers\.ts: appended rebalance/);

    const after = fs.readFileSync(dispatchStub, 'utf8');
    // Everything the user wrote is still there, unchanged: the text up to the end of the last
    // handler is a prefix, the text from the object's closing brace on is a suffix.
    const close = edited.lastIndexOf('\n};\n');
    const lastMember = edited.lastIndexOf('  }', close);
    expect(after.startsWith(edited.slice(0, lastMember + 3))).toBe(true);
    expect(after.endsWith(edited.slice(close))).toBe(true);
    expect(after).toContain(USER_BODY);
    expect(after).toContain('async rebalance(event, ctx) {');
    expect(after).toContain("case 'DriverLocationUpdated':");
    // Only the appended method (and the comma after the previous member) is new.
    const inserted = after.slice(lastMember + 3, after.length - edited.slice(close).length);
    expect(inserted.startsWith(',\n')).toBe(true);
    expect(inserted).toContain('rebalance');
    expect(inserted).not.toContain('assignDriver');

    // Other stubs were not touched.
    expect(r.stdout).not.toMatch(/rider-app\/handlers\.ts/);
    expect(formatTypeErrors(compileErrors())).toBe('');

    // Regenerating again changes nothing.
    const again = await gen(added);
    expect(again.stdout).not.toMatch(/appended|created/);
    expect(fs.readFileSync(dispatchStub, 'utf8')).toBe(after);
  }, 120_000);

  it('reports a handler removed from the topology and never deletes it', async () => {
    const before = fs.readFileSync(dispatchStub, 'utf8');
    const removed = RIDES.replace(
      '      trackDriver: { event: DriverLocationUpdated, retry: false, idempotency: { enabled: false } }\n',
      '',
    ).replace(
      '      cancelAssignment: { event: RideCancelled, rabbitmq: { queueType: classic } }\n',
      '      cancelAssignment: { event: RideCancelled, rabbitmq: { queueType: classic } }\n' +
        '      rebalance: { event: [DriverLocationUpdated, RideCompleted] }\n',
    );
    const r = await gen(removed);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(
      /warning: .*dispatch[\\/]handlers\.ts: handler `trackDriver` is no longer in the topology/,
    );
    expect(fs.readFileSync(dispatchStub, 'utf8')).toBe(before);
    // The generated contract makes the leftover a compile error: the user's cue to delete it.
    const errors = compileErrors();
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((e) => e.file === dispatchStub)).toBe(true);
    expect(formatTypeErrors(errors)).toMatch(/trackDriver/);
  }, 120_000);
});

describe('generatedImport', () => {
  it.each([
    ['services/order-service/handlers.ts', 'generated', '../../generated/index.js'],
    ['src/handlers/order-service/handlers.ts', 'src/generated', '../../generated/index.js'],
    ['order-service/handlers.ts', '.', '../index.js'],
    ['generated/x/handlers.ts', 'generated', '../index.js'],
  ])('%s → %s', (stub, outDir, expected) => {
    expect(generatedImport(stub, outDir)).toBe(expected);
  });
});
