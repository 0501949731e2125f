// Two commands that write to one repository at the same time, and a lock left by a run
// killed outright. Before, the run journal (.git/migrate-run.json) was the only guard and
// it was not created exclusively: two runs started together (or together after a crash)
// both read "no live run", both recovered the dead run's files and both went on; the
// second failed on git's index.lock with a line that named no run, or deleted the other's
// fresh _v2 files and journal. Now every command that writes holds .git/migrate-run.lock,
// created atomically: the other command fails at once with one line naming the pid that
// holds it, and a lock whose pid is dead is taken over with a warning.
import { execa } from 'execa';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliInProcess } from '../helpers/cli.js';
import { AGENT, BIN, baseline, cleanupAll, demoRepo, ensureBuilt, expectIntact, git, migrateCommits, run, runInProcess, stray, tag, tagged, waitFor } from './harness.js';

beforeAll(() => ensureBuilt(), 180_000);
afterAll(cleanupAll);

const lockOf = (root: string) => path.join(root, '.git', 'migrate-run.lock');
const journalOf = (root: string) => path.join(root, '.git', 'migrate-run.json');

function journalFiles(root: string): number {
  try {
    return (JSON.parse(readFileSync(journalOf(root), 'utf8')) as { files: string[] }).files.length;
  } catch {
    return 0;
  }
}

/** Start `migrate <args>` in the background (its pid known at once). */
function start(root: string, args: string[], t: string) {
  const child = execa('node', [BIN, ...args, '--root', root], { cwd: root, reject: false, stdin: 'ignore', env: { FORCE_COLOR: '0', NO_COLOR: '1', FAULT_TAG: t } });
  stray(child.pid);
  setTimeout(() => child.kill('SIGKILL'), 110_000).unref();
  return child;
}

const OTHER = /^migrate: another migrate run \(pid (\d+), started [^)]+: migrate [^)]+\) is in progress in this repository; wait for it to end$/m;

