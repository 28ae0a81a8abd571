/**
 * The scaffold planner and its renderers, in process (no disk): which files a service gets, that
 * the stub is the generator's own, that user code is never planned for overwriting, and that the
 * import paths follow `--dir` and `--out`.
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { generate, type GenerateResult } from '../../generator/src/generate.js';
import { planScaffold, SCAFFOLD_DEFAULTS, type ScaffoldOptions } from '../../generator/src/scaffold/plan.js';
import { testingImportFor } from '../../generator/src/scaffold/run.js';
import { loadTopology } from '../../generator/src/spec/index.js';
import { planStubs } from '../../generator/src/stubs/stubs.js';

const FIXTURE = path.join(import.meta.dirname, 'fixtures/helpdesk.yaml');

let gen: GenerateResult;

beforeAll(async () => {
  const { ir, diagnostics } = loadTopology(FIXTURE);
  if (!ir) throw new Error(diagnostics.map((d) => d.message).join('\n'));
  gen = await generate(ir);
});

function options(service: string, overrides: Partial<ScaffoldOptions> = {}): ScaffoldOptions {
  return {
    service,
    dir: SCAFFOLD_DEFAULTS.dir,
    outDir: SCAFFOLD_DEFAULTS.outDir,
    force: false,
    runtimeImport: SCAFFOLD_DEFAULTS.runtimeImport,
    testingImport: '@eventform/runtime/testing',
    read: () => undefined,
    ...overrides,
  };
}

const plan = (service: string, overrides: Partial<ScaffoldOptions> = {}) =>
  planScaffold(gen.ir, gen.names, options(service, overrides));

describe('planScaffold', () => {
  it.each([
    ['triage-service', ['handlers', 'main', 'contract-test']],
    ['audit-log', ['handlers', 'main', 'contract-test']],
    ['helpdesk', ['main']],
  ])('%s gets %j', async (service, kinds) => {
    const plans = await plan(service);
    expect(plans.map((p) => p.kind)).toEqual(kinds);
    expect(plans.every((p) => p.action === 'create' && p.contents !== undefined)).toBe(true);
    expect(plans.map((p) => p.file)).toEqual(
      kinds.map((k) =>
        path.join('services', service, k === 'contract-test' ? `${service}.contract.test.ts` : `${k}.ts`),
      ),
    );
  });

  it('the stub is exactly what `eventform generate --stubs` writes', async () => {
    const [handlers] = await plan('triage-service');
    const stubs = await planStubs(gen.ir, gen.names, {
      stubsDir: 'services',
      outDir: 'generated',
      read: () => undefined,
    });
    expect(handlers!.contents).toBe(stubs.find((s) => s.service === 'triage-service')!.contents);
    expect(handlers!.handlers).toEqual(['assignTicket', 'pageAgent']);
  });

  it('never plans to overwrite an existing handlers.ts, even with force', async () => {
    const existing = new Map([
      [path.join('services', 'triage-service', 'handlers.ts'), '// mine\nexport const handlers = {};\n'],
    ]);
    const plans = await plan('triage-service', { force: true, read: (f) => existing.get(f) });
    const handlers = plans.find((p) => p.kind === 'handlers')!;
    expect(handlers.action).toBe('skip');
    expect(handlers.contents).toBeUndefined();
    expect(handlers.notes[0]).toContain('never overwritten, not even with --force');
    // The other files are missing, so they are still created.
    expect(plans.filter((p) => p.kind !== 'handlers').map((p) => p.action)).toEqual(['create', 'create']);
  });

  it('reports handlers an existing stub lacks, pointing at `generate --stubs`', async () => {
    const stub = [
      "import type { TriageServiceHandlers } from '../../generated/index.js';",
      '',
      'export const handlers: TriageServiceHandlers = {',
      '  async assignTicket() {},',
      '};',
      '',
    ].join('\n');
    const file = path.join('services', 'triage-service', 'handlers.ts');
    const [handlers] = await plan('triage-service', { read: (f) => (f === file ? stub : undefined) });
    expect(handlers!.action).toBe('skip');
    expect(handlers!.notes.join('\n')).toContain(
      'the topology has handlers it lacks (pageAgent): `eventform generate --stubs services` appends them',
    );
  });

  it('main.ts and the contract test: skipped when they differ, rewritten with force, unchanged when equal', async () => {
    const fresh = await plan('triage-service');
    const main = fresh.find((p) => p.kind === 'main')!;
    const edited = new Map([[main.file, main.contents + '// edited\n']]);
    const same = new Map([[main.file, main.contents!]]);

    const skipped = (await plan('triage-service', { read: (f) => edited.get(f) })).find((p) => p.kind === 'main')!;
    expect(skipped).toMatchObject({ action: 'skip', notes: ['exists and differs; --force rewrites it'] });
    expect(skipped.contents).toBeUndefined();

    const forced = (await plan('triage-service', { force: true, read: (f) => edited.get(f) })).find(
      (p) => p.kind === 'main',
    )!;
    expect(forced).toMatchObject({ action: 'overwrite', contents: main.contents });

    const unchanged = (await plan('triage-service', { read: (f) => same.get(f) })).find((p) => p.kind === 'main')!;
    expect(unchanged.action).toBe('unchanged');
  });

  it('import paths follow --dir and --out', async () => {
    const plans = await plan('triage-service', { dir: 'apps/backend', outDir: 'src/eventform' });
    for (const p of plans) expect(p.contents).toContain("from '../../../src/eventform/index.js'");
  });

  it('is deterministic', async () => {
    expect(await plan('triage-service')).toEqual(await plan('triage-service'));
  });
});

describe('main.ts', () => {
  const mainOf = async (service: string) => (await plan(service)).find((p) => p.kind === 'main')!.contents!;

  it('a consuming and producing service: transport from the environment, handlers registered, producer returned', async () => {
    const main = await mainOf('triage-service');
    expect(main).toContain(
      "import { createJsonLogger, createMemoryStore, createTransportFromEnv } from '@eventform/runtime';",
    );
    expect(main).toContain(
      "import { createScaffoldHelpdeskRuntime, createTriageServiceProducer, registerTriageService } from '../../generated/index.js';",
    );
    expect(main).toContain("import { handlers } from './handlers.js';");
    expect(main).toContain('registerTriageService(runtime, handlers);');
    expect(main).toContain('const producer = createTriageServiceProducer(runtime);');
    expect(main).toContain('return { runtime, producer };');
    // No top-level await: the file also compiles as CommonJS.
    expect(main.split('\n').filter((l) => /^(const|let|export)?.*\bawait\b/.test(l) && !l.startsWith(' '))).toEqual([]);
    // The publishing hint uses the first produced event that has an example.
    expect(main).toContain("//   await producer.ticketAssigned({ ticketId: 't-1', agent: 'ada' });");
    expect(main).toContain("process.on('SIGTERM'");
    expect(main).toContain('await runtime.stop();');
  });

  it('a producer-only service registers no handlers; a consumer-only service creates no producer', async () => {
    const helpdesk = await mainOf('helpdesk');
    expect(helpdesk).not.toContain('./handlers.js');
    expect(helpdesk).not.toContain('registerHelpdesk');
    expect(helpdesk).toContain('const producer = createHelpdeskProducer(runtime);');
    expect(helpdesk).toContain(
      "//   await producer.ticketOpened({ ticketId: 't-1', subject: 'Printer on fire', priority: 'high' });",
    );

    const audit = await mainOf('audit-log');
    expect(audit).not.toContain('producer');
    expect(audit).toContain('registerAuditLog(runtime, handlers);');
  });

  it('wires the idempotency store the topology names, and says which in its ready log', async () => {
    const triage = await mainOf('triage-service'); // store: memory (the default)
    expect(triage).toContain('const idempotencyStore = createMemoryStore();');
    expect(triage).toContain('forgotten on restart');
    expect(triage).not.toContain('@eventform/postgres');
    const audit = await mainOf('audit-log'); // store: postgres
    expect(audit).toContain("import { createPostgresStore } from '@eventform/postgres';");
    expect(audit).toContain("createPostgresStore({ connectionString: process.env['DATABASE_URL'], logger })");
    expect(audit).not.toContain('createMemoryStore');
    for (const main of [triage, audit]) {
      expect(main).toContain('createScaffoldHelpdeskRuntime({ transport, logger, idempotencyStore })');
      expect(main).toContain('idempotencyStore: idempotencyStore.name,');
    }
  });

  it('honours a custom runtime import', async () => {
    const main = (await plan('triage-service', { runtimeImport: '@acme/eventform/runtime' })).find(
      (p) => p.kind === 'main',
    )!;
    expect(main.contents).toContain("from '@acme/eventform/runtime';");
  });
});

describe('contract test', () => {
  it('wires the handlers with the generated register function and imports the harness', async () => {
    const test = (await plan('audit-log')).find((p) => p.kind === 'contract-test')!.contents!;
    expect(test).toContain("import { createTestHarness, type TestHarness } from '@eventform/runtime/testing';");
    expect(test).toContain("import { registerAuditLog, topology, validators } from '../../generated/index.js';");
    expect(test).toContain('registerAuditLog(harness.runtime, handlers);');
    expect(test).not.toContain('Proxy');
    expect(test).toContain("const SERVICE = 'audit-log';");
  });

  it.each([
    ['@eventform/runtime', '@eventform/runtime/testing'],
    ['@acme/eventform-runtime', '@acme/eventform-runtime/testing'],
    ['../runtime/index.js', '@eventform/runtime/testing'],
  ])('testing import for %s is %s', (runtime, testing) => {
    expect(testingImportFor(runtime)).toBe(testing);
  });
});
