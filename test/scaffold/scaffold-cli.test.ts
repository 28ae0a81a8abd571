/**
 * `eventform scaffold` end to end, through the real CLI in a throw-away project under test/.tmp:
 * the scaffolded service type-checks, its contract test passes right away and fails once a handler
 * misbehaves, re-running never clobbers user code, bad input exits 2 without writing, and the
 * entry point starts on the memory broker and stops gracefully on SIGTERM.
 *
 * The steps share one project and run in order (vitest runs the tests of a file sequentially).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProject, startService, type Project, type VitestReport } from './support/project.js';

const FIXTURE = path.join(import.meta.dirname, 'fixtures/helpdesk.yaml');
const TRIAGE = 'services/triage-service';
const AUDIT = 'services/audit-log';

let project: Project;

beforeAll(() => {
  project = createProject(FIXTURE);
});
afterAll(() => project?.cleanup());

function results(report: VitestReport | undefined, file: string) {
  const suite = report?.testResults.find((r) => r.name.endsWith(file));
  if (!suite) throw new Error(`no results for ${file} in the vitest report`);
  return suite.assertionResults;
}

function statuses(report: VitestReport | undefined, file: string): string[] {
  return results(report, file).map((r) => `${r.status}: ${r.title}`);
}

describe('eventform scaffold', () => {
  it('refuses to scaffold before `eventform generate`, writing nothing', async () => {
    const r = await project.eventform('scaffold', 'triage-service');
    expect(r.code).toBe(1); // like `generate --check` on a missing output folder
    expect(r.stderr).toContain('no generated code in generated');
    expect(r.stderr).toContain('eventform generate topology.yaml --out generated');
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(fs.existsSync(project.path('services'))).toBe(false);
  });

  it('writes handlers, main.ts and a contract test for a consuming service; main.ts only for a producer', async () => {
    const generated = await project.eventform('generate');
    expect(generated.code, generated.stderr).toBe(0);

    const triage = await project.eventform('scaffold', 'triage-service');
    expect(triage.code, triage.stderr).toBe(0);
    expect(triage.stdout).toContain(`${TRIAGE}/handlers.ts: created (assignTicket, pageAgent)`);
    expect(triage.stdout).toContain(`${TRIAGE}/main.ts: created`);
    expect(triage.stdout).toContain(`${TRIAGE}/triage-service.contract.test.ts: created`);
    expect(triage.stdout).toContain(`node --import tsx ${TRIAGE}/main.ts`);

    const helpdesk = await project.eventform('scaffold', 'helpdesk', 'topology.yaml', '--dir', 'services');
    expect(helpdesk.code, helpdesk.stderr).toBe(0);
    expect(fs.readdirSync(project.path('services/helpdesk'))).toEqual(['main.ts']);

    const audit = await project.eventform('scaffold', 'audit-log');
    expect(audit.code, audit.stderr).toBe(0);
    expect(fs.readdirSync(project.path(AUDIT)).sort()).toEqual([
      'audit-log.contract.test.ts',
      'handlers.ts',
      'main.ts',
    ]);

    const main = project.read(`${TRIAGE}/main.ts`);
    expect(main).toContain("from '@eventform/runtime'");
    expect(main).toContain("from '../../generated/index.js'");
    expect(main).toContain('registerTriageService(runtime, handlers);');
    expect(main).toContain('const producer = createTriageServiceProducer(runtime);');
    expect(main).toContain('runtime.start({ services: [SERVICE] })');
    expect(project.read(`${TRIAGE}/handlers.ts`)).toContain('export const handlers: TriageServiceHandlers = {');
  });

  it('the scaffolded files type-check with the repository settings', { timeout: 180_000 }, async () => {
    // A control file with one known error proves the check reports errors in the project's files
    // (errors in other people's half-written modules outside the project are not this test's).
    expect(fs.existsSync(project.path(TRIAGE, 'main.ts')), 'scaffolded by the previous step').toBe(true);
    project.write('control-type-error.ts', "export const control: number = 'not a number';\n");
    try {
      const r = await project.typecheck();
      expect(r.errors).toEqual([expect.stringMatching(/^control-type-error\.ts\(1,14\): error TS2322/)]);
    } finally {
      fs.rmSync(project.path('control-type-error.ts'));
    }
  });

  it(
    'the contract tests pass right after scaffolding; events without examples are todos',
    { timeout: 180_000 },
    async () => {
      const r = await project.vitest();
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(statuses(r.report, 'triage-service.contract.test.ts')).toEqual([
        'passed: handles TicketOpened example 1 and publishes only declared, valid events',
        'passed: handles TicketOpened example 2 and publishes only declared, valid events',
        expect.stringMatching(
          /^todo: TicketEscalated: no examples to test with; add `examples:` to TicketEscalated in topology\.yaml/,
        ),
      ]);
      expect(statuses(r.report, 'audit-log.contract.test.ts')).toEqual([
        'passed: handles TicketAssigned example 1 and publishes only declared, valid events',
        'passed: handles TicketOpened example 1 and publishes only declared, valid events',
        'passed: handles TicketOpened example 2 and publishes only declared, valid events',
      ]);
    },
  );

  it('a handler that publishes valid, declared events passes', { timeout: 180_000 }, async () => {
    const stub = project.read(`${TRIAGE}/handlers.ts`);
    const implemented = stub.replace(
      '// TODO: handle TicketOpened (event.data).',
      "await ctx.publish('TicketAssigned', { ticketId: event.data.ticketId, agent: 'ada' });",
    );
    expect(implemented).not.toBe(stub);
    project.write(`${TRIAGE}/handlers.ts`, implemented);
    const r = await project.vitest(TRIAGE);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.report?.numPassedTests).toBe(2);
  });

  it(
    'fails when a handler publishes an invalid payload, or throws until the event is dropped',
    { timeout: 180_000 },
    async () => {
      const valid = project.read(`${TRIAGE}/handlers.ts`);
      project.write(
        `${TRIAGE}/handlers.ts`,
        valid.replace("{ ticketId: event.data.ticketId, agent: 'ada' }", '{ ticketId: event.data.ticketId } as any'),
      );
      const audit = project.read(`${AUDIT}/handlers.ts`);
      project.write(
        `${AUDIT}/handlers.ts`,
        audit.replace(
          "ctx.logger.warn('audit-log.record is not implemented yet'",
          "throw new Error('audit store down'); ctx.logger.warn('x'",
        ),
      );

      const r = await project.vitest();
      expect(r.code).not.toBe(0);
      const triage = results(r.report, 'triage-service.contract.test.ts').filter((t) => t.status === 'failed');
      expect(triage).toHaveLength(2);
      expect(triage[0]!.failureMessages.join('\n')).toContain('error: message dead-lettered (attempt 2)');
      for (const t of triage) {
        expect(t.failureMessages.join('\n')).toContain('triage-service.assignTicket did not handle the example');
        expect(t.failureMessages.join('\n')).toMatch(/Invalid payload for TicketAssigned: .*required property 'agent'/);
      }
      const auditFailed = results(r.report, 'audit-log.contract.test.ts').filter((t) => t.status === 'failed');
      expect(auditFailed).toHaveLength(3);
      expect(auditFailed[0]!.failureMessages.join('\n')).toContain('audit store down');

      project.write(`${TRIAGE}/handlers.ts`, valid);
      project.write(`${AUDIT}/handlers.ts`, audit);
    },
  );

  it('a second run skips every existing file, exits 0 and leaves user edits intact', async () => {
    const handlers = project.read(`${TRIAGE}/handlers.ts`);
    expect(handlers).toContain("agent: 'ada'"); // the user's implementation from above

    const again = await project.eventform('scaffold', 'triage-service');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`${TRIAGE}/handlers.ts: skipped, exists; handler code is yours`);
    expect(again.stdout).toContain(`${TRIAGE}/main.ts: skipped, exists`);
    expect(again.stdout).toContain(`${TRIAGE}/triage-service.contract.test.ts: skipped, exists`);
    expect(project.read(`${TRIAGE}/handlers.ts`)).toBe(handlers);

    const main = project.read(`${TRIAGE}/main.ts`) + '// my change\n';
    project.write(`${TRIAGE}/main.ts`, main);
    const edited = await project.eventform('scaffold', 'triage-service');
    expect(edited.code).toBe(0);
    expect(edited.stdout).toContain(`${TRIAGE}/main.ts: skipped, exists and differs; --force rewrites it`);
    expect(project.read(`${TRIAGE}/main.ts`)).toBe(main);
  });

  it('--force rewrites main.ts but never handlers.ts', async () => {
    const handlers = project.read(`${TRIAGE}/handlers.ts`);
    const r = await project.eventform('scaffold', 'triage-service', '--force');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${TRIAGE}/main.ts: rewritten (--force)`);
    expect(r.stdout).toContain('never overwritten, not even with --force');
    expect(project.read(`${TRIAGE}/main.ts`)).not.toContain('// my change');
    expect(project.read(`${TRIAGE}/handlers.ts`)).toBe(handlers);
  });

  it('an unknown service exits 2 with a did-you-mean and writes nothing', async () => {
    const typo = await project.eventform('scaffold', 'triage-servce');
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain(
      "error: service 'triage-servce' is not in topology.yaml; did you mean 'triage-service'?",
    );
    expect(typo.stderr).toContain('services in topology.yaml: audit-log, helpdesk, triage-service');
    expect(fs.existsSync(project.path('services/triage-servce'))).toBe(false);

    const unrelated = await project.eventform('scaffold', 'billing');
    expect(unrelated.code).toBe(2);
    expect(unrelated.stderr).not.toContain('did you mean');
  });

  it('refuses when the generated code is out of date with the topology', async () => {
    const original = project.read('topology.yaml');
    try {
      project.write('topology.yaml', original.replace('A customer opened a support ticket.', 'A ticket was opened.'));
      const r = await project.eventform('scaffold', 'audit-log', '--dir', 'other');
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('error: generated is out of date with topology.yaml');
      expect(r.stderr).toContain('run `eventform generate topology.yaml --out generated` first');
      expect(fs.existsSync(project.path('other'))).toBe(false);
    } finally {
      project.write('topology.yaml', original);
    }
  });

  it(
    'main.ts starts on the memory broker, logs ready and stops gracefully on SIGTERM',
    { timeout: 60_000 },
    async () => {
      const service = startService(project, `${TRIAGE}/main.ts`, { BROKER: 'memory' });
      try {
        await waitForOutput(service.output, '"msg":"ready"', 40_000);
        expect(service.output()).toContain('"consumers":["triage-service.assignTicket","triage-service.pageAgent"]');
        service.kill('SIGTERM');
        const exit = await service.exited;
        expect(exit, service.output()).toEqual({ code: 0, signal: null });
        expect(service.output()).toContain('"msg":"stopping"');
        expect(service.output()).toContain('"msg":"stopped"');
      } finally {
        service.kill('SIGKILL');
      }
    },
  );

  it('main.ts exits 1 with a logged error, not a crash, when BROKER is unknown', { timeout: 60_000 }, async () => {
    const service = startService(project, `${TRIAGE}/main.ts`, { BROKER: 'carrier-pigeon' });
    try {
      const exit = await service.exited;
      expect(exit.code, service.output()).toBe(1);
      expect(service.output()).toContain('"msg":"cannot start"');
      expect(service.output()).toContain('BROKER must be one of memory, rabbitmq, kafka');
    } finally {
      service.kill('SIGKILL');
    }
  });
});

async function waitForOutput(output: () => string, needle: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!output().includes(needle)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${needle}; output:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
