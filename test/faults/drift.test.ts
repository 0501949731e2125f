// Files that change under the tool (issue 11's campaign, second round): an agent that, while
// it is validated, writes to its own _v2 or to its original. A commit must hold exactly the
// _v2 that was verified and run, beside the original that was read: that agent fails with
// one line naming the file, nothing of it is committed, and the batch goes on.
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAll, demoRepo, ensureBuilt, git, migrateCommits, parseRun, patchFleetCommon, resultOf, run, runInProcess, spawnRun, tag, tagged, waitFor } from './harness.js';

beforeAll(() => ensureBuilt(), 180_000);
afterAll(cleanupAll);

// Every demo agent imports fleet_common: the KVCacheAgent _v2 appends a line to itself, the
// ReminderAgent _v2 to its original; the others run as they are.
const WRITES_FILES = `
import sys as _f_sys
if _f_sys.argv[0].endswith("kv_cache_agent_v2.py"):
    with open(_f_sys.argv[0], "a") as _f_fh:
        _f_fh.write("\\nimport os; os.system('echo injected')  # written while it was validated\\n")
if _f_sys.argv[0].endswith("reminder_agent_v2.py"):
    with open(_f_sys.argv[0].replace("_v2.py", ".py"), "a") as _f_fh:
        _f_fh.write("\\n# the original, changed by its _v2 under validation\\n")
`;

describe('20. a commit holds exactly what was verified and run', () => {
  it('an agent that writes to its own _v2, one that writes to its original: each fails alone with one line; the third commits', async () => {
    const root = await demoRepo();
    patchFleetCommon(root, WRITES_FILES);
    const head = git(root, ['rev-parse', 'HEAD']);
    const t = tag();
    const r = await run(root, ['run', 'KVCacheAgent', 'ReminderAgent', 'TextStatsAgent', '--json'], t);
    expect(r.exitCode, r.stderr).toBe(1);
    const out = parseRun(r);
    const own = resultOf(out, 'KVCacheAgent');
    expect([own.status, own.commit, own.output]).toEqual(['failed', null, null]);
    expect(own.error).toMatch(/^agents\/kv_cache_agent_v2\.py changed after migrate wrote it, while the agent was validated \(by the agent it ran, or by another program meanwhile\): not committed, since that is not what was verified and run \(git diff shows what changed\); the changed agents\/kv_cache_agent_v2\.py is kept in \.git\/migrate\/changed-outputs\/[^/ ]+$/);
    const original = resultOf(out, 'ReminderAgent');
    expect([original.status, original.commit, original.output]).toEqual(['failed', null, null]);
    expect(original.error).toBe('agents/reminder_agent.py (the original) changed after migrate read it, while the agent was validated (by the agent it ran, or by another program meanwhile): not committed, since that is not what was verified and run (git diff shows what changed)');
    expect(resultOf(out, 'TextStatsAgent').status, r.stderr).toBe('migrated');
    expect(migrateCommits(root, head).map((c) => c.agent)).toEqual(['TextStatsAgent']);
    expect(git(root, ['show', 'HEAD:agents/text_stats_agent_v2.py'])).not.toContain('injected');
    // What the agent did to its original is left for the user to see; migrate wrote nothing else.
    expect(git(root, ['status', '--porcelain', '--untracked-files=all'])).toBe(' M agents/reminder_agent.py');
    expect(readFileSync(path.join(root, 'agents', 'reminder_agent.py'), 'utf8')).toMatch(/changed by its _v2 under validation\n$/);
    await waitFor(() => tagged(t).length === 0, 'no process of the run', 10_000);
  }, 120_000);
});

describe('20. only the file that was validated counts as validated', () => {
  it('run --no-commit of an agent that writes to its own _v2: `migrate commit` refuses it (not validated as it is now)', async () => {
    const root = await demoRepo();
    patchFleetCommon(root, WRITES_FILES);
    const head = git(root, ['rev-parse', 'HEAD']);
    const t = tag();
    const r = await run(root, ['run', 'KVCacheAgent', '--no-commit', '--json'], t);
    expect(resultOf(parseRun(r), 'KVCacheAgent').validation?.ok, r.stderr).toBe(true);
    expect(readFileSync(path.join(root, 'agents', 'kv_cache_agent_v2.py'), 'utf8')).toContain('injected');
    const commit = await runInProcess(root, ['commit', 'KVCacheAgent'], t);
    expect(commit.exitCode, commit.stdout).toBe(2);
    expect(commit.stderr.trim()).toBe('migrate: agents/kv_cache_agent_v2.py: it was not validated as it is now; run `migrate validate KVCacheAgent` first (only validated files are committed)');
    expect(git(root, ['rev-parse', 'HEAD'])).toBe(head);
    const validate = await run(root, ['validate', 'KVCacheAgent'], t);
    expect(validate.stderr).toContain('migrate: agents/kv_cache_agent_v2.py changed while it was validated; this result is not what `migrate commit` accepts');
    expect((await runInProcess(root, ['commit', 'KVCacheAgent'], t)).exitCode).toBe(2);
    expect(git(root, ['rev-parse', 'HEAD'])).toBe(head);
    await waitFor(() => tagged(t).length === 0, 'no process of the run', 10_000);
  }, 120_000);
});

