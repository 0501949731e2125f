// `migrate revert` while another git holds the index lock (an IDE's background `git status`,
// a `git fetch`): before, `git revert` failed at once on git's "Unable to create index.lock:
// File exists" (several lines of git's, cut to one), and a lock taken between migrate's
// `git revert --no-commit` and its commit failed the commit and then the abort too, which left
// the revert half done. Now revert does what an agent's commit does: it waits a short bounded
// while (some 3 s) for the lock, holds it until the user's index holds the revert, and makes
// the revert in an index of its own; a lock that stays held fails with one line naming it.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT, AGENT_V2, cleanupAll, copyRepo, demoRepo, ensureBuilt, git, kill, run, runInProcess, tag, tempDir } from './harness.js';

beforeAll(() => ensureBuilt(), 180_000);
afterAll(cleanupAll);

let once: string;
beforeAll(async () => {
  once = await demoRepo();
  const r = await runInProcess(once, ['run', AGENT, '--no-validate'], tag());
  expect(r.exitCode, r.stderr).toBe(0);
}, 120_000);

function migrated(): { root: string; head: string } {
  const root = copyRepo(once);
  return { root, head: git(root, ['rev-parse', 'HEAD']) };
}

/** A `git` first on PATH that, once, when the revert's git call matching `when` starts, runs `action` (in the repository) first. */
function wrapGit(when: string, action: string): { bin: string; marker: string } {
  const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
  const bin = tempDir('migrate-fault-gitwrap-');
  const marker = path.join(bin, 'done');
  writeFileSync(
    path.join(bin, 'git'),
    ['#!/bin/sh', `case " $* " in ${when})`, `  if [ ! -e '${marker}' ]; then`, `    : > '${marker}'`, `    ${action}`, '  fi;;', 'esac', `exec '${realGit}' "$@"`, ''].join('\n'),
  );
  chmodSync(path.join(bin, 'git'), 0o755);
  return { bin, marker };
}

function expectReverted(root: string, head: string, out: string): void {
  expect(out).toMatch(new RegExp(`^reverted ${AGENT}: migration commit ${head.slice(0, 12)} undone by [0-9a-f]{12}\\n?$`));
  expect(git(root, ['rev-parse', 'HEAD~1'])).toBe(head);
  expect(existsSync(path.join(root, AGENT_V2))).toBe(false);
  expect(git(root, ['status', '--porcelain', '--untracked-files=all'])).toBe('');
  expect(existsSync(path.join(root, '.git', 'index.lock')), 'no index.lock').toBe(false);
  expect(existsSync(path.join(root, '.git', 'REVERT_HEAD')), 'no REVERT_HEAD').toBe(false);
}

describe('index.lock held by another git while an agent is reverted', () => {
  it('taken just before the revert starts and held for two seconds: the revert waits for it, then reverts; nothing else changes', async () => {
    const { root, head } = migrated();
    // Reading the migration's record from its commit is the revert's last step before it changes anything.
    const { bin, marker } = wrapGit('*" show "*":./migration-log/"*', `: > .git/index.lock; ( sleep 2; rm -f .git/index.lock ) </dev/null >/dev/null 2>&1 &`);
    const r = await run(root, ['revert', AGENT], tag(), { PATH: `${bin}:${process.env.PATH}` });
    expect(existsSync(marker), 'the lock was taken inside the window').toBe(true);
    expect(r.exitCode, r.stderr).toBe(0);
    expectReverted(root, head, r.stdout);
  }, 60_000);

  it('held throughout by a live git: exit 1, one line naming the lock and its pid, the repository unchanged and the lock left alone; once it is gone the revert works', async () => {
    const { root, head } = migrated();
    // A long-running git of the user: a process whose name starts with "git", working in the repository.
    const holderBin = tempDir('migrate-fault-holder-');
    copyFileSync(execFileSync('sh', ['-c', 'command -v sleep'], { encoding: 'utf8' }).trim(), path.join(holderBin, 'git-ide-status'));
    chmodSync(path.join(holderBin, 'git-ide-status'), 0o755);
    const holder = spawn(path.join(holderBin, 'git-ide-status'), ['60'], { cwd: root, stdio: 'ignore' });
    writeFileSync(path.join(root, '.git', 'index.lock'), '');
    try {
      const r = await runInProcess(root, ['revert', AGENT], tag());
      expect(r.exitCode, r.stderr).toBe(1);
      expect(r.stdout).toBe('');
      const said = /^migrate: cannot revert KVCacheAgent: \.git\/index\.lock is held by a running git \(pid ([\d, ]+)\); wait for it to finish, then run again\n?$/.exec(r.stderr);
      expect(said, r.stderr).not.toBeNull();
      expect(said![1]!.split(', ').map(Number)).toContain(holder.pid);
      expect(git(root, ['rev-parse', 'HEAD'])).toBe(head);
      expect(existsSync(path.join(root, AGENT_V2))).toBe(true);
      expect(git(root, ['--no-optional-locks', 'status', '--porcelain', '--untracked-files=all'])).toBe('');
      expect(readFileSync(path.join(root, '.git', 'index.lock'), 'utf8'), "the other git's lock is left alone").toBe('');
      expect(existsSync(path.join(root, '.git', 'REVERT_HEAD'))).toBe(false);
    } finally {
      kill(holder.pid!);
    }
    rmSync(path.join(root, '.git', 'index.lock'));
    const again = await runInProcess(root, ['revert', AGENT], tag());
    expect(again.exitCode, again.stderr).toBe(0);
    expectReverted(root, head, again.stdout);
  }, 60_000);

  it("another git that tries to take the lock between migrate's revert and its commit (a user's `git add`) finds it held and fails; the revert commits, all of it", async () => {
    const { root, head } = migrated();
    // Just before migrate's commit of the revert (its message names the reverted commit): the
    // user's git takes the lock as git does (O_EXCL, shell noclobber). Before, it got it, and
    // migrate's commit failed, then its abort, leaving the revert's deletions in the work tree.
    const { bin, marker } = wrapGit(
      `*" commit "*"Migrate-Revert: "*`,
      `( set -C; : > .git/index.lock ) 2>/dev/null && echo took > "$(dirname "$0")/took"; ( sleep 1; [ -e "$(dirname "$0")/took" ] && rm -f .git/index.lock ) </dev/null >/dev/null 2>&1 &`,
    );
    const took = path.join(bin, 'took');
    const r = await run(root, ['revert', AGENT], tag(), { PATH: `${bin}:${process.env.PATH}` });
    expect(existsSync(marker), 'the other git ran inside the window').toBe(true);
    expect(existsSync(took), 'the other git could not take the lock').toBe(false);
    expect(r.exitCode, r.stderr).toBe(0);
    expectReverted(root, head, r.stdout);
  }, 60_000);
});
