import { readFileSync } from 'node:fs';
import path from 'node:path';
import { defineConfig } from 'vitest/config';

/**
 * Tests run on the packages' sources: each `@eventform/*` (and `eventform`) import resolves through
 * the same `paths` map the repository-wide type check uses (tsconfig.json), so a test and the
 * package code it exercises share one copy of every module. The built packages are tested as a
 * user installs them by test/packages (npm pack → a fresh project).
 */
const tsconfig = JSON.parse(readFileSync(new URL('./tsconfig.json', import.meta.url), 'utf8')) as {
  compilerOptions: { paths: Record<string, [string]> };
};
const alias = Object.entries(tsconfig.compilerOptions.paths).map(([name, [target]]) => ({
  find: new RegExp(`^${name.replace(/[/.]/g, '\\$&')}$`),
  replacement: path.resolve(import.meta.dirname, target),
}));

export default defineConfig({
  resolve: { alias },
  test: {
    include: ['test/**/*.test.ts', 'runtime/**/*.test.ts', 'generator/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**', 'test/.tmp/**'],
    // Starts Kafka once (scripts/kafka/kafka.sh) and checks RabbitMQ and PostgreSQL; with CI=true
    // a missing broker fails the run before any test starts.
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
});