describe('20. a change made beside the run is not put on the agent, and the edit is kept', () => {
  it("the user edits an agent's _v2 after its validation ended (while the next agent validates): that agent fails with one line saying it was not the agent, the edited bytes are kept, the other commits", async () => {
    const root = await demoRepo();
    const head = git(root, ['rev-parse', 'HEAD']);
    const t = tag();
    const child = spawnRun(root, ['run', 'KVCacheAgent', 'TextStatsAgent', '--concurrency', '1', '--json'], t);
    // One agent validates at a time, in file order: the TextStatsAgent's _v2 running means the
    // KVCacheAgent's validation has ended and its processes are gone.
    await waitFor(() => tagged(t).some((p) => /text_stats_agent_v2\.py/.test(p.cmdline)), 'the second validation');
    const v2 = path.join(root, 'agents', 'kv_cache_agent_v2.py');
    const edited = `${readFileSync(v2, 'utf8')}\n# a fix the user typed while the run went on\n`;
    writeFileSync(v2, edited);
    const r = await child;
    expect(r.exitCode, r.stderr).toBe(1);
    const out = JSON.parse(r.stdout) as Parameters<typeof resultOf>[0];
    const kv = resultOf(out, 'KVCacheAgent');
    expect([kv.status, kv.commit]).toEqual(['failed', null]);
    const said = /^agents\/kv_cache_agent_v2\.py changed after migrate wrote it, after its validation ended, so not by the agent \(an editor or another program\): not committed, since that is not what was verified and run \(git diff shows what changed\); the changed agents\/kv_cache_agent_v2\.py is kept in (\.git\/migrate\/changed-outputs\/\S+)$/.exec(kv.error ?? '');
    expect(said, kv.error ?? '').not.toBeNull();
    expect(readFileSync(path.join(root, said![1]!, 'agents', 'kv_cache_agent_v2.py'), 'utf8'), 'the edit is not lost').toBe(edited);
    expect(resultOf(out, 'TextStatsAgent').status).toBe('migrated');
    expect(migrateCommits(root, head).map((c) => c.agent)).toEqual(['TextStatsAgent']);
    await waitFor(() => tagged(t).length === 0, 'no process of the run', 10_000);
  }, 120_000);

  it('the user renames an agent\'s original after its validation ended: that agent fails with one line saying the original was moved or deleted, not by the agent; its _v2 goes, the rename stays the user\'s', async () => {
    const root = await demoRepo();
    const head = git(root, ['rev-parse', 'HEAD']);
    const t = tag();
    const child = spawnRun(root, ['run', 'KVCacheAgent', 'TextStatsAgent', '--concurrency', '1', '--json'], t);
    await waitFor(() => tagged(t).some((p) => /text_stats_agent_v2\.py/.test(p.cmdline)), 'the second validation');
    renameSync(path.join(root, 'agents', 'kv_cache_agent.py'), path.join(root, 'agents', 'kv_cache.py'));
    const r = await child;
    expect(r.exitCode, r.stderr).toBe(1);
    const out = JSON.parse(r.stdout) as Parameters<typeof resultOf>[0];
    const kv = resultOf(out, 'KVCacheAgent');
    expect([kv.status, kv.commit, kv.output]).toEqual(['failed', null, null]);
    expect(kv.error).toBe('agents/kv_cache_agent.py (the original) was moved or deleted after migrate read it, after its validation ended, so not by the agent (an editor or another program): not committed, since that is not what was verified and run (git diff shows what changed)');
    expect(migrateCommits(root, head).map((c) => c.agent)).toEqual(['TextStatsAgent']);
    // The renamed file appeared while an agent was validated: the validation's tree cleanup
    // cannot tell it from the agent's and moves it aside (never deletes it), as it says.
    expect(git(root, ['status', '--porcelain', '--untracked-files=all'])).toBe(' D agents/kv_cache_agent.py');
    const saved = readdirSync(path.join(root, '.git', 'migrate', 'validation-leftovers')).map((d) => path.join(root, '.git', 'migrate', 'validation-leftovers', d, 'agents', 'kv_cache.py'));
    expect(saved.some((f) => existsSync(f)), 'the renamed original is kept').toBe(true);
    await waitFor(() => tagged(t).length === 0, 'no process of the run', 10_000);
  }, 120_000);
});
