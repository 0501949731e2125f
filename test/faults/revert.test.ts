// `migrate revert` under faults (issue 11's campaign, second round): a pre-commit hook that
// refuses silently, Ctrl-C while git commits the revert (a slow hook, a signing prompt), and
// kill -9 of the tool with its git. Either way the revert is all or nothing: no staged
// deletions, no stray revert record, no REVERT_HEAD, one line that says so (or, after
// kill -9, the next command puts everything back), and the next revert works.
import { chmodSync, existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT, AGENT_V2, cleanupAll, copyRepo, demoRepo, ensureBuilt, git, runInProcess, slowHook, tag, underFileSizeLimit, untilHook } from './harness.js';

beforeAll(() => ensureBuilt(), 180_000);
afterAll(cleanupAll);

/**
 * The demo repository with AGENT migrated and committed (no validation: only the commit
 * matters here), migrated once per file: each test gets a copy of it.
 */
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

function hook(root: string, body: string): void {
  const f = path.join(root, '.git', 'hooks', 'pre-commit');
  writeFileSync(f, `#!/bin/sh\n${body}\n`);
  chmodSync(f, 0o755);
}

/** Nothing of a revert stays: HEAD, index and work tree as before, no revert state in .git. */
function expectUnreverted(root: string, head: string): void {
  expect(git(root, ['rev-parse', 'HEAD'])).toBe(head);
  expect(git(root, ['status', '--porcelain', '--untracked-files=all'])).toBe('');
  expect(existsSync(path.join(root, '.git', 'REVERT_HEAD')), 'no REVERT_HEAD').toBe(false);
  expect(existsSync(path.join(root, '.git', 'index.lock')), 'no index.lock').toBe(false);
  expect(existsSync(path.join(root, AGENT_V2))).toBe(true);
}

async function revertsCleanly(root: string, head: string): Promise<void> {
  rmSync(path.join(root, '.git', 'hooks', 'pre-commit'), { force: true });
  const again = await runInProcess(root, ['revert', AGENT], tag());
  expect(again.exitCode, again.stderr).toBe(0);
  expect(git(root, ['rev-parse', 'HEAD~1'])).toBe(head);
  expect(existsSync(path.join(root, AGENT_V2))).toBe(false);
  expect(git(root, ['status', '--porcelain', '--untracked-files=all'])).toBe('');
}

describe('17. a revert is all or nothing', () => {
  it('a pre-commit hook that exits 1 saying nothing: exit 1, one line naming the silent refusal, nothing staged', async () => {
    const { root, head } = migrated();
    hook(root, 'exit 1');
    const r = await runInProcess(root, ['revert', AGENT], tag());
    expect(r.exitCode, r.stdout).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`migrate: cannot revert ${AGENT}: git commit exited with code 1 and said nothing (a hook that refused it silently?); the repository is unchanged`);
    expectUnreverted(root, head);
    expect(readdirSync(path.join(root, 'migration-log'))).not.toContain('reverts');
    await revertsCleanly(root, head);
  }, 60_000);

  it('Ctrl-C to the foreground group while git commits the revert: exit 130, one line, nothing half done; the rerun reverts', async () => {
    const { root, head } = migrated();
    const { child } = await untilHook(root, slowHook(root), ['revert', AGENT]);
    process.kill(-child.pid!, 'SIGINT');
    const r = await child;
    expect(r.exitCode, String(r.stderr)).toBe(130);
    expect(String(r.stderr)).toBe(`migrate: interrupted: cannot revert ${AGENT}: git commit was killed by SIGINT; the repository is unchanged`);
    expectUnreverted(root, head);
    await revertsCleanly(root, head);
  }, 60_000);
});

describe('17. a revert killed with -9 while git commits', () => {
  it('the next revert removes the lock it proves ours, puts the staged deletions and the record back, then reverts once', async () => {
    const { root, head } = migrated();
    const { child } = await untilHook(root, slowHook(root), ['revert', AGENT]);
    process.kill(-child.pid!, 'SIGKILL');
    await child;
    rmSync(path.join(root, '.git', 'hooks', 'pre-commit'));
    const again = await runInProcess(root, ['revert', AGENT], tag());
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/recovered from a killed run \(pid \d+\): stopped 0 agent process\(es\), put back 3 unfinished file\(s\)/);
    expect(git(root, ['rev-parse', 'HEAD~1'])).toBe(head);
    expect(git(root, ['show', '--name-status', '--format=', 'HEAD']).split('\n').filter((l) => !l.includes('migration-log/reverts/')).sort()).toEqual([`D\t${AGENT_V2}`, `D\tmigration-log/${AGENT}.json`]);
    expect(git(root, ['status', '--porcelain', '--untracked-files=all'])).toBe('');
    expect(existsSync(path.join(root, '.git', 'REVERT_HEAD'))).toBe(false);
    expect(readdirSync(path.join(root, '.git')).filter((f) => f.endsWith('.lock'))).toEqual([]);
  }, 60_000);
});

describe('21. a revert under a file-size limit smaller than the _v2', () => {
  it('exit 1, one line saying it cannot back the files up and the repository is unchanged (was the raw EFBIG line); without the limit it reverts', async () => {
    const { root, head } = migrated();
    const limited = await underFileSizeLimit(root, ['revert', AGENT, '--json'], 1);
    expect(limited.exitCode, String(limited.stderr)).toBe(1);
    // --json: the failure as its one document (a 1-block limit still lets stdout, a pipe, carry it).
    expect(JSON.parse(String(limited.stdout))).toMatchObject({ error: { code: 'failed', exit_code: 1, message: expect.stringMatching(/^cannot revert .*EFBIG/) } });
    expect(String(limited.stderr)).toMatch(new RegExp(`^migrate: cannot revert ${AGENT}: cannot back up ${AGENT_V2}, migration-log/${AGENT}\\.json first: EFBIG: [^\\n]*; the repository is unchanged$`));
    expectUnreverted(root, head);
    expect(existsSync(path.join(root, '.git', 'migrate-run.json')), 'journal closed').toBe(false);
    await revertsCleanly(root, head);
  }, 60_000);
});

describe('33. a revert on a detached HEAD', () => {
  it('reverts there and warns that the revert commit is on no branch (as run warns); the branch still holds the migration', async () => {
    const { root, head } = migrated();
    git(root, ['checkout', '-q', '--detach']);
    const r = await runInProcess(root, ['revert', AGENT], tag());
    expect(r.exitCode, r.stderr).toBe(0);
    const sha = git(root, ['rev-parse', 'HEAD']);
    expect(git(root, ['rev-parse', 'HEAD~1'])).toBe(head);
    expect(r.stderr).toBe(`migrate: warning: HEAD is detached: the revert commit ${sha.slice(0, 12)} is on no branch; \`git switch -c NAME\` keeps it`);
    // On a branch: no warning.
    git(root, ['checkout', '-q', 'main']);
    expect(existsSync(path.join(root, AGENT_V2))).toBe(true);
    const onMain = await runInProcess(root, ['revert', AGENT], tag());
    expect(onMain.exitCode, onMain.stderr).toBe(0);
    expect(onMain.stderr).toBe('');
  }, 60_000);
});
