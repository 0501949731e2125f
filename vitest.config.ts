import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { dropRepositoryGitEnv } from './src/record/git-env.js';

// The suite run from a git hook or `rebase --exec` (GIT_DIR set): the tests' `git init` of their
// temporary fleets would re-initialise this repository (core.bare = true, the tests' identity in
// its config). Gone before the forks start, so no test and no process it starts sees them.
dropRepositoryGitEnv();

/**
 * PATH for the tests with `python3` naming, directly, the interpreter the machine's `python3`
 * chooses. A version manager's shim (pyenv's is a bash script running a dozen more processes
 * at every start) cost 0.2 s of CPU per start on a quiet machine and about 0.9 s on a loaded
 * one, paid at every python3 the tests and the CLI runs they make start (version probes,
 * byte-compiles, agents). Same interpreter, same PATH otherwise: a one-line `exec` wrapper
 * in a folder put first. Unchanged PATH when python3 cannot be asked (the tests then fail
 * or pass as they would) or when it already is no shim.
 */
function pathWithDirectPython3(): string | undefined {
  const PATH = process.env.PATH ?? '';
  let exe: string;
  try {
    // -S: sys.executable does not depend on site, whose .pth files cost most of the start (src/validate/python-launch.ts).
    exe = execFileSync('python3', ['-S', '-c', 'import sys; print(sys.executable)'], { encoding: 'utf8', timeout: 30_000 }).trim();
  } catch {
    return undefined;
  }
  if (!exe.startsWith('/')) return undefined;
  let first: string | undefined;
  for (const dir of PATH.split(':')) {
    if (dir && existsSync(path.join(dir, 'python3'))) {
      first = path.join(dir, 'python3');
      break;
    }
  }
  // Already the interpreter itself (no shim in between): nothing to gain.
  if (!first || first === exe || path.dirname(first) === path.dirname(exe)) return undefined;
  const dir = path.join(os.tmpdir(), `migrate-test-python3-${createHash('sha256').update(exe).digest('hex').slice(0, 16)}`);
  const wrapper = path.join(dir, 'python3');
  const text = `#!/bin/sh\nexec '${exe.replaceAll("'", "'\\''")}' "$@"\n`;
  if (!existsSync(wrapper) || readFileSync(wrapper, 'utf8') !== text) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${wrapper}.${process.pid}`;
    writeFileSync(tmp, text);
    chmodSync(tmp, 0o755);
    renameSync(tmp, wrapper);
  }
  // It must start that interpreter here (a noexec temporary folder would not): else no change.
  try {
    if (execFileSync(wrapper, ['-S', '-c', 'import sys; print(sys.executable)'], { encoding: 'utf8', timeout: 30_000 }).trim() !== exe) return undefined;
  } catch {
    return undefined;
  }
  return `${dir}:${PATH}`;
}

const PATH = pathWithDirectPython3();

/**
 * The files that cost most CPU (measured alone, test/helpers/cpu-log.ts) start first, then the
 * small files that take long, so the forks end together: with no results cache (CI's clean
 * clone) vitest orders by file size, which put the 500-agent fleet and the -j test, small
 * files, last. The rest keep vitest's order.
 * The Phase 5 parts of python-hardened mostly wait on the agents they validate (about a quarter
 * of their wall time is CPU): each starts beside files that compute, not beside one another.
 */
const HEAVY_FIRST = [
  'test/cli-newcomer.test.ts',
  // The longest file of the CI runs of 2026-12-05 (227 s wall, 84 CPU-s, unlisted: 41st, first of
  // the rest by its size): base migration units, each run, validated, promoted and reverted one
  // after another (the in-process CLI runs one command at a time). Now two files, the seed-001
  // units (mostly waiting on their agents' EventBus phases) started with the Phase 5 parts.
  'test/base-units.test.ts',
  // The longest file of the run of 2026-12-03 19:36 (full suite with per-file CPU, load 14-16 from
  // other suites): 366 s for 23 CPU-s, 114 agents started one after another, each watched for
  // 1.5-2.5 s; unlisted, it started by its size as the 32nd file. Its cases now run four at a
  // time (75 s alone at load 10 for 21 CPU-s): still mostly waiting, so still started early.
  'test/python-runtime-cases.test.ts',
  'test/typescript-runtime-cases-2.test.ts',
  'test/python-hardened-runtime-1.test.ts',
  'test/cli-batch.test.ts',
  'test/typescript-runtime-cases-3.test.ts',
  'test/python-hardened-runtime-2.test.ts',
  'test/python-hardened.test.ts',
  // 115 s in the full run of 2026-12-04 16:48 (13 TypeScript agents compiled, then each watched
  // through a 4 s survival window): unlisted, it starts 89th of 109 by its size; that run's
  // per-file durations, scheduled over 3 forks in this order, end with it alone for its last
  // ~95 s while two forks idle. Listed here, the same durations schedule to ~1,120 s instead of
  // ~1,173 s (24-79 s less with each file's time varied by +-30 %). Its cases now run three at a
  // time (157 s one after another in the CI run of 2026-12-04 22:36): still mostly waiting, still early.
  // Its 107 cases (36 then) took 1,158 s of wall for 126 CPU-s in the full run of 2026-12-08 (load
  // 23-38), the suite's longest file by far, started 8th: now three parts (test/helpers/
  // ts-runtime-cases.ts), part 1 here, parts 2 and 3 among the first files, each beside files that compute.
  'test/typescript-runtime-cases.test.ts',
  'test/base-units-seed001.test.ts',
  'test/python-hardened-runtime-3.test.ts',
  // 166 s in the last CI run (929 s), as long as a Phase 5 part (115 agents started and stopped,
  // mostly waiting on them); unlisted, it started after every file above, by its size. Its
  // scenarios, like the Phase 5 cases, now run three at a time (alone at load 22: 428 s -> 142-177 s).
  'test/faults/agent-children.test.ts',
  // The fixture suites and the other files of 19-39 CPU-s in the same run, which by their size
  // started among the last half (python-fixtures 58th of 99, 35 CPU-s, 226 s; typescript-fixtures
  // 47th, 33 CPU-s; dangling 50th; flat-tree 66th; e2e-mixed 68th): most CPU first.
  'test/python-fixtures.test.ts',
  // 39 CPU-s in the full run of 2026-12-03 21:00 (a monorepo scanned, run, validated, reverted),
  // started 44th of 100 by its size.
  'test/profile-choice.test.ts',
  'test/typescript-fixtures.test.ts',
  'test/dangling.test.ts',
  'test/validate-leftovers.test.ts',
  'test/incremental-reparse.test.ts',
  'test/e2e-mixed.test.ts',
  'test/flat-tree.test.ts',
  'test/large-fleet.test.ts',
  'test/faults/processes.test.ts',
  'test/faults/registry.test.ts',
  'test/cli-python.test.ts',
  'test/faults/signals.test.ts',
  'test/jobs.test.ts',
  'test/faults/commits.test.ts',
  'test/faults/concurrency.test.ts',
  'test/faults/disk-full.test.ts',
  'test/promote.test.ts',
  'test/record-git.test.ts',
  'test/cli-in-process.test.ts',
  // Small files that take long (waiting on agents, hooks, npm): by size, vitest starts them among
  // the last 25. In the CI run of 2026-12-02 15:00 (`issues ci`) they were most of the last 27
  // files to end (about 350 s of their walls over 3 forks): commit-command 68 s, e2e-node-mixed
  // 52 s, drift 45 s, cli-terminal 44 s, clean-install 41 s (the third from last), revert 31 s,
  // moved 31 s. Longest first, so what is left for the end are files of a few seconds, and a
  // fork that ends early has nothing long to wait on.
  'test/faults/commit-command.test.ts',
  'test/e2e-node-mixed.test.ts',
  'test/faults/drift.test.ts',
  'test/cli-terminal.test.ts',
  'test/clean-install.test.ts',
  'test/faults/revert.test.ts',
  'test/faults/moved.test.ts',
  'test/typescript-verify.test.ts',
  // 69 s wall for 14 CPU-s in the same run (agents watched through their windows), started 43rd.
  'test/validate-agent.test.ts',
  // Unlisted, each 33-78 s wall for 9-14 CPU-s in the full run of 2026-12-05 16:12 (agents started
  // and watched, one validation after another), started by their size among the second half.
  'test/typescript-ports-business-runtime.test.ts',
  'test/validate-deregister.test.ts',
  'test/typescript-exit-code-runtime.test.ts',
  'test/faults/tool-killed.test.ts',
  'test/unit-commit-review.test.ts',
  'test/e2e-status-validated.test.ts',
  'test/faults/no-git.test.ts',
  'test/faults/signals-scan.test.ts',
  'test/parse-store.test.ts',
];
class HeavyFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification) => {
      const i = HEAVY_FIRST.indexOf(path.relative(this.ctx.config.root, f.moduleId));
      return i < 0 ? HEAVY_FIRST.length : i;
    };
    return sorted.map((f, i) => ({ f, i })).sort((a, b) => rank(a.f) - rank(b.f) || a.i - b.i).map((x) => x.f);
  }
}

/**
 * Test files run at once, each in its own forked process: four on the CI machine's two cores.
 * Much of the suite's time is spent waiting (agents' windows under validation, the processes a
 * test starts and waits for), a core idle meanwhile. Three was chosen when a full run cost 1,516
 * CPU-s (floor 758 s on 2 cores); the full run of 2026-12-05 16:12 cost 1,000 CPU-s for 3,309
 * wall-s summed over its files (test/helpers/cpu-log.ts), and CI took 834 s at three: the cores
 * were busy ~1.2 of 2 on average. Those per-file figures, scheduled in this order with each file's
 * CPU shared over the two cores (scaled so that three forks give CI's 834 s), end in ~630 s at
 * four (616-656 with each file's time varied by +-30 %; scripts/suite-schedule.mjs), the cores
 * busy ~1.6 of 2, some room left for the agents' own starts; ~520 s at five, busy ~1.9. Each file
 * keeps its own process and event loop. Concurrent tests inside one file share it, so they are
 * bounded: python-hardened's Phase 5 parts (each case with its own environment and output
 * streams, test/helpers/python-hardened.ts), the TypeScript runtime cases four,
 * faults/agent-children and validate-deregister three at a time; an earlier try of concurrent
 * Phase 5 failed agent windows under load.
 * MIGRATE_TEST_FORKS=N sets another count (3 as before).
 */
const FORKS = Math.max(1, Number(process.env.MIGRATE_TEST_FORKS) || 4);

/**
 * MIGRATE_TEST_ISOLATE=0: each fork runs file after file in one process, the modules it loaded
 * (ts-morph, tree-sitter, the tool's own) kept between files, instead of a new process per file.
 * Measured 2026-12-05 (3 forks, same files alternated, load 12-36 from other suites): 24 small
 * files 26.0-28.3 CPU-s isolated, 19.2 shared (about 0.35 CPU-s a file is its new process and
 * imports); 16 files running the CLI, git and agents 94.5 isolated, 92.8 shared. Over ~110 files
 * that is ~40 of ~1,700 CPU-s (2-3 %): not worth the risk as the default. 45 files have passed
 * shared; a file that leaves a signal handler, an env var, a working directory, a timer or a
 * module cache behind changes the next one. All forks stay started (minForks = maxForks): with
 * fewer, shared runs ended in an unhandled "Terminating worker thread" from tinypool ending an
 * idle fork, and stopped.
 */
const SHARED = process.env.MIGRATE_TEST_ISOLATE === '0';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // MIGRATE_TEST_CPU_LOG=FILE: each test file appends its CPU seconds to FILE (see the helper).
    setupFiles: ['test/helpers/cpu-log.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // A test that fails is run once more before it counts as failed. Most of the suite starts
    // real agents, registries and git on a 2-core machine four files at a time: the two red CI
    // runs before this (1,776 s and 1,839 s, 4,950 tests) each failed on two different timing
    // cases (a log line read before the pipe drained, a daemon slower than 1 s to end) that
    // passed alone. A test that fails both times still fails; one that passed on its second run
    // is named at the end of the output (test/helpers/flaky-reporter.ts) to be fixed.
    // MIGRATE_TEST_RETRY=0 runs each test once.
    retry: Number(process.env.MIGRATE_TEST_RETRY ?? 1),
    reporters: ['default', './test/helpers/flaky-reporter.ts'],
    // Native addons (tree-sitter) and child processes: separate processes are the safe pool.
    pool: 'forks',
    isolate: !SHARED,
    sequence: { sequencer: HeavyFirst },
    poolOptions: { forks: { maxForks: FORKS, minForks: SHARED ? FORKS : 1 } },
    // The built tool (dist/) loads as Node loads it, not through vitest's module transform:
    // the in-process CLI runs (test/helpers/cli.ts cliInProcess) are then the launcher's code
    // exactly, with its worker threads' files and import.meta.url as in the installed tool.
    server: { deps: { external: [/\/dist\/(src|transforms|test)\//] } },
    // Validation's survival window (30 s in the profile) kept short in tests; the tests of the
    // survival check itself set their own window. Every test scans its files as if for the
    // first time (test/scan-cache.test.ts turns the scan cache on for itself).
    env: { MIGRATE_SURVIVAL_WINDOW_S: '1', MIGRATE_CACHE: '0', ...(PATH ? { PATH } : {}) },
  },
});
