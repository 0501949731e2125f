// The user's index after an agent's commit. The commit is built in migrate's own index; the
// user's index then takes the agent's paths. Before, that write came after the commit, and when
// it failed (a file-size limit or a full disk that kills git as it writes the index) the run
// printed a warning on stderr and reported the agent committed, exit 0, while the user's
// `git status` showed its `_v2` and record staged as deleted (and untracked): a plain
// `git commit` of the user deleted them from the branch, and the next run refused to start
// ("staged changes in the index"). Now the user's index is written (into the index.lock held)
// before the commit is made: a write that fails fails that agent, one line in its JSON result,
// nothing committed, nothing staged, and the next run commits it.
import { execFileSync } from 'node:child_process';
import { chmodSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT, baseline, cleanupAll, demoRepo, ensureBuilt, expectIntact, git, parseRun, run, tag, tempDir } from './harness.js';

beforeAll(() => ensureBuilt(), 180_000);
afterAll(cleanupAll);

const AGENTS = [AGENT, 'TextStatsAgent'];

describe("a git killed as it writes the user's index for an agent's commit", () => {
  it('each agent fails with one line naming the index, nothing is committed or staged, status shows them legacy; the next run commits each once', async () => {
    const root = await demoRepo();
    const before = baseline(root);
    // A file-size limit of 0 for the gits that write the user's index (the next one migrate
    // prepares beside its own, or before, into its lock; and a `git reset` of paths, which the old
    // fallback ran): they die of SIGXFSZ at their first write.
    const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
    const bin = tempDir('migrate-fault-gitwrap-');
    writeFileSync(
      path.join(bin, 'git'),
      ['#!/bin/sh', 'case "$GIT_INDEX_FILE" in */.git/index.lock|*/.git/migrate-index-*/user-index) ulimit -f 0;; esac', 'case " $* " in *" reset "*) ulimit -f 0;; esac', `exec '${realGit}' "$@"`, ''].join('\n'),
    );
    chmodSync(path.join(bin, 'git'), 0o755);
    const t = tag();
    const r = await run(root, ['run', ...AGENTS, '--no-validate', '--json'], t, { PATH: `${bin}:${process.env.PATH}` });
    expect(r.exitCode, r.stderr).toBe(1);
    expect(r.stderr).not.toMatch(/warning: .*index still lacks/);
    const out = parseRun(r);
    for (const agent of AGENTS) {
      const res = out.results.find((x) => x.agent === agent)!;
      expect([res.status, res.commit, res.output], agent).toEqual(['failed', null, null]);
      expect(res.error, agent).toBe(`commit: cannot commit ${agent}: cannot write the index (.git/index) for its files: git add was killed by SIGXFSZ`);
    }
    // Before: exit 0, both reported committed, and `git status` showed "D " and "??" for each file.
    expect(git(root, ['status', '--porcelain', '--untracked-files=all'])).toBe('');
    expect(readdirSync(path.join(root, '.git')).filter((f) => f.endsWith('.lock') || f.startsWith('migrate-index-'))).toEqual([]);
    await expectIntact(root, before, [t]);
    const status = await run(root, ['status', '--json'], t);
    const states = (JSON.parse(status.stdout) as { agents: Array<{ name: string; state: string }> }).agents.filter((a) => AGENTS.includes(a.name));
    expect(states.map((a) => a.state)).toEqual(['legacy', 'legacy']);
    const again = await run(root, ['run', ...AGENTS, '--no-validate', '--json'], t);
    expect(again.exitCode, again.stderr).toBe(0);
    expect((await expectIntact(root, before, [t])).map((c) => c.agent).sort()).toEqual(AGENTS);
    expect(git(root, ['status', '--porcelain', '--untracked-files=all'])).toBe('');
  }, 120_000);
});
