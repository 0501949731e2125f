// `migrate commit` and `migrate promote` under faults (issue 11's campaign, second round):
// Ctrl-C or kill -9 while git commits (a slow pre-commit hook). The _v2 a `--no-commit` run
// left is the user's until its commit lands: afterwards it is still there byte for byte,
// nothing is staged, no record or git lock is left, and the next `migrate commit` commits it
// once. A promotion killed mid-commit is put back by the next command, which then promotes once.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT, AGENT_V2, cleanupAll, copyRepo, ensureBuilt, git, migrateCommits, runInProcess, sha256, slowHook, tag, underFileSizeLimit, untilHook, validatedDemoRepo } from './harness.js';

beforeAll(() => ensureBuilt(), 180_000);
afterAll(cleanupAll);

/**
 * The demo repository with AGENT's _v2 written and validated by a --no-commit run, made once
 * per file: each test gets a copy (copyRepo). The validation it remembers (.git/migrate/validated)
 * names the _v2 by its path in the work tree and its sha256, so every copy holds a validated,
 * uncommitted _v2, as `migrate commit` finds it after such a run.
 */
let validated: string;
beforeAll(async () => {
  validated = await validatedDemoRepo();
}, 180_000);

/** A copy of the validated repository, with a pre-commit hook that waits. */
function leftUncommitted(): { root: string; head: string; v2: string; marker: string } {
  const root = copyRepo(validated);
  const marker = slowHook(root);
  return { root, head: git(root, ['rev-parse', 'HEAD']), v2: sha256(path.join(root, AGENT_V2)), marker };
}

function expectUncommitted(root: string, head: string, v2: string): void {
  expect(git(root, ['rev-parse', 'HEAD'])).toBe(head);
  expect(git(root, ['status', '--porcelain', '--untracked-files=all'])).toBe(`?? ${AGENT_V2}`);
  expect(sha256(path.join(root, AGENT_V2))).toBe(v2);
}

async function commitsOnce(root: string, head: string, v2: string): Promise<string> {
  rmSync(path.join(root, '.git', 'hooks', 'pre-commit'));
  const again = await runInProcess(root, ['commit', AGENT], tag());
  expect(again.exitCode, again.stderr).toBe(0);
  expect(migrateCommits(root, head).map((c) => [c.agent, c.files])).toEqual([[AGENT, [AGENT_V2, `migration-log/${AGENT}.json`]]]);
  expect(git(root, ['status', '--porcelain', '--untracked-files=all'])).toBe('');
  expect(sha256(path.join(root, AGENT_V2))).toBe(v2);
  const locks = readdirSync(path.join(root, '.git')).filter((f) => f.endsWith('.lock'));
  expect(locks, 'no git lock left').toEqual([]);
  return again.stderr;
}

describe('18. `migrate commit` interrupted while git commits', () => {
  it('Ctrl-C to the foreground group: exit 130, one line, the _v2 unstaged and intact, no record; the rerun commits once', async () => {
    const { root, head, v2, marker } = leftUncommitted();
    const { child } = await untilHook(root, marker, ['commit', AGENT]);
    process.kill(-child.pid!, 'SIGINT');
    const r = await child;
    expect(r.exitCode, String(r.stderr)).toBe(130);
    expect(String(r.stderr)).toBe('migrate: interrupted after 0 of 1 commit(s); nothing of the others is staged');
    expectUncommitted(root, head, v2);
    expect(existsSync(path.join(root, '.git', 'migrate-run.json')), 'journal closed').toBe(false);
    await commitsOnce(root, head, v2);
  }, 90_000);

  it('kill -9 of the tool and its git: the next commit puts the staged files back, removes the locks the killed git left, and commits once', async () => {
    const { root, head, v2, marker } = leftUncommitted();
    const { child } = await untilHook(root, marker, ['commit', AGENT]);
    process.kill(-child.pid!, 'SIGKILL');
    await child;
    const said = await commitsOnce(root, head, v2);
    expect(said).toMatch(/recovered from a killed run/);
  }, 90_000);
});

describe('19. `migrate promote` killed while git commits the promotion', () => {
  it('kill -9 of the tool and its git (--mode replace): the next promote restores the original, the _v2 and the record, then promotes once', async () => {
    const { root, marker } = leftUncommitted();
    rmSync(path.join(root, '.git', 'hooks', 'pre-commit'));
    const committed = await runInProcess(root, ['commit', AGENT], tag());
    expect(committed.exitCode, committed.stderr).toBe(0);
    const migration = git(root, ['rev-parse', 'HEAD']);
    const original = sha256(path.join(root, 'agents', 'kv_cache_agent.py'));
    const v2 = sha256(path.join(root, AGENT_V2));
    slowHook(root);
    const { child } = await untilHook(root, marker, ['promote', AGENT, '--mode', 'replace']);
    process.kill(-child.pid!, 'SIGKILL');
    await child;
    rmSync(path.join(root, '.git', 'hooks', 'pre-commit'));
    const again = await runInProcess(root, ['promote', AGENT, '--mode', 'replace'], tag());
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/recovered from a killed run \(pid \d+\): stopped 0 agent process\(es\), put back 3 unfinished file\(s\)/);
    expect(git(root, ['rev-parse', 'HEAD~1'])).toBe(migration);
    expect(git(root, ['show', '--name-status', '--format=', 'HEAD']).split('\n').sort()).toEqual(['D\tagents/kv_cache_agent_v2.py', 'M\tagents/kv_cache_agent.py', `M\tmigration-log/${AGENT}.json`]);
    expect(sha256(path.join(root, 'agents', 'kv_cache_agent.py'))).toBe(v2);
    expect(git(root, ['show', `HEAD~1:agents/kv_cache_agent.py`]).length).toBeGreaterThan(0);
    expect(sha256(path.join(root, 'agents', 'kv_cache_agent.py'))).not.toBe(original);
    expect(git(root, ['status', '--porcelain', '--untracked-files=all'])).toBe('');
    expect(readdirSync(path.join(root, '.git')).filter((f) => f.endsWith('.lock'))).toEqual([]);
  }, 120_000);
});

// A file-size limit (ulimit -f, a quota or CI sandbox) below the _v2: its backup, written before
// git is asked, fails with EFBIG. Before, that error ended the whole command: no report (not even
// with --json, stdout empty) and the agents after it not tried; now that agent fails in the report.
describe('21. `migrate commit` under a file-size limit smaller than the _v2', () => {
  it('that agent fails in the --json report with one line naming its _v2, which stays byte for byte and untracked; the next commit commits it once', async () => {
    const { root, head, v2 } = leftUncommitted();
    const limited = await underFileSizeLimit(root, ['commit', AGENT, '--json'], 1);
    expect(limited.exitCode, String(limited.stderr)).toBe(1);
    const out = JSON.parse(String(limited.stdout)) as { results: Array<{ agent: string; commit: string | null; error: string | null }> };
    expect(out.results.map((r) => [r.agent, r.commit])).toEqual([[AGENT, null]]);
    expect(out.results[0]!.error).toMatch(new RegExp(`^commit: cannot back ${AGENT_V2} up before committing it: EFBIG: .*; nothing committed, the _v2 stays$`));
    expectUncommitted(root, head, v2);
    expect(existsSync(path.join(root, '.git', 'migrate-run.json')), 'journal closed').toBe(false);
    await commitsOnce(root, head, v2);
  }, 90_000);
});
