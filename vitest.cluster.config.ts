import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * `npm run test:cluster`: the failover tests in test/cluster on a private three-node RabbitMQ
 * cluster and a three-broker Kafka cluster, which the tests start themselves
 * (scripts/cluster/*.sh). Not part of `npm test` (vitest.config.ts leaves test/cluster out): they
 * take minutes and kill brokers. `.ci/run` runs them after `npm test`. They never skip: a missing
 * RabbitMQ installation, Java or PostgreSQL fails them.
 */
export default mergeConfig(
  { resolve: base.resolve },
  defineConfig({
    test: {
      include: ['test/cluster/**/*.test.ts'],
      exclude: ['**/node_modules/**', '**/dist/**', 'test/.tmp/**'],
      // One file at a time: the clusters use fixed ports.
      fileParallelism: false,
      testTimeout: 900_000,
      hookTimeout: 420_000,
    },
  }),
);
