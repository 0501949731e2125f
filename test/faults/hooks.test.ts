// The user's own git hooks change the agent's commit as it is made (a pre-commit hook that
// stages everything, a formatter that rewrites the staged .py files and adds them again, a
// commit-msg hook that appends a paragraph after the trailers). Before, the commit stayed
// in history: with an extra file, the agent was reported failed although its commit (and
// the user's swept-in file) was on the branch; with a formatted _v2, what was committed was
// not what was validated; with the trailer gone, the agent was reported migrated while
// `status` and `revert` could no longer find its commit. Now the commit is proven file by
// file (blob ids as git stores them, filters and eol rules applied) and by its trailer; a
// commit a hook changed is taken back, the agent fails with one line, the batch goes on.
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT, AGENT_V2, baseline, cleanupAll, demoRepo, ensureBuilt, expectIntact, git, parseRun, resultOf, runInProcess, tag } from './harness.js';

beforeAll(() => ensureBuilt(), 180_000);
afterAll(cleanupAll);

function hook(root: string, name: 'pre-commit' | 'commit-msg', body: string): void {
  const f = path.join(root, '.git', 'hooks', name);
  writeFileSync(f, `#!/bin/sh\n${body}\n`);
  chmodSync(f, 0o755);
}
/** Only when the commit is the KVCacheAgent's (the other agent of the batch commits as usual). */
const forKv = (action: string) => `git diff --cached --name-only | grep -q kv_cache_agent_v2 || exit 0\n${action}\nexit 0`;

async function runBoth(root: string, extra: string[] = []) {
  const t = tag();
  const r = await runInProcess(root, ['run', AGENT, 'TextStatsAgent', '--no-validate', '--json', ...extra], t);
  expect(r.exitCode, r.stderr).toBe(1);
  const out = parseRun(r);
  const kv = resultOf(out, AGENT);
  expect({ status: kv.status, commit: kv.commit, output: kv.output }).toEqual({ status: 'failed', commit: null, output: null });
  expect(kv.error!.split('\n')).toHaveLength(1);
  expect(resultOf(out, 'TextStatsAgent').commit, 'the batch goes on').toMatch(/^[0-9a-f]{40}$/);
  return { t, error: kv.error! };
}

