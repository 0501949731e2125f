// A repository the tool may not write to (issue 11's campaign, third round): the agents'
// folder read-only (no `_v2` can be written), the git dir read-only (no lock, journal or
// commit), and only git's object store read-only (the commit fails after the `_v2` is
// written). Each time every agent fails with one line naming the file, the report still
// prints, nothing of a failed agent stays, and once the repository is writable again the
// next run migrates each agent once. Read-only comes from a read-only bind mount (root
// ignores permission bits) or chmod (any other user); skipped where neither holds.
import { execFileSync } from 'node:child_process';
import { chmodSync, statSync, writeFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseline, cleanupAll, demoRepo, ensureBuilt, expectIntact, migrateCommits, runInProcess, tag, tempDir } from './harness.js';

const mounted: string[] = [];

/** Make `dir` read-only; returns how to make it writable again, or null when this machine cannot. */
function readOnly(dir: string): (() => void) | null {
  if (process.getuid?.() !== 0) {
    const mode = statSync(dir).mode & 0o7777;
    chmodSync(dir, mode & ~0o222);
    return () => chmodSync(dir, mode);
  }
  try {
    execFileSync('mount', ['--bind', dir, dir], { stdio: 'ignore' });
  } catch {
    return null;
  }
  mounted.push(dir);
  try {
    execFileSync('mount', ['-o', 'remount,bind,ro', dir], { stdio: 'ignore' });
  } catch {
    execFileSync('umount', [dir], { stdio: 'ignore' });
    mounted.pop();
    return null;
  }
  return () => {
    execFileSync('umount', [dir], { stdio: 'ignore' });
    mounted.splice(mounted.indexOf(dir), 1);
  };
}

const CAN = (() => {
  const d = tempDir('migrate-ro-probe-');
  const undo = readOnly(d);
  if (!undo) return false;
  let refused = false;
  try {
    writeFileSync(path.join(d, 'x'), 'x');
    rmSync(path.join(d, 'x'));
  } catch {
    refused = true;
  }
  undo();
  return refused;
})();

beforeAll(() => ensureBuilt(), 180_000);
afterAll(() => {
  for (const m of mounted.splice(0)) {
    try {
      execFileSync('umount', [m], { stdio: 'ignore' });
    } catch {
      // busy: left for the system
    }
  }
  cleanupAll();
});

const AGENTS = ['KVCacheAgent', 'RateLimiterAgent'];

async function rerunsOnce(root: string, before: ReturnType<typeof baseline>): Promise<void> {
  const t = tag();
  const again = await runInProcess(root, ['run', ...AGENTS, '--no-validate'], t);
  expect(again.exitCode, again.stderr).toBe(0);
  const commits = await expectIntact(root, before, [t]);
  expect(commits.map((c) => c.agent).sort()).toEqual(AGENTS);
}

describe.skipIf(!CAN)('24. a repository the tool may not write to', () => {
  it('the agents folder read-only: each agent fails with one line naming its _v2; the batch goes on; nothing stays; writable again, the rerun migrates each once', async () => {
    const root = await demoRepo();
    const before = baseline(root);
    const undo = readOnly(path.join(root, 'agents'))!;
    const t = tag();
    let r;
    try {
      r = await runInProcess(root, ['run', ...AGENTS, '--no-validate'], t);
    } finally {
      undo();
    }
    expect(r.exitCode, r.stderr).toBe(1);
    const failed = r.stderr.split('\n').filter((l) => / failed: /.test(l));
    expect(failed, r.stderr).toHaveLength(2);
    expect(failed[0]).toMatch(/KVCacheAgent: failed: agents\/kv_cache_agent_v2\.py: cannot write: E(ROFS|ACCES)/);
    expect(failed[1]).toMatch(/RateLimiterAgent: failed: agents\/rate_limiter_agent_v2\.py: cannot write: E(ROFS|ACCES)/);
    expect(r.stdout).toMatch(/2 failed/);
    await expectIntact(root, before, [t]);
    await rerunsOnce(root, before);
  }, 150_000);

  it('the git dir read-only: exit 1 with one line naming what cannot be created, nothing written', async () => {
    const root = await demoRepo();
    const before = baseline(root);
    const undo = readOnly(path.join(root, '.git'))!;
    const t = tag();
    let r;
    try {
      r = await runInProcess(root, ['run', ...AGENTS, '--no-validate'], t);
    } finally {
      undo();
    }
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
    expect(r.stderr).toMatch(/^migrate: cannot create the run lock \.git\/migrate-run\.lock: E(ROFS|ACCES)/);
    await expectIntact(root, before, [t]);
    await rerunsOnce(root, before);
  }, 150_000);

  it("only git's object store read-only: each commit fails with one line, its _v2 and record go; the rerun commits each once", async () => {
    const root = await demoRepo();
    const before = baseline(root);
    const undo = readOnly(path.join(root, '.git', 'objects'))!;
    const t = tag();
    let r;
    try {
      r = await runInProcess(root, ['run', ...AGENTS, '--no-validate'], t);
    } finally {
      undo();
    }
    expect(r.exitCode, r.stderr).toBe(1);
    const failed = r.stderr.split('\n').filter((l) => / failed: /.test(l));
    expect(failed, r.stderr).toHaveLength(2);
    for (const l of failed) expect(l).toMatch(/failed: commit: cannot commit \w+: .*(Read-only file system|Permission denied)/);
    expect(migrateCommits(root, before.head)).toEqual([]);
    await expectIntact(root, before, [t]);
    await rerunsOnce(root, before);
  }, 150_000);
});