describe('22. one writing command per repository', () => {
  it('two `run --all` started together after a run killed with -9: one recovers and migrates each agent once, the other fails with one line naming its pid', async () => {
    const root = await demoRepo();
    const before = baseline(root);
    const t0 = tag();
    const killed = start(root, ['run', '--all', '--no-validate'], t0);
    // Killed once its journal holds several unfinished files: the recovery the two next runs face is real.
    await waitFor(() => journalFiles(root) >= 8 || killed.exitCode !== null, 'the first run to register its files');
    expect(killed.exitCode, 'the run ended before it could be killed').toBeNull();
    killed.kill('SIGKILL');
    await killed;
    const [ta, tb] = [tag(), tag()];
    const a = start(root, ['run', '--all', '--no-validate'], ta);
    const b = start(root, ['run', '--all', '--no-validate'], tb);
    const [ra, rb] = await Promise.all([a, b]);
    const results = [
      { r: ra, pid: a.pid },
      { r: rb, pid: b.pid },
    ];
    const won = results.filter((x) => x.r.exitCode === 0);
    const lost = results.filter((x) => x.r.exitCode !== 0);
    expect(won.length, results.map((x) => `${x.r.exitCode}: ${String(x.r.stderr).slice(-400)}`).join('\n---\n')).toBe(1);
    expect(lost[0]!.r.exitCode).toBe(2);
    const said = String(lost[0]!.r.stderr).trim();
    expect(said.split('\n'), said).toHaveLength(1);
    expect(said).toMatch(OTHER);
    expect(Number(OTHER.exec(said)![1])).toBe(won[0]!.pid);
    expect(String(won[0]!.r.stderr)).toMatch(/recovered from a killed run/);
    const commits = await expectIntact(root, before, [t0, ta, tb]);
    expect(commits.length).toBe(13);
    expect(existsSync(lockOf(root)), 'no run lock left').toBe(false);
  }, 150_000);

  it('a revert while a run writes: the revert fails with one line naming the run, the run finishes alone', async () => {
    const root = await demoRepo();
    const first = await runInProcess(root, ['run', AGENT, '--no-validate'], tag());
    expect(first.exitCode, first.stderr).toBe(0);
    const before = baseline(root);
    const t1 = tag();
    const busy = start(root, ['run', '--all', '--no-validate'], t1);
    await waitFor(() => existsSync(lockOf(root)) || busy.exitCode !== null, 'the run to take its lock');
    const rv = await runInProcess(root, ['revert', AGENT], tag());
    const done = await busy;
    expect(done.exitCode, String(done.stderr)).toBe(0);
    expect(rv.exitCode, rv.stderr).toBe(2);
    expect(rv.stderr.trim()).toMatch(OTHER);
    expect(Number(OTHER.exec(rv.stderr)![1])).toBe(busy.pid);
    const commits = await expectIntact(root, before, [t1]);
    expect(commits.length).toBe(12);
    // Now alone, the revert works.
    const again = await runInProcess(root, ['revert', AGENT], tag());
    expect(again.exitCode, again.stderr).toBe(0);
    expect(existsSync(lockOf(root)), 'no run lock left').toBe(false);
  }, 150_000);

  it('a lock left by a killed command whose pid is dead is taken over with one warning; a live holder is named', async () => {
    const root = await demoRepo();
    const before = baseline(root);
    // A process that is surely gone: one we started and waited for.
    const dead = execa('true');
    const deadPid = dead.pid!;
    await dead;
    writeFileSync(lockOf(root), JSON.stringify({ pid: deadPid, started: '2026-01-01T00:00:00.000Z', command: 'run --all' }));
    const t1 = tag();
    const r = await runInProcess(root, ['run', AGENT, '--no-validate'], t1);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain(`migrate: removed .git/migrate-run.lock left by a migrate command that is no longer running (pid ${deadPid}, started 2026-01-01T00:00:00.000Z: migrate run --all)`);
    await expectIntact(root, before, [t1]);
    expect(existsSync(lockOf(root))).toBe(false);
    // A live holder (this test's own process stands for it) is never taken over.
    writeFileSync(lockOf(root), JSON.stringify({ pid: process.pid, started: '2026-01-01T00:00:00.000Z', command: 'run --all' }));
    const refused = await run(root, ['revert', AGENT], tag());
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr.trim()).toBe(
      `migrate: another migrate run (pid ${process.pid}, started 2026-01-01T00:00:00.000Z: migrate run --all) is in progress in this repository; wait for it to end (if no migrate is running, remove .git/migrate-run.lock)`,
    );
    expect(existsSync(lockOf(root)), 'the live holder keeps its lock').toBe(true);
    expect(migrateCommits(root, before.head).length).toBe(1);
  }, 120_000);
});