describe('26. a commit a hook changed is taken back', () => {
  it('a pre-commit hook that stages everything sweeps an untracked file of the user into the commit: undone, the file stays untracked and unchanged', async () => {
    const root = await demoRepo();
    hook(root, 'pre-commit', forKv('git add -A'));
    const before = baseline(root);
    const notes = path.join(root, 'notes.txt');
    writeFileSync(notes, 'my private notes, never to be committed\n');
    const { t, error } = await runBoth(root, ['--allow-dirty']);
    expect(error).toMatch(/^commit: cannot commit KVCacheAgent: a hook added (\S+, )?notes\.txt to KVCacheAgent's commit; the commit [0-9a-f]{12} was undone$/);
    expect(git(root, ['log', '--all', '--format=%H', '--', 'notes.txt']), 'notes.txt is in no commit a branch holds').toBe('');
    expect(readFileSync(notes, 'utf8')).toBe('my private notes, never to be committed\n');
    rmSync(notes);
    expect((await expectIntact(root, before, [t])).map((c) => c.agent)).toEqual(['TextStatsAgent']);
  }, 90_000);

  it('a formatter hook that rewrites the staged _v2 and adds it again: the commit is not what was verified; undone, no _v2 left', async () => {
    const root = await demoRepo();
    hook(root, 'pre-commit', forKv('for f in $(git diff --cached --name-only -- "*.py"); do printf "# formatted\\n" >> "$f"; git add "$f"; done'));
    const before = baseline(root);
    const { t, error } = await runBoth(root);
    expect(error).toMatch(
      /^commit: cannot commit KVCacheAgent: a hook changed agents\/kv_cache_agent_v2\.py as it was committed, so the commit is not what was verified; the commit [0-9a-f]{12} was undone$/,
    );
    expect(existsSync(path.join(root, AGENT_V2))).toBe(false);
    expect((await expectIntact(root, before, [t])).map((c) => c.agent)).toEqual(['TextStatsAgent']);
  }, 90_000);

  it('a commit-msg hook that appends a paragraph after the trailers: undone (status and revert would not find it), the rerun without it commits once', async () => {
    const root = await demoRepo();
    hook(root, 'commit-msg', 'grep -q "Migrate-Agent: KVCacheAgent" "$1" && printf "\\nChecked by the team hook.\\n" >> "$1"\nexit 0');
    const before = baseline(root);
    const { t, error } = await runBoth(root);
    expect(error).toMatch(
      /^commit: cannot commit KVCacheAgent: the commit message lost its "Migrate-Agent: KVCacheAgent" trailer \(a commit-msg hook\?\), so status and revert could not find the commit; the commit [0-9a-f]{12} was undone$/,
    );
    expect((await expectIntact(root, before, [t])).map((c) => c.agent)).toEqual(['TextStatsAgent']);
    rmSync(path.join(root, '.git', 'hooks', 'commit-msg'));
    const again = await runInProcess(root, ['run', AGENT, '--no-validate', '--json'], t);
    expect(again.exitCode, again.stderr).toBe(0);
    expect((await expectIntact(root, before, [t])).map((c) => c.agent)).toEqual(['TextStatsAgent', AGENT]);
  }, 90_000);

  it('`migrate revert` with a pre-commit hook that stages everything: the revert commit is undone, the user\'s file stays untracked, the revert then works', async () => {
    const root = await demoRepo();
    const first = await runInProcess(root, ['run', AGENT, '--no-validate'], tag());
    expect(first.exitCode, first.stderr).toBe(0);
    const head = git(root, ['rev-parse', 'HEAD']);
    hook(root, 'pre-commit', 'git add -A');
    const notes = path.join(root, 'notes.txt');
    writeFileSync(notes, 'my private notes, never to be committed\n');
    const r = await runInProcess(root, ['revert', AGENT], tag());
    expect(r.exitCode, r.stdout).toBe(1);
    expect(r.stderr).toMatch(/^migrate: cannot revert KVCacheAgent: a hook added notes\.txt to the revert commit \(the commit [0-9a-f]{12} was undone\); the repository is unchanged$/);
    expect(git(root, ['rev-parse', 'HEAD'])).toBe(head);
    expect(git(root, ['status', '--porcelain', '--untracked-files=all'])).toBe('?? notes.txt');
    expect(readFileSync(notes, 'utf8')).toBe('my private notes, never to be committed\n');
    expect(existsSync(path.join(root, AGENT_V2))).toBe(true);
    rmSync(path.join(root, '.git', 'hooks', 'pre-commit'));
    const again = await runInProcess(root, ['revert', AGENT], tag());
    expect(again.exitCode, again.stderr).toBe(0);
    expect(git(root, ['rev-parse', 'HEAD~1'])).toBe(head);
    expect(git(root, ['show', '--name-only', '--format=', 'HEAD'])).not.toContain('notes.txt');
  }, 90_000);

  it('eol rules and a clean filter on *.py (git stores other bytes than the file holds): no false alarm, the agent commits', async () => {
    const root = await demoRepo();
    writeFileSync(path.join(root, '.gitattributes'), '*.py filter=strip\n*.json text eol=crlf\n');
    git(root, ['config', 'filter.strip.clean', "sed -e 's/[[:space:]]*$//'"]);
    git(root, ['config', 'filter.strip.smudge', 'cat']);
    git(root, ['config', 'core.autocrlf', 'true']);
    git(root, ['add', '.gitattributes']);
    git(root, ['commit', '-q', '-m', 'attributes']);
    const before = baseline(root);
    const t = tag();
    const r = await runInProcess(root, ['run', AGENT, '--no-validate', '--json'], t);
    expect(r.exitCode, r.stderr).toBe(0);
    expect((await expectIntact(root, before, [t])).map((c) => c.agent)).toEqual([AGENT]);
  }, 90_000);
});
