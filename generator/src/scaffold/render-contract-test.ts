/**
 * The contract test `eventform scaffold` writes for a consuming service,
 * `<dir>/<service>/<service>.contract.test.ts` (vitest).
 *
 * What it checks, per consumer of the service and per event it consumes:
 * - every example the topology declares for the event is delivered to that consumer through the
 *   test harness (in-memory transport, validation on, a fresh harness per example);
 * - the handler handled it: no dead letter, nothing dropped (`deadLetter: false` consumers);
 * - every event published meanwhile is declared in the service's `produces` and its payload passes
 *   the generated validator.
 * An event without examples gets an `it.todo` naming it.
 *
 * The handlers are wired with the generated `register<Service>(harness.runtime, handlers)`, as in
 * `main.ts`; the harness sees every registration on its runtime, so `deliver` waits for all of them.
 *
 * The examples, consumers and `produces` are read from the generated `topology` when the test runs,
 * not copied into the file: after `eventform generate`, new examples and new handlers are tested
 * without touching this user-owned file. The runtime itself rejects an invalid or undeclared
 * publish (the handler throws, is retried, then dead-lettered), so such a handler fails the test
 * with the validation error in the message; the check of `published` is the second line of defence.
 *
 * Pure: names in, text out.
 */
import type { TopologyIR } from '@eventform/runtime';
import { escapeLineComment, quote, type Names } from '../naming.js';
import { lineComment } from './comment.js';

export interface ContractTestInput {
  ir: TopologyIR;
  names: Names;
  service: string;
  /** Module specifier of the generated entry point, relative to the test file. */
  generatedImport: string;
  /** @example '@eventform/runtime' */
  runtimeImport: string;
  /** @example '@eventform/runtime/testing' */
  testingImport: string;
}

/** How long one example may take, retries included (the harness waits, then the test times out). */
export const CONTRACT_TEST_TIMEOUTS = { harnessMs: 15_000, testMs: 20_000 } as const;

/** File name of a service's contract test. */
export function contractTestFileName(service: string): string {
  return `${service}.contract.test.ts`;
}

export function renderContractTest(input: ContractTestInput): string {
  const { ir, names, service } = input;
  const sn = names.services.get(service);
  if (!sn) throw new Error(`renderContractTest: no service ${service}`);
  const source = escapeLineComment(ir.sourceFile);
  const svc = escapeLineComment(service);
  const register = sn.register;
  const header = lineComment([
    `Contract test of ${svc}: yours to edit. Created by \`eventform scaffold\` from ${source}.`,
    '',
    `Every example ${source} declares for an event ${svc} consumes is delivered to the handler that consumes it, ` +
      'on the in-memory transport with validation on. A test fails when the handler does not handle the event (it ' +
      `throws until the event is dead-lettered or dropped), or when it publishes an event ${svc} does not declare in ` +
      '`produces` or whose payload does not match its schema. Examples, consumers and `produces` are read from the ' +
      'generated topology, so after `eventform generate` new ones are tested without editing this file. Add your own ' +
      'cases below; run with `npx vitest run <this file>`.',
  ]);
  return `${header}import type { ValidatorMap } from ${quote(input.runtimeImport)};
import { createTestHarness, type TestHarness } from ${quote(input.testingImport)};
import { describe, expect, it } from 'vitest';
import { ${register}, topology, validators } from ${quote(input.generatedImport)};
import { handlers } from './handlers.js';

const SERVICE = ${quote(service)};
const TIMEOUTS = { harnessMs: ${fmt(CONTRACT_TEST_TIMEOUTS.harnessMs)}, testMs: ${fmt(CONTRACT_TEST_TIMEOUTS.testMs)} };

const service = topology.services.find((s) => s.name === SERVICE);
if (!service) throw new Error(\`\${SERVICE} is not in the generated topology; run \\\`eventform generate\\\`\`);
const produces = new Set(service.produces);

describe(\`\${SERVICE} contract\`, () => {
  for (const consumer of topology.consumers.filter((c) => c.service === SERVICE)) {
    describe(consumer.id, () => {
      for (const eventName of consumer.events) {
        const examples = topology.events.find((e) => e.name === eventName)?.examples ?? [];
        if (examples.length === 0) {
          it.todo(
            \`\${eventName}: no examples to test with; add \\\`examples:\\\` to \${eventName} in \${topology.sourceFile} \` +
              'and run \`eventform generate\`',
          );
          continue;
        }
        examples.forEach((example, index) => {
          const title = \`handles \${eventName} example \${index + 1} and publishes only declared, valid events\`;
          it(title, { timeout: TIMEOUTS.testMs }, async () => {
            const harness = createTestHarness({ topology, validators, timeoutMs: TIMEOUTS.harnessMs });
            ${register}(harness.runtime, handlers);
            try {
              await harness.deliver(eventName, example, { consumer: consumer.id });

              const stats = harness.runtime.health().consumers;
              const handled = stats.find((c) => c.id === consumer.id)?.handled ?? 0;
              expect(handled, \`\${consumer.id} did not handle the example\${problems(harness)}\`).toBeGreaterThan(0);
              expect(harness.deadLetters, \`dead letters\${problems(harness)}\`).toEqual([]);
              const dropped = stats.filter((c) => c.dropped > 0).map((c) => c.id);
              expect(dropped, \`consumers that dropped a message\${problems(harness)}\`).toEqual([]);

              for (const event of harness.published) {
                const declared = produces.has(event.type);
                expect(declared, \`\${SERVICE} published \${event.type}, which is not in its produces\`).toBe(true);
                const validate = (validators as ValidatorMap)[event.type];
                expect(validate, \`no generated validator for \${event.type}\`).toBeDefined();
                const valid = validate!(event.data);
                const errors = JSON.stringify(validate!.errors);
                expect(valid, \`\${SERVICE} published an invalid \${event.type}: \${errors}\`).toBe(true);
              }
            } finally {
              await harness.stop();
            }
          });
        });
      }
    });
  }
});

/** The runtime's warnings and errors, for failure messages. */
function problems(harness: TestHarness): string {
  const lines = harness.logs
    .filter((l) => l.level === 'warn' || l.level === 'error')
    .filter((l) => !l.message.endsWith('is not implemented yet'))
    .map((l) => {
      const error = l.fields['error'];
      const detail = error instanceof Error ? error.message : typeof error === 'string' ? error : '';
      const attempt = typeof l.fields['attempt'] === 'number' ? \` (attempt \${l.fields['attempt']})\` : '';
      return \`\\n  \${l.level}: \${l.message}\${attempt}\${detail ? \`: \${detail}\` : ''}\`;
    });
  return lines.length > 0 ? \`; the runtime logged:\${lines.join('')}\` : '';
}
`;
}

function fmt(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, '_');
}
