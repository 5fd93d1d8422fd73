import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration and e2e suites start brokers, databases and browsers: keep the 2-core machine sane.
    maxWorkers: 2,
    reporters: ['default', './tests/support/count-reporter.ts'],
  },
});
