// Names every test that failed and then passed when vitest ran it again (`retry` in
// vitest.config.ts), with what it failed on first: a retry keeps CI green through a timing
// failure of a loaded machine, and this keeps that failure visible in the run's output (and in
// MIGRATE_TEST_FLAKY_LOG, one JSON line each, when set) so it is fixed, not forgotten.
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import type { Reporter, TestCase } from 'vitest/node';

export default class FlakyReporter implements Reporter {
  private readonly flaky: Array<{ file: string; test: string; retries: number; first: string }> = [];

  onTestCaseResult(test: TestCase): void {
    const d = test.diagnostic();
    if (!d?.flaky) return;
    const first = (test.result().errors ?? [])[0];
    this.flaky.push({
      file: path.relative(process.cwd(), test.module.moduleId),
      test: test.fullName,
      retries: d.retryCount,
      first: (first?.message ?? '').split('\n')[0]!.slice(0, 300),
    });
  }

  onTestRunEnd(): void {
    if (!this.flaky.length) return;
    const log = process.env.MIGRATE_TEST_FLAKY_LOG;
    const lines = this.flaky.map((f) => `  ${f.file} > ${f.test}: passed on retry ${f.retries}; first failed with: ${f.first}`);
    process.stdout.write(`\n${this.flaky.length} test(s) passed only when run again (flaky; fix them):\n${lines.join('\n')}\n`);
    if (log) for (const f of this.flaky) appendFileSync(log, `${JSON.stringify(f)}\n`);
  }
}
