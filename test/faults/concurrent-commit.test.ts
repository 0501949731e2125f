// The user commits in the same work tree while `migrate run` commits an agent: between the
// `git add` of the agent's _v2 and record and migrate's `git commit --only`, the user's
// `git commit` takes everything staged, the agent's files with it. Before, the agent failed
// with git's words alone ("nothing to commit" or index.lock exists) and its _v2 and record
// stayed in the user's commit without the Migrate-Agent trailer: the next run called the
// agent unchanged and `migrate revert` said "already reverted" (or found nothing), with no word
// of where the files went. Now the failure names the commit that took them and how to undo it.
// The race is made deterministic by a `git` first on PATH that runs the user's commit just
// before migrate's own `git commit --only` of the KVCacheAgent.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT, AGENT_V2, cleanupAll, demoRepo, ensureBuilt, git, parseRun, resultOf, run, tag, tagged, tempDir } from './harness.js';

beforeAll(() => ensureBuilt(), 180_000);
afterAll(cleanupAll);

describe('a commit of the user beside the run takes the agent\'s staged files', () => {
  it('a user commit of their own file after migrate read HEAD: the agent\'s commit lands on top of it, is reported committed, and both stay on the branch', async () => {
    const root = await demoRepo();
    const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
    const bin = tempDir('migrate-fault-gitwrap-');
    const marker = path.join(bin, 'done');
    const wrapper = path.join(bin, 'git');
    // hash-object of the agent's files comes after migrate read HEAD and before its add.
    writeFileSync(
      wrapper,
      [
        '#!/bin/sh',
        `case " $* " in *" hash-object "*kv_cache_agent_v2*)`,
        `  if [ ! -e '${marker}' ]; then`,
        `    : > '${marker}'`,
        `    echo "user line" >> README.md`,
        `    env -u GIT_REFLOG_ACTION '${realGit}' -c user.name=User -c user.email=user@example.com commit -q -m 'user commit' -- README.md >/dev/null 2>&1`,
        '  fi;;',
        'esac',
        `exec '${realGit}' "$@"`,
        '',
      ].join('\n'),
    );
    chmodSync(wrapper, 0o755);
    const head = git(root, ['rev-parse', 'HEAD']);
    const t = tag();
    const r = await run(root, ['run', AGENT, '--no-validate', '--json'], t, { PATH: `${bin}:${process.env.PATH}` });
    expect(existsSync(marker), 'the user commit ran inside the window').toBe(true);
    expect(r.exitCode, r.stderr).toBe(0);
    const kv = resultOf(parseRun(r), AGENT);
    expect(kv.commit).toMatch(/^[0-9a-f]{40}$/);
    const userCommit = git(root, ['log', '--format=%H', '--grep=^user commit$']);
    expect(git(root, ['rev-list', '--first-parent', `${head}..HEAD`]).split('\n')).toEqual([kv.commit, userCommit]);
    expect(git(root, ['show', '--name-only', '--format=', kv.commit!]).split('\n').sort()).toEqual([AGENT_V2, `migration-log/${AGENT}.json`]);
    expect(git(root, ['status', '--porcelain'])).toBe('');
    expect(tagged(t)).toEqual([]);
  }, 90_000);

  it('the agent fails with one line naming the commit that took its _v2 and record; the batch goes on; nothing of the tool is left', async () => {
    const root = await demoRepo();
    const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
    const bin = tempDir('migrate-fault-gitwrap-');
    const marker = path.join(bin, 'done');
    const wrapper = path.join(bin, 'git');
    writeFileSync(
      wrapper,
      [
        '#!/bin/sh',
        `case " $* " in *" commit --only "*)`,
        `  if [ ! -e '${marker}' ] && '${realGit}' diff --cached --name-only | grep -q kv_cache_agent_v2; then`,
        `    : > '${marker}'`,
        `    env -u GIT_REFLOG_ACTION '${realGit}' -c user.name=User -c user.email=user@example.com commit -q -m 'user commit' >/dev/null 2>&1`,
        '  fi;;',
        'esac',
        `exec '${realGit}' "$@"`,
        '',
      ].join('\n'),
    );
    chmodSync(wrapper, 0o755);
    const head = git(root, ['rev-parse', 'HEAD']);
    const t = tag();
    const r = await run(root, ['run', AGENT, 'TextStatsAgent', '--no-validate', '--json'], t, { PATH: `${bin}:${process.env.PATH}` });
    expect(existsSync(marker), 'the user commit ran inside the window').toBe(true);
    expect(r.exitCode, r.stderr).toBe(1);
    const out = parseRun(r);
    const kv = resultOf(out, AGENT);
    expect(kv.status).toBe('failed');
    expect(kv.error!.split('\n')).toHaveLength(1);
    const userCommit = git(root, ['log', '--format=%H', '--grep=^user commit$']);
    expect(userCommit).toMatch(/^[0-9a-f]{40}$/);
    expect(kv.error).toContain(`commit ${userCommit.slice(0, 12)} ("user commit"), made beside this run by another git, took ${AGENT_V2}, migration-log/${AGENT}.json`);
    expect(kv.error).toContain(`git revert ${userCommit.slice(0, 12)}`);
    expect(resultOf(out, 'TextStatsAgent').commit, 'the batch goes on').toMatch(/^[0-9a-f]{40}$/);
    // Nothing of the tool's own is half done: the user's commit is the child of the HEAD before,
    // the tree is clean (nothing left staged), no process stays.
    expect(git(root, ['rev-parse', `${userCommit}^`])).toBe(head);
    expect(git(root, ['status', '--porcelain'])).toBe('');
    expect(tagged(t)).toEqual([]);
  }, 90_000);
});
