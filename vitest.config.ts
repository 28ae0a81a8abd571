import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'runtime/**/*.test.ts', 'generator/**/*.test.ts'],
    exclude: ['**/node_modules/**', 'test/.tmp/**'],
    // Starts Kafka once (scripts/kafka/kafka.sh) and checks RabbitMQ and PostgreSQL; with CI=true
    // a missing broker fails the run before any test starts.
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
});
