import type { Reporter, TestModule } from 'vitest/node';

/** The counts of the run's closing line. */
export interface RunSummary {
  passed: number;
  failed: number;
  skipped: number;
  /** Failures that are not a failed test: a file that failed to import, a failed hook, an unhandled error. */
  outsideTests: string[];
}

/**
 * Counts a run: every test by its state, and every failure that happens outside a test as one failure more (a file
 * that throws while it is imported, a `beforeAll`/`afterAll` that throws, such as a missing `rabbitmq-server`, an
 * unhandled error). Tests that did not run because their suite's set-up failed are counted as skipped; the set-up
 * error itself is the failure.
 */
export function summarizeRun(
  testModules: ReadonlyArray<TestModule>,
  unhandledErrors: ReadonlyArray<unknown> = [],
): RunSummary {
  const summary: RunSummary = {
    passed: 0,
    failed: 0,
    skipped: 0,
    outsideTests: [],
  };
  for (const module of testModules) {
    let failedTests = 0;
    for (const test of module.children.allTests()) {
      const state = test.result().state;
      if (state === 'passed') summary.passed++;
      else if (state === 'failed') failedTests++;
      else summary.skipped++;
    }
    summary.failed += failedTests;
    let failedOutside =
      module.errors().length +
      [...module.children.allSuites()].reduce(
        (n, suite) => n + suite.errors().length,
        0,
      );
    // A file that failed with no error recorded anywhere and no failed test still failed: count it once.
    if (failedOutside === 0 && failedTests === 0 && module.state() === 'failed')
      failedOutside = 1;
    if (failedOutside > 0) {
      summary.failed += failedOutside;
      summary.outsideTests.push(module.relativeModuleId);
    }
  }
  if (unhandledErrors.length > 0) {
    summary.failed += unhandledErrors.length;
    summary.outsideTests.push(
      `${unhandledErrors.length} unhandled error${unhandledErrors.length === 1 ? '' : 's'}`,
    );
  }
  return summary;
}

/**
 * Ends the run with one plain `N passed, N failed, N skipped` line that any CI log reader understands, preceded by
 * the files that failed outside their tests, if any.
 */
export const summaryLine: Reporter = {
  onTestRunEnd(testModules, unhandledErrors, reason) {
    const s = summarizeRun(testModules, unhandledErrors);
    if (s.outsideTests.length > 0)
      console.log(
        `\nFailed outside a test (import, set-up or tear-down error): ${s.outsideTests.join(', ')}`,
      );
    if (reason === 'interrupted') console.log('\nThe run was interrupted.');
    console.log(
      `\n${s.passed} passed, ${s.failed} failed, ${s.skipped} skipped`,
    );
  },
};
