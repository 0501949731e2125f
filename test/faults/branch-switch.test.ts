// The branch a run commits on (probe-fault55): the _v2 files are untracked while a run
// validates, so git lets the user switch branches meanwhile. The run used to commit every
// agent it had left onto the branch checked out by then, from the first branch's files,
// reported `migrated`. Each commit is now made only while HEAD names the branch the run
// began on; a run on a detached HEAD says where its commits go.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAll, demoRepo, ensureBuilt, git, migrateCommits, parseRun, resultOf, runInProcess, spawnRun, tag, tagged, waitFor } from './harness.js';

beforeAll(() => ensureBuilt(), 180_000);
afterAll(cleanupAll);

describe('a branch switched while a run validates', () => {
  it("no agent is committed on the other branch: each fails with one line naming both branches; nothing of the run stays on either", async () => {
    const root = await demoRepo();
    const head = git(root, ['rev-parse', 'HEAD']);
    // The other branch differs in a module every demo agent imports, not in the agents' own
    // files: the drift check (original and _v2 unchanged) has nothing to see.
    git(root, ['checkout', '-q', '-b', 'other']);
    const common = path.join(root, 'agents', 'fleet_common.py');
    writeFileSync(common, `${readFileSync(common, 'utf8')}\n# other: a change of its own\n`);
    git(root, ['commit', '-q', '-am', 'other: its own fleet_common']);
    const otherHead = git(root, ['rev-parse', 'HEAD']);
    git(root, ['checkout', '-q', 'main']);

    const t = tag();
    const child = spawnRun(root, ['run', 'KVCacheAgent', 'TextStatsAgent', '--concurrency', '1', '--json'], t);
    await waitFor(() => tagged(t).some((p) => /text_stats_agent_v2\.py/.test(p.cmdline)), 'the second validation');
    git(root, ['checkout', '-q', 'other']);
    const r = await child;

    expect(r.exitCode, r.stderr).toBe(1);
    const out = parseRun(r);
    for (const agent of ['KVCacheAgent', 'TextStatsAgent']) {
      const res = resultOf(out, agent);
      expect([res.status, res.commit, res.output], agent).toEqual(['failed', null, null]);
      expect(res.error).toBe(
        `commit: cannot commit ${agent}: HEAD is on other, not on main where this run began (a checkout during the run?); nothing committed there, since the _v2 was made and validated from main's files`,
      );
    }
    expect(migrateCommits(root, head)).toEqual([]);
    expect(git(root, ['rev-parse', 'HEAD'])).toBe(otherHead);
    expect(git(root, ['rev-parse', 'main'])).toBe(head);
    // No _v2 or record left (what the agents write where git ignores it is theirs).
    expect(git(root, ['status', '--porcelain', '--untracked-files=all'])).toBe('');
    await waitFor(() => tagged(t).length === 0, 'no process of the run', 10_000);
  }, 120_000);
});

describe('a run on a detached HEAD', () => {
  it('commits as asked, and says once that its commits are on no branch', async () => {
    const root = await demoRepo();
    const head = git(root, ['rev-parse', 'HEAD']);
    git(root, ['checkout', '-q', '--detach']);
    const r = await runInProcess(root, ['run', 'KVCacheAgent', '--no-validate'], tag());
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('migrate: warning: HEAD is detached: the migration commits will be on no branch; `git switch -c NAME` afterwards keeps them\n');
    expect(r.stderr.match(/HEAD is detached/g)).toHaveLength(1);
    expect(migrateCommits(root, head).map((c) => c.agent)).toEqual(['KVCacheAgent']);
    expect(git(root, ['rev-parse', 'main'])).toBe(head);
  }, 60_000);
});
