import type { Reporter, TestModule, TestSuite } from 'vitest/node';

/**
 * Prints one plain closing line, `Summary: N passed, N failed, N skipped`, after the
 * default reporter's: CI reads it to tell a run that tested nothing from one that passed.
 * A file or suite that failed outside its tests (an error in a hook, in collection) counts
 * as one failure of its own, so the line never says "0 failed" for a red run.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const module of testModules) {
      let failedTests = 0;
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failedTests++;
        else skipped++;
      }
      failed += failedTests;
      // Suites (and the file itself) that failed with no failing test of their own inside.
      const owners: (TestModule | TestSuite)[] = [module, ...module.children.allSuites()];
      for (const owner of owners) {
        if (owner.state() !== 'failed') continue;
        let inner = false;
        for (const test of owner.children.allTests()) if (test.result().state === 'failed') inner = true;
        if (!inner) failed++;
      }
    }
    process.stdout.write(`\nSummary: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