describe('23. `migrate review` killed with -9 while it commits an accepted agent', () => {
  it('the _v2 stays as it was, the next command puts the index back and removes the killed git locks, and a rerun of review commits once', async () => {
    const root = await demoRepo();
    const t0 = tag();
    const left = await runInProcess(root, ['run', AGENT, '--no-commit', '--no-validate'], t0);
    expect(left.exitCode, left.stderr).toBe(0);
    const v2 = path.join(root, 'agents', 'kv_cache_agent_v2.py');
    const v2Bytes = readFileSync(v2);
    const head = git(root, ['rev-parse', 'HEAD']);
    const marker = path.join(root, '.git', 'hook-started');
    writeFileSync(path.join(root, '.git', 'hooks', 'pre-commit'), `#!/bin/sh\ntouch "${marker}"\nsleep 20\n`, { mode: 0o755 });
    const child = execa('node', [BIN, 'review', AGENT, '--root', root], { cwd: root, reject: false, detached: true, input: 'a\n', env: { FORCE_COLOR: '0', NO_COLOR: '1' } });
    stray(child.pid);
    await waitFor(() => existsSync(marker) || child.exitCode !== null, 'the accepted commit to start', 60_000);
    expect(child.exitCode, String(child.stdout)).toBeNull();
    process.kill(-child.pid!, 'SIGKILL');
    await child;
    writeFileSync(path.join(root, '.git', 'hooks', 'pre-commit'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    // Any next command puts the repository back first; `status` only reads, `review` writes.
    // In process (the killed one was a process of its own), its answer on its standard input.
    const again = await cliInProcess(root, ['review', AGENT], { input: 'a\n' });
    expect(again.exitCode, `${again.stdout}\n${again.stderr}`).toBe(0);
    expect(String(again.stdout)).toMatch(/1 accepted/);
    expect(String(again.stderr)).toMatch(/recovered from a killed run/);
    expect(migrateCommits(root, head).map((c) => [c.agent, c.files])).toEqual([[AGENT, ['agents/kv_cache_agent_v2.py', `migration-log/${AGENT}.json`]]]);
    expect(readFileSync(v2).equals(v2Bytes), 'the _v2 committed is the one reviewed').toBe(true);
    expect(git(root, ['status', '--porcelain', '--untracked-files=all'])).toBe('');
    expect(existsSync(path.join(root, '.git', 'index.lock'))).toBe(false);
    expect(existsSync(lockOf(root))).toBe(false);
    expect(tagged(t0)).toEqual([]);
  }, 150_000);
});

describe('28. `migrate review`\'s edit holds the run lock while the editor is open', () => {
  it('`migrate commit` of the agent under edit fails with one line naming the review; the reviewer\'s saved edit stays uncommitted, HEAD unmoved', async () => {
    const root = await demoRepo();
    const t0 = tag();
    const left = await run(root, ['run', AGENT, '--no-commit', '--profile', 'fast'], t0);
    expect(left.exitCode, left.stderr).toBe(0);
    const head = git(root, ['rev-parse', 'HEAD']);
    // An editor that stays open until the test lets it save (bounded: 60 s).
    const marker = path.join(root, '.git', 'editor-open');
    const go = path.join(root, '.git', 'editor-go');
    const editor = path.join(root, '.git', 'fake-editor.sh');
    writeFileSync(editor, `#!/bin/sh\ntouch "${marker}"\ni=0\nwhile [ ! -f "${go}" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done\nprintf '# reviewed by hand\\n' >> "$1"\n`, { mode: 0o755 });
    const review = execa('node', [BIN, 'review', AGENT, '--root', root], { cwd: root, reject: false, input: 'e\nq\n', env: { FORCE_COLOR: '0', NO_COLOR: '1', EDITOR: editor, VISUAL: '' } });
    stray(review.pid);
    await waitFor(() => existsSync(marker) || review.exitCode !== null, 'the editor to open', 60_000);
    expect(review.exitCode, String(review.stdout)).toBeNull();
    const commit = await runInProcess(root, ['commit', AGENT], tag());
    writeFileSync(go, '');
    const reviewed = await review;
    expect(commit.exitCode, `${commit.stdout}\n${commit.stderr}`).toBe(2);
    expect(commit.stderr.trim()).toMatch(OTHER);
    expect(commit.stderr).toContain(`migrate review ${AGENT}`);
    expect(reviewed.exitCode, String(reviewed.stdout)).toBe(0);
    expect(String(reviewed.stdout)).toMatch(/edited; not validated since/);
    expect(git(root, ['rev-parse', 'HEAD']), 'nothing committed mid-edit').toBe(head);
    expect(readFileSync(path.join(root, 'agents', 'kv_cache_agent_v2.py'), 'utf8')).toMatch(/# reviewed by hand\n$/);
    expect(git(root, ['status', '--porcelain', '--untracked-files=all', '--', 'agents'])).toBe('?? agents/kv_cache_agent_v2.py');
    expect(existsSync(lockOf(root)), 'no run lock left').toBe(false);
    expect(tagged(t0)).toEqual([]);
  }, 150_000);
});
