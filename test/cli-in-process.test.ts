// The in-process CLI (test/helpers/cli.ts cliInProcess: dist/src/cli.js main() with captured
// streams, run inside the test's process) gives what the spawned CLI (node bin/migrate.js)
// gives: the same commands on two copies of the same real repository, one each way, print the
// same standard output and error, end with the same exit code and leave the same files and
// commits. Output that differs between any two runs (the temporary root, commit ids, times,
// ports) is masked the same way on both sides. Tests that use cliInProcess rely on this.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, cliInProcess, demoFleetRepos, ensureBuilt, git, hashTree, listFiles, tempDirsOfThisFile, type CliResult } from './helpers/cli.js';

const temps = tempDirsOfThisFile();
beforeAll(() => ensureBuilt(), 180_000);
const demoRepo = demoFleetRepos(temps, 'migrate-inproc-');

/** What differs between two runs whatever runs them: the root, commit ids, times, durations, pids, ports. */
function masked(root: string, text: string): string {
  return text
    .replaceAll(root, '<root>')
    .replace(/\b[0-9a-f]{40}\b/g, '<sha>')
    .replace(/\b(?=[0-9a-f]*\d)[0-9a-f]{7,12}\b/g, '<short>')
    .replace(/\d{8}T\d{6}Z/g, '<stamp>')
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z?/g, '<time>')
    .replace(/"(duration_ms|elapsed_ms|ms|wall_ms|seconds|pid|port|pgid|started|ended|at)": [0-9.]+/g, '"$1": <n>')
    .replace(/\b\d+(\.\d+)? ?(ms|s)\b/g, '<dur>')
    .replace(/"(\w*port)": \d+/g, '"$1": <port>')
    .replace(/\b\d{4,5} \(legacy \d{4,5}\)/g, '<port> (legacy <port>)')
    .replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:<port>')
    .replace(/localhost:\d+/g, 'localhost:<port>')
    .replace(/port \d+/g, 'port <n>')
    .replace(/pid \d+/g, 'pid <n>');
}

function same(a: { root: string; r: CliResult }, b: { root: string; r: CliResult }, what: string): void {
  expect(b.r.exitCode, `${what}: exit code (${b.r.stderr})`).toBe(a.r.exitCode);
  expect(masked(b.root, b.r.stdout), `${what}: stdout`).toBe(masked(a.root, a.r.stdout));
  expect(masked(b.root, b.r.stderr), `${what}: stderr`).toBe(masked(a.root, a.r.stderr));
}

/** The files and commits a command left: every file's content (records masked), the log's subjects and files. */
function state(root: string): { files: Record<string, string>; log: string } {
  const files: Record<string, string> = {};
  const hashes = hashTree(root);
  for (const f of listFiles(root)) files[masked(root, f)] = f.startsWith('migration-log/') || f.startsWith('state/') ? masked(root, readFileSync(path.join(root, f), 'utf8')) : hashes.get(f)!;
  return { files, log: masked(root, git(root, ['log', '--format=%s%n%b', '--name-status'])) };
}

/**
 * Run each step both ways (one repository each) and compare output, exit code, files and commits
 * after each. A step with `input` has it on its standard input (review's answers).
 */
async function compareSteps(spawned: string, inProcess: string, steps: Array<string[] | { args: string[]; input: string }>): Promise<void> {
  for (const step of steps) {
    const { args, input } = Array.isArray(step) ? { args: step, input: undefined } : step;
    const a = { root: spawned, r: await cli(spawned, args, { input }) };
    const b = { root: inProcess, r: await cliInProcess(inProcess, args, { input }) };
    same(a, b, args.join(' '));
    const sa = state(spawned);
    const sb = state(inProcess);
    expect(Object.keys(sb.files), `${args.join(' ')}: the files`).toEqual(Object.keys(sa.files));
    for (const f of Object.keys(sa.files)) expect(sb.files[f], `${args.join(' ')}: ${f}`).toBe(sa.files[f]);
    expect(sb.log, `${args.join(' ')}: the commits`).toBe(sa.log);
  }
}

// Each command costs a Node start and module loading spawned (1-2 CPU-s under load) and a
// validation both ways: the commands are the ones where the two could differ (commander's help
// and usage errors on the given streams, exit codes 0/1/2, colour state set by one command and
// seen by the next, JSON and text output, git commits, a validation's agents, registry, metrics
// and watchdog, records read back), once each.
describe('the in-process CLI and the spawned CLI agree', () => {
  it('on help, scan --color always then scan --check, and a usage error', async () => {
    await compareSteps(await demoRepo(), await demoRepo(), [
      ['--help'],
      ['scan', '--color', 'always'],
      ['scan', '--check'],
      ['run', '--all', '--jobs', '0'],
    ]);
  }, 600_000);

  // One validated run each way (agents started, registry, metrics, watchdog, the commit): a
  // validation is most of this file's CPU, a second one (`validate`) would prove no more.
  it('on a validated and committed run, a --no-commit run, diff, a refused commit, review answered on stdin, status and revert', async () => {
    const spawned = await demoRepo();
    const inProcess = await demoRepo();
    await compareSteps(spawned, inProcess, [
      ['run', 'KVCacheAgent', '--json'],
      ['run', 'TextStatsAgent', 'RateLimiterAgent', '--no-validate', '--no-commit'],
      ['diff', 'TextStatsAgent'],
      ['commit', 'RateLimiterAgent'],
      // Answers read from standard input (a pipe, not a terminal): one rejected, then the end of input quits.
      { args: ['review', 'TextStatsAgent', 'RateLimiterAgent'], input: 's\nr\n' },
      ['status', '--json'],
      ['revert', 'KVCacheAgent', '--json'],
    ]);
    // The steps did what they say (the comparison is not between two empty results).
    const subjects = git(inProcess, ['log', '--format=%s', '-3']).split('\n');
    expect(subjects[0]).toMatch(/^migrate\(KVCacheAgent\): revert migration [0-9a-f]{7,}$/);
    expect(subjects.slice(1)).toEqual(['migrate(KVCacheAgent): move onto BaseAgent', 'add the reference BaseAgent']);
    const record = JSON.parse(git(inProcess, ['show', 'HEAD~1:migration-log/KVCacheAgent.json'])) as { validation: { ok: boolean; checks: Array<{ name: string }> } };
    expect(record.validation.ok).toBe(true);
    expect(record.validation.checks.length).toBeGreaterThan(3);
    // review, in file order, skipped RateLimiterAgent and rejected TextStatsAgent (its _v2 removed).
    expect(state(inProcess).files['agents/rate_limiter_agent_v2.py']).toBeDefined();
    expect(state(inProcess).files['agents/text_stats_agent_v2.py']).toBeUndefined();
  }, 600_000);
});
