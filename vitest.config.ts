import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { defineConfig } from 'vitest/config';

/**
 * Tests run on the packages' sources: each `@eventform/*` (and `eventform`) import resolves through
 * the same `paths` map the repository-wide type check uses (tsconfig.json), so a test and the
 * package code it exercises share one copy of every module. The built packages are tested as a
 * user installs them by test/packages (npm pack → a fresh project).
 *
 * Two projects. `integration`: every test file that asks for a real service through the helpers
 * in test/support (RabbitMQ, Kafka, PostgreSQL, a private broker node, Chromium); the global setup
 * starts Kafka for them and, with CI set, fails the run when a service is missing. `unit`:
 * everything else, runnable with no broker, database or browser (`npm run test:unit`). Which
 * project a file is in follows from the helpers it imports, so it cannot be filed wrongly.
 */
const ROOT = import.meta.dirname;
const tsconfig = JSON.parse(readFileSync(path.join(ROOT, 'tsconfig.json'), 'utf8')) as {
  compilerOptions: { paths: Record<string, [string]> };
};
const alias = Object.entries(tsconfig.compilerOptions.paths).map(([name, [target]]) => ({
  find: new RegExp(`^${name.replace(/[/.]/g, '\\$&')}$`),
  replacement: path.resolve(ROOT, target),
}));

/** The test/support helpers that reach a real service. */
const SERVICE_HELPERS =
  /\b(requireRabbitmq|requireKafka|requireNats|requirePostgres|findPostgres|privateRabbitmq|privateNats|findChromium)\b/;

function testFiles(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = `${dir}/${e.name}`;
    // test/cluster is its own run: `npm run test:cluster` (vitest.cluster.config.ts).
    if (e.isDirectory()) {
      return rel === 'test/.tmp' || rel === 'test/cluster' || e.name === 'fixtures' ? [] : testFiles(rel);
    }
    return e.name.endsWith('.test.ts') ? [rel] : [];
  });
}
const all = testFiles('test');
const integration = all.filter((f) => SERVICE_HELPERS.test(readFileSync(path.join(ROOT, f), 'utf8')));
const unit = all.filter((f) => !integration.includes(f));

export default defineConfig({
  resolve: { alias },
  test: {
    exclude: ['**/node_modules/**', '**/dist/**', 'test/.tmp/**'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    projects: [
      { extends: true, test: { name: 'unit', include: unit } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: integration,
          // Starts Kafka once (scripts/kafka/kafka.sh) and checks RabbitMQ and PostgreSQL; with CI
          // set a missing broker fails the run before any test starts.
          globalSetup: ['test/support/global-setup.ts'],
        },
      },
    ],
  },
});
