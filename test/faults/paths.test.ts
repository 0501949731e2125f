// Paths that are not what the tool expects (issue 11's campaign, second round): a `_v2`
// path the user already holds as a directory, a FIFO or a symlink. Each is the user's: never
// read (a FIFO blocks its reader), never replaced (not even with --force); that agent fails
// with one line naming the path and the batch goes on.
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT, AGENT_FILE, AGENT_V2, baseline, cleanupAll, commitAll, demoRepo, ensureBuilt, expectIntact, git, parseRun, resultOf, run, runInProcess, sha256, tag } from './harness.js';

beforeAll(() => ensureBuilt(), 180_000);
afterAll(cleanupAll);

const OTHER = 'TextStatsAgent';
const OTHER_V2 = 'agents/text_stats_agent_v2.py';

describe('16. a _v2 path that is not a regular file belongs to the user', () => {
  it('a directory at one _v2 path, a symlink at another (--force): each fails alone with one line; the third agent migrates', async () => {
    const root = await demoRepo();
    mkdirSync(path.join(root, AGENT_V2));
    writeFileSync(path.join(root, AGENT_V2, 'notes.txt'), 'the user keeps notes here\n');
    symlinkSync('text_stats_agent.py', path.join(root, OTHER_V2)); // a link to its own original
    commitAll(root, 'a folder and a link where _v2 files would go');
    const before = baseline(root);
    const t = tag();
    const r = await run(root, ['run', AGENT, OTHER, 'ReminderAgent', '--force', '--json'], t);
    expect(r.exitCode, r.stderr).toBe(1);
    const out = parseRun(r);
    const dir = resultOf(out, AGENT);
    expect(dir.status).toBe('failed');
    expect(dir.error).toBe(`${AGENT_V2} already exists and is a directory, not a file; move it away to migrate ${AGENT}`);
    const link = resultOf(out, OTHER);
    expect(link.status).toBe('failed');
    expect(link.error).toBe(`${OTHER_V2} already exists and is a symlink, not a file; move it away to migrate ${OTHER}`);
    expect(resultOf(out, 'ReminderAgent').status, `${r.stderr}\n${JSON.stringify(resultOf(out, 'ReminderAgent'))}`).toBe('migrated');
    const commits = await expectIntact(root, before, [t]);
    expect(commits.map((c) => c.agent)).toEqual(['ReminderAgent']);
    expect(lstatSync(path.join(root, AGENT_V2)).isDirectory()).toBe(true);
    expect(readlinkSync(path.join(root, OTHER_V2))).toBe('text_stats_agent.py');
  }, 90_000);

  it('a FIFO at the _v2 path (gitignored, --no-commit): that agent fails at once instead of blocking on a read', async () => {
    const root = await demoRepo();
    writeFileSync(path.join(root, '.gitignore'), 'agents/*_v2.py\n');
    commitAll(root, 'ignore _v2 files');
    execFileSync('mkfifo', [path.join(root, AGENT_V2)]);
    const before = sha256(path.join(root, 'agents', 'kv_cache_agent.py'));
    const t = tag();
    const r = await run(root, ['run', AGENT, '--no-commit', '--no-validate', '--json'], t, {}, 30_000);
    expect(r.exitCode, r.stderr).toBe(1);
    expect(resultOf(parseRun(r), AGENT).error).toBe(`${AGENT_V2} already exists and is a FIFO, not a file; move it away to migrate ${AGENT}`);
    expect(lstatSync(path.join(root, AGENT_V2)).isFIFO()).toBe(true);
    expect(sha256(path.join(root, 'agents', 'kv_cache_agent.py'))).toBe(before);
    expect(git(root, ['status', '--porcelain'])).toBe('');
  }, 60_000);
});

describe('25. a _v2 name the file system cannot hold', () => {
  it('an agent file named near NAME_MAX: that agent fails with one line naming its _v2, the batch goes on, nothing stays, and later runs are not blocked', async () => {
    const root = await demoRepo();
    // 250 bytes + ".py" fits in a name (255 bytes); its "_v2" sibling and temporary name do not.
    const long = `agents/${'k'.repeat(250)}.py`;
    git(root, ['mv', AGENT_FILE, long]);
    git(root, ['commit', '-qm', 'an agent file named near the limit']);
    const before = baseline(root);
    const t1 = tag();
    const r = await runInProcess(root, ['run', AGENT, OTHER, '--no-validate', '--json'], t1);
    expect(r.exitCode, r.stderr).toBe(1);
    const out = parseRun(r);
    expect(resultOf(out, AGENT).status).toBe('failed');
    expect(resultOf(out, AGENT).error).toMatch(new RegExp(`^agents/k{250}_v2\\.py: cannot write: ENAMETOOLONG`));
    // (the file once: the error's own `open '<its temporary name>'` went, the line naming it already)
    expect(resultOf(out, AGENT).error!.split('k'.repeat(250)).length - 1).toBe(1);
    expect(resultOf(out, OTHER).status).toBe('migrated');
    const commits = await expectIntact(root, before, [t1]);
    expect(commits.map((c) => c.agent)).toEqual([OTHER]);
    // Alone, it fails the same way: the run ends with its report, not a stray line from recovery.
    const t2 = tag();
    const again = await runInProcess(root, ['run', AGENT, '--no-validate', '--json'], t2);
    expect(again.exitCode, again.stderr).toBe(1);
    expect(resultOf(parseRun(again), AGENT).error).toMatch(/ENAMETOOLONG/);
    expect(again.stderr).not.toMatch(/recovered from a killed run/);
    await expectIntact(root, before, [t2]);
  }, 120_000);
});

describe('29. a file where the records folder should be', () => {
  it('a committed file named migration-log: run refuses before writing anything, with one line naming it; once moved, the run migrates', async () => {
    const root = await demoRepo();
    writeFileSync(path.join(root, 'migration-log'), 'notes on the migration, kept by the team\n');
    commitAll(root, 'a notes file named like the records folder');
    const before = baseline(root);
    const t = tag();
    const r = await run(root, ['run', AGENT, '--json'], t);
    // Before: rewritten and validated, then "commit: EEXIST: file already exists, mkdir '…/migration-log'" (exit 1).
    expect(r.exitCode, r.stderr).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ error: { code: 'usage', exit_code: 2, message: expect.stringMatching(/^refusing to start: .* is a file/) } });
    expect(r.stderr.trim().split('\n')).toEqual([
      `migrate: refusing to start: ${path.join(root, 'migration-log')} is a file, but migrate keeps its records in a folder of that name (migration-log/<Agent>.json); rename or move it away, then run again`,
    ]);
    expect(await expectIntact(root, before, [t])).toEqual([]);
    expect(lstatSync(path.join(root, 'migration-log')).isFile()).toBe(true);
    // What the line says to do is enough.
    git(root, ['mv', 'migration-log', 'MIGRATION-NOTES']);
    git(root, ['commit', '-qm', 'move the notes away']);
    const moved = baseline(root);
    const t2 = tag();
    const again = await runInProcess(root, ['run', AGENT, '--no-validate', '--json'], t2);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(resultOf(parseRun(again), AGENT).status).toBe('migrated');
    const commits = await expectIntact(root, moved, [t2]);
    expect(commits.map((c) => [c.agent, c.files])).toEqual([[AGENT, [AGENT_V2, `migration-log/${AGENT}.json`]]]);
  }, 90_000);
});
