/** The steps of `eventform check`, in process: statuses, --strict, modes, and what each step owns. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatCheck } from '../../generator/src/check/format.js';
import { runCheck, type CheckResult, type StepName } from '../../generator/src/check/run-check.js';
import { shop, toYaml } from './helpers.js';

const dir = mkdtempSync(path.join(tmpdir(), 'eventform-run-check-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function write(doc: unknown): string {
  const file = path.join(dir, `t${++n}.yaml`);
  writeFileSync(file, typeof doc === 'string' ? doc : toYaml(doc));
  return file;
}

const stepOf = (r: CheckResult, name: StepName) => r.steps.find((s) => s.name === name)!;

describe('runCheck steps', () => {
  it('graph integrity: warnings, failures under --strict, not duplicated in validate', async () => {
    const d = shop();
    d.events.StockAudited = { payload: { type: 'object' } };
    d.services['inventory-service'].consumes.audit = { event: 'StockAudited' };
    d.events.OrderShipped = { payload: { type: 'object' } };
    d.services['order-service'].produces.push('OrderShipped');
    d.events.NothingHappened = { payload: { type: 'object' } };
    const file = write(d);
    const loose = await runCheck({ topologyFile: file, cwd: dir });
    const graph = stepOf(loose, 'graph');
    expect(graph.status).toBe('warn');
    expect(graph.findings.map((f) => [f.rule, f.event])).toEqual([
      ['EFC303', 'NothingHappened'],
      ['EFC302', 'OrderShipped'],
      ['EFC301', 'StockAudited'],
    ]);
    expect(graph.findings[0]).toMatchObject({ file: path.basename(file), line: expect.any(Number), col: 3 });
    expect(stepOf(loose, 'validate').findings.map((f) => f.rule)).not.toContain('EF9002');
    expect(stepOf(loose, 'validate').findings.map((f) => f.rule)).not.toContain('EF9003');
    expect(loose.ok).toBe(true);

    const strict = await runCheck({ topologyFile: file, cwd: dir, strict: true });
    expect(stepOf(strict, 'graph').status).toBe('fail');
    expect(strict.ok).toBe(false);
  });

  it('examples are their own step', async () => {
    const d = shop();
    d.events.OrderCreated.examples.push({ orderId: 'o1' });
    const r = await runCheck({ topologyFile: write(d), cwd: dir });
    const examples = stepOf(r, 'examples');
    expect(examples.status).toBe('fail');
    expect(examples.summary).toBe('1 example does not match its payload');
    expect(new Set(examples.findings.map((f) => `${f.rule} ${f.severity}`))).toEqual(new Set(['EF5002 error']));
    expect(examples.findings.map((f) => f.message)).toContainEqual(
      expect.stringContaining("required property 'userId'"),
    );
    expect(stepOf(r, 'validate').findings.map((f) => f.rule)).not.toContain('EF5002');
    expect(r.ok).toBe(false);
  });

  it('validation errors fail the check and skip what needs an IR', async () => {
    const d = shop();
    d.services['order-service'].consumes.cancelOrder.event = ['NoSuchEvent'];
    const r = await runCheck({ topologyFile: write(d), cwd: dir, against: write(shop()) });
    expect(stepOf(r, 'validate')).toMatchObject({ status: 'fail' });
    expect(stepOf(r, 'validate').findings).toContainEqual(
      expect.objectContaining({ rule: 'EF4001', severity: 'error' }),
    );
    for (const name of ['drift', 'graph', 'compatibility', 'topology-changes'] as const)
      expect(stepOf(r, name).status).toBe('skip');
  });

  it("uses each event's mode: forward rejects an added enum value, backward accepts it, none checks nothing", async () => {
    const old = shop();
    const changed = shop();
    changed.schemas.Money.properties.currency.enum.push('GBP');
    changed.events.PaymentFailed.payload.required.push('code');
    changed.events.PaymentFailed.payload.properties.code = { type: 'string' };
    changed.events.PaymentFailed.compatibility = 'none';
    old.events.PaymentFailed.compatibility = 'none';

    const backward = await runCheck({ topologyFile: write(changed), cwd: dir, against: write(old) });
    expect(stepOf(backward, 'compatibility')).toMatchObject({ status: 'pass', findings: [] });
    expect(stepOf(backward, 'compatibility').summary).toMatch(
      /5 events checked .*\(1 with compatibility: none\); all compatible/,
    );

    old.events.OrderCreated.compatibility = 'forward';
    changed.events.OrderCreated.compatibility = 'forward';
    const forward = await runCheck({ topologyFile: write(changed), cwd: dir, against: write(old) });
    expect(stepOf(forward, 'compatibility').findings).toEqual([
      expect.objectContaining({
        rule: 'EFC121',
        event: 'OrderCreated',
        direction: 'forward',
        mode: 'forward',
        severity: 'error',
        pointer: '/properties/total/properties/currency/enum',
        sharedSchema: 'Money',
      }),
    ]);
    expect(stepOf(forward, 'compatibility').findings[0]!.message).toContain(
      'old consumers would reject messages from upgraded producers',
    );
    expect(forward.ok).toBe(false);
  });

  it('unknown compatibility warns, and fails with --strict', async () => {
    const old = shop();
    old.events.PaymentFailed.payload.properties.reason = { anyOf: [{ type: 'string', maxLength: 20 }] };
    const changed = shop();
    changed.events.PaymentFailed.payload.properties.reason = {
      anyOf: [
        { type: 'string', maxLength: 20 },
        { type: 'string', pattern: '^E' },
      ],
    };
    changed.events.PaymentFailed.compatibility = 'full';
    old.events.PaymentFailed.compatibility = 'full';
    const oldFile = write(old);
    const newFile = write(changed);
    const loose = await runCheck({ topologyFile: newFile, cwd: dir, against: oldFile });
    const compat = stepOf(loose, 'compatibility');
    expect(compat.status).toBe('warn');
    expect(compat.findings).toEqual([
      expect.objectContaining({
        rule: 'EFC150',
        severity: 'unknown',
        direction: 'forward',
        pointer: '/properties/reason/anyOf/1',
      }),
    ]);
    expect(loose.ok).toBe(true);
    expect(loose.counts).toMatchObject({ unknown: 1 });
    const strict = await runCheck({ topologyFile: newFile, cwd: dir, against: oldFile, strict: true });
    expect(stepOf(strict, 'compatibility').status).toBe('fail');
    expect(formatCheck(strict, 'github', { cwd: dir })).toMatch(
      /^::error file=t\d+\.yaml,line=\d+,col=\d+,title=EFC150::/m,
    );
    expect(formatCheck(loose, 'github', { cwd: dir })).toMatch(
      /^::warning file=t\d+\.yaml,line=\d+,col=\d+,title=EFC150::/m,
    );
  });

  it('an old topology that does not load is a warning, not a crash', async () => {
    const r = await runCheck({ topologyFile: write(shop()), cwd: dir, against: write('topology: shop\nevents: [\n') });
    expect(stepOf(r, 'compatibility')).toMatchObject({
      status: 'warn',
      findings: [expect.objectContaining({ rule: 'EFC001' })],
    });
    expect(stepOf(r, 'topology-changes').status).toBe('skip');
  });

  it('points a payload finding at the changed key in the new file', async () => {
    const old = shop();
    const changed = shop();
    changed.events.OrderCreated.payload.properties.items.maxItems = 5;
    const newFile = write(changed);
    const r = await runCheck({ topologyFile: newFile, cwd: dir, against: write(old) });
    const [f] = stepOf(r, 'compatibility').findings;
    expect(f).toMatchObject({ rule: 'EFC142', pointer: '/properties/items/maxItems' });
    const text = toYaml(changed).split('\n');
    expect(text[f!.line! - 1]).toMatch(/maxItems: 5/);
  });
});

describe('formats', () => {
  it('escapes workflow-command data and properties', async () => {
    const { escapeData, escapeProperty } = await import('../../generator/src/check/format.js');
    expect(escapeData('50% a\r\nb')).toBe('50%25 a%0D%0Ab');
    expect(escapeProperty('a:b,c')).toBe('a%3Ab%2Cc');
  });
});
