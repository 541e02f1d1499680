import { defineConfig } from 'vitest/config';
import { summaryLine } from './test/support/summary-line.reporter.js';

export default defineConfig({
  oxc: {
    decorator: { legacy: true, emitDecoratorMetadata: true },
  },
  test: {
    include: ['test/**/*.spec.ts'],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // The closing line counts files that fail before or after their tests (import or set-up errors) as failures.
    reporters: ['default', summaryLine],
  },
});
