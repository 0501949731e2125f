// Per test file CPU, for finding where the suite's time goes: with MIGRATE_TEST_CPU_LOG=FILE
// set, each test file appends one JSON line to FILE when it ends: the CPU seconds of its
// worker process (user, sys) and of the child processes it waited for (the CLI runs, git,
// python3 and what they waited for in turn), and its wall seconds. Counted from when this setup
// file runs, which vitest does anew before each test file's imports: a worker that runs several
// files one after another (isolate off) gives each its own figures, imports included. Nothing is
// recorded without the variable.
import { appendFileSync, readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';

const out = process.env.MIGRATE_TEST_CPU_LOG;
/** MIGRATE_TEST_CPU_LOG_TESTS=FILE: one line per test (file, test, the same fields; a file's
 *  beforeAll work, such as a run its tests share, is in no test's line). */
const perTest = process.env.MIGRATE_TEST_CPU_LOG_TESTS;

/** utime, stime, cutime, cstime of this process in seconds (/proc/self/stat fields 14-17). */
function times(): number[] {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const tick = 100; // USER_HZ on Linux
  return fields.slice(11, 15).map((f) => Number(f) / tick);
}

if (out) {
  const start = Date.now();
  const before = times();
  let file = '';
  beforeAll(() => {
    file = expect.getState().testPath ?? '';
  });
  afterAll(() => {
    const [utime, stime, cutime, cstime] = times().map((t, i) => t - before[i]!) as [number, number, number, number];
    const line = { file: file.replace(`${process.cwd()}/`, ''), user: utime + cutime, sys: stime + cstime, self: utime + stime, children: cutime + cstime, wall: (Date.now() - start) / 1000 };
    appendFileSync(out, `${JSON.stringify(line)}\n`);
  });
}

if (perTest) {
  let start = 0;
  let before: number[] = [];
  beforeEach(() => {
    start = Date.now();
    before = times();
  });
  afterEach(() => {
    const [utime, stime, cutime, cstime] = times().map((t, i) => t - before[i]!) as [number, number, number, number];
    const state = expect.getState();
    const file = (state.testPath ?? '').replace(`${process.cwd()}/`, '');
    const line = { file, test: state.currentTestName ?? '', user: utime + cutime, sys: stime + cstime, self: utime + stime, children: cutime + cstime, wall: (Date.now() - start) / 1000 };
    appendFileSync(perTest, `${JSON.stringify(line)}\n`);
  });
}
