import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The renderer's modules import the contract (and its client) through the alias the build uses.
  resolve: { alias: { '@contract': resolve(import.meta.dirname, 'src-main/core/contract') } },
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration and e2e suites start brokers, databases and browsers: keep the 2-core machine sane.
    maxWorkers: 2,
    reporters: ['default', './tests/support/count-reporter.ts'],
  },
});
