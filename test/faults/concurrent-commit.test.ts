// The user commits in the same work tree while `migrate run` commits an agent. Before, migrate
// staged the agent's _v2 and record in the user's index (`git add`) and committed them with
// `git commit --only`: a user's `git commit -a` (or `add -A && commit`) landing in between took
// them into the user's commit, without the Migrate-Agent trailer (reported, not prevented).
// Now the agent's commit is built in migrate's own index (GIT_INDEX_FILE) while migrate holds
// the user's index.lock, so the user's git cannot take what it never sees; a HEAD moved by a
// git that takes no index lock is caught and the agent's commit is made again on top. The
// races are made deterministic by a `git` first on PATH that acts at the right moment.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT, AGENT_V2, cleanupAll, demoRepo, ensureBuilt, git, parseRun, resultOf, runInProcess, tag, tagged, tempDir } from './harness.js';

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
    const r = await runInProcess(root, ['run', AGENT, '--no-validate', '--json'], t, { PATH: `${bin}:${process.env.PATH}` });
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

  it('a user\'s `git add -A && git commit` landing between migrate\'s add and its commit never takes the agent\'s files: they are only ever in migrate\'s own index; the user\'s git waits on the index lock migrate holds, and their edit stays theirs', async () => {
    const root = await demoRepo();
    const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
    const bin = tempDir('migrate-fault-gitwrap-');
    const marker = path.join(bin, 'done');
    const wrapper = path.join(bin, 'git');
    // Just before migrate's own `git commit` of the KVCacheAgent (its message names the agent),
    // after its `git add`: the user, in the same work tree, stages everything and commits.
    writeFileSync(
      wrapper,
      [
        '#!/bin/sh',
        `case " $* " in *" commit "*"Migrate-Agent: ${AGENT}"*)`,
        `  if [ ! -e '${marker}' ]; then`,
        `    echo "user line" >> README.md`,
        `    ( unset GIT_INDEX_FILE GIT_REFLOG_ACTION; '${realGit}' add -A && '${realGit}' -c user.name=User -c user.email=user@example.com commit -q -m 'user commit' ) >/dev/null 2>&1`,
        `    echo $? > '${marker}'`,
        '  fi;;',
        'esac',
        `exec '${realGit}' "$@"`,
        '',
      ].join('\n'),
    );
    chmodSync(wrapper, 0o755);
    const head = git(root, ['rev-parse', 'HEAD']);
    const t = tag();
    const r = await runInProcess(root, ['run', AGENT, 'TextStatsAgent', '--no-validate', '--json'], t, { PATH: `${bin}:${process.env.PATH}` });
    expect(existsSync(marker), 'the user commit ran inside the window').toBe(true);
    expect(r.exitCode, r.stderr).toBe(0);
    const out = parseRun(r);
    const kv = resultOf(out, AGENT);
    expect(kv.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(resultOf(out, 'TextStatsAgent').commit).toMatch(/^[0-9a-f]{40}$/);
    // The agent's files are in its own commit and in no other one.
    expect(git(root, ['log', '--format=%H', `${head}..HEAD`, '--', AGENT_V2, `migration-log/${AGENT}.json`])).toBe(kv.commit);
    expect(git(root, ['show', '--name-only', '--format=', kv.commit!]).split('\n').sort()).toEqual([AGENT_V2, `migration-log/${AGENT}.json`]);
    // The user's commit was refused by git (the index was locked) and their edit is intact,
    // uncommitted; had it gone through, it would have held README.md alone.
    const userCommit = git(root, ['log', '--format=%H', '--grep=^user commit$']);
    if (userCommit) expect(git(root, ['show', '--name-only', '--format=', userCommit])).toBe('README.md');
    else expect(readFileSync(marker, 'utf8').trim()).not.toBe('0');
    expect(git(root, ['status', '--porcelain'])).toBe(userCommit ? '' : ' M README.md');
    expect(readFileSync(path.join(root, 'README.md'), 'utf8')).toMatch(/user line\n$/);
    expect(tagged(t)).toEqual([]);
  }, 90_000);

  it('HEAD moved by a git that takes no index lock (update-ref of a commit made with commit-tree) just before migrate commits: the agent\'s commit is made again on top, and never undoes that commit\'s change', async () => {
    const root = await demoRepo();
    const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
    const bin = tempDir('migrate-fault-gitwrap-');
    const marker = path.join(bin, 'done');
    const wrapper = path.join(bin, 'git');
    writeFileSync(
      wrapper,
      [
        '#!/bin/sh',
        `case " $* " in *" commit "*"Migrate-Agent: ${AGENT}"*)`,
        `  if [ ! -e '${marker}' ]; then`,
        `    : > '${marker}'`,
        `    ( unset GIT_INDEX_FILE GIT_REFLOG_ACTION`,
        `      blob=$(printf 'pushed by a tool\\n' | '${realGit}' hash-object -w --stdin)`,
        `      export GIT_INDEX_FILE='${bin}/idx'; '${realGit}' read-tree HEAD && '${realGit}' update-index --add --cacheinfo 100644,$blob,TOOL.txt`,
        `      tree=$('${realGit}' write-tree); unset GIT_INDEX_FILE`,
        `      c=$('${realGit}' -c user.name=Tool -c user.email=tool@example.com commit-tree -p HEAD -m 'tool commit' $tree)`,
        `      '${realGit}' update-ref -m tool HEAD $c ) >/dev/null 2>&1`,
        '  fi;;',
        'esac',
        `exec '${realGit}' "$@"`,
        '',
      ].join('\n'),
    );
    chmodSync(wrapper, 0o755);
    const t = tag();
    const r = await runInProcess(root, ['run', AGENT, '--no-validate', '--json'], t, { PATH: `${bin}:${process.env.PATH}` });
    expect(existsSync(marker), 'the tool commit ran inside the window').toBe(true);
    expect(r.exitCode, r.stderr).toBe(0);
    const kv = resultOf(parseRun(r), AGENT);
    const toolCommit = git(root, ['log', '--format=%H', '--grep=^tool commit$']);
    expect(toolCommit).toMatch(/^[0-9a-f]{40}$/);
    expect(git(root, ['rev-parse', 'HEAD'])).toBe(kv.commit);
    expect(git(root, ['rev-parse', 'HEAD^'])).toBe(toolCommit);
    expect(git(root, ['show', '--name-only', '--format=', kv.commit!]).split('\n').sort()).toEqual([AGENT_V2, `migration-log/${AGENT}.json`]);
    expect(git(root, ['show', 'HEAD:TOOL.txt'])).toBe('pushed by a tool');
    expect(tagged(t)).toEqual([]);
  }, 90_000);
});
