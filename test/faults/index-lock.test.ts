// Another git holds the index lock while migrate commits an agent (an IDE's background
// `git status`, a `git fetch` of the user): before, the agent failed at once on git's "Unable
// to create index.lock: File exists". Now migrate waits a short bounded while (some 3 s) for
// the lock, as a user would retry; a lock that stays held fails that agent with one line
// naming the live git that holds it, and nothing of the agent is left.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT, AGENT_V2, baseline, cleanupAll, demoRepo, ensureBuilt, expectIntact, git, kill, parseRun, resultOf, runInProcess, tag, tempDir, waitFor } from './harness.js';

beforeAll(() => ensureBuilt(), 180_000);
afterAll(cleanupAll);

/** A `git` first on PATH that, once, when migrate hashes the KVCacheAgent's _v2 (just before it commits), runs `action` in the background. */
function wrapGit(action: string): { bin: string; marker: string } {
  const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
  const bin = tempDir('migrate-fault-gitwrap-');
  const marker = path.join(bin, 'done');
  writeFileSync(
    path.join(bin, 'git'),
    [
      '#!/bin/sh',
      `case " $* " in *" hash-object "*kv_cache_agent_v2*)`,
      `  if [ ! -e '${marker}' ]; then`,
      `    : > '${marker}'`,
      `    : > .git/index.lock`,
      `    ( ${action} ) </dev/null >/dev/null 2>&1 &`,
      '  fi;;',
      'esac',
      `exec '${realGit}' "$@"`,
      '',
    ].join('\n'),
  );
  chmodSync(path.join(bin, 'git'), 0o755);
  return { bin, marker };
}

describe('index.lock held by another git while an agent commits', () => {
  it('held for a second: the agent waits for it and commits; nothing else changes', async () => {
    const root = await demoRepo();
    const before = baseline(root);
    const { bin, marker } = wrapGit('sleep 1; rm -f .git/index.lock');
    const t = tag();
    const r = await runInProcess(root, ['run', AGENT, 'TextStatsAgent', '--no-validate', '--json'], t, { PATH: `${bin}:${process.env.PATH}` });
    expect(existsSync(marker), 'the lock was taken inside the window').toBe(true);
    expect(r.exitCode, r.stderr).toBe(0);
    const out = parseRun(r);
    expect(resultOf(out, AGENT).commit).toMatch(/^[0-9a-f]{40}$/);
    expect((await expectIntact(root, before, [t])).map((c) => c.agent).sort()).toEqual([AGENT, 'TextStatsAgent']);
  }, 90_000);

  it('held throughout by a live git: that agent fails with one line naming its pid, nothing of it stays; once the lock is gone the rerun commits once', async () => {
    const root = await demoRepo();
    const before = baseline(root);
    // A long-running git of the user: a process whose name starts with "git", working in the repository.
    const holderBin = tempDir('migrate-fault-holder-');
    copyFileSync(execFileSync('sh', ['-c', 'command -v sleep'], { encoding: 'utf8' }).trim(), path.join(holderBin, 'git-ide-status'));
    chmodSync(path.join(holderBin, 'git-ide-status'), 0o755);
    const pidFile = path.join(holderBin, 'pid');
    const { bin } = wrapGit(`'${path.join(holderBin, 'git-ide-status')}' 60 & echo $! > '${pidFile}'; wait`);
    const t = tag();
    const r = await runInProcess(root, ['run', AGENT, '--no-validate', '--json'], t, { PATH: `${bin}:${process.env.PATH}` });
    await waitFor(() => existsSync(pidFile), 'the holder');
    const holder = Number(readFileSync(pidFile, 'utf8'));
    try {
      expect(r.exitCode, r.stderr).toBe(1);
      const kv = resultOf(parseRun(r), AGENT);
      expect([kv.status, kv.commit, kv.output], kv.error ?? '').toEqual(['failed', null, null]);
      const said = /^commit: cannot commit KVCacheAgent: \.git\/index\.lock is held by a running git \(pid ([\d, ]+)\); wait for it to finish, then run again$/.exec(kv.error ?? '');
      expect(said, kv.error ?? '').not.toBeNull();
      expect(said![1]!.split(', ').map(Number)).toContain(holder);
      expect(existsSync(path.join(root, AGENT_V2))).toBe(false);
      expect(existsSync(path.join(root, '.git', 'index.lock')), "the other git's lock is left alone").toBe(true);
    } finally {
      kill(holder);
    }
    rmSync(path.join(root, '.git', 'index.lock'));
    expect(git(root, ['status', '--porcelain'])).toBe('');
    const again = await runInProcess(root, ['run', AGENT, '--no-validate', '--json'], t);
    expect(again.exitCode, again.stderr).toBe(0);
    expect((await expectIntact(root, before, [t])).map((c) => c.agent)).toEqual([AGENT]);
  }, 90_000);
});
