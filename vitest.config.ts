import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], environment: 'node' } },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          // Real Kafka/Redis/registry on loopback: one file at a time keeps a 2-core machine honest.
          pool: 'forks',
          poolOptions: { forks: { singleFork: true } },
          testTimeout: 120_000,
          hookTimeout: 120_000,
          globalSetup: ['test/kit/require-stack.ts'],
        },
      },
      {
        test: {
          name: 'faults',
          include: ['test/faults/**/*.test.ts'],
          environment: 'node',
          // Faults are injected into the suite's own Kafka and Redis (test/faults/setup.ts starts them):
          // one file at a time, and long timeouts (a fault lasts up to two minutes).
          pool: 'forks',
          poolOptions: { forks: { singleFork: true } },
          testTimeout: 420_000,
          hookTimeout: 180_000,
          globalSetup: ['test/faults/setup.ts'],
        },
      },
    ],
  },
});
