// Which files a scan lists (src/discover/files.ts): git's listing inside a work tree, a walk
// outside one, and no git process started where git could find no work tree (every scan and
// rewrite of a folder outside git had started one, to fail).
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listSourceFiles, withListingSnapshot } from '../src/discover/files.js';

const temps: string[] = [];
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});
function tmp(prefix: string): string {
  const d = mkdtempSync(path.join(os.tmpdir(), prefix));
  temps.push(d);
  return d;
}

/** `fn` with a `git` first on PATH that records each start in a log, then runs the real git. */
function withRecordingGit<T>(fn: () => T): { value: T; starts: string[] } {
  const real = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
  const bin = tmp('migrate-fake-git-');
  const log = path.join(bin, 'starts.log');
  writeFileSync(log, '');
  writeFileSync(path.join(bin, 'git'), `#!/bin/sh\necho "$PWD $*" >> '${log}'\nexec '${real}' "$@"\n`);
  chmodSync(path.join(bin, 'git'), 0o755);
  const saved = process.env.PATH;
  process.env.PATH = `${bin}:${saved}`;
  try {
    const value = fn();
    return { value, starts: readFileSync(log, 'utf8').split('\n').filter(Boolean) };
  } finally {
    process.env.PATH = saved;
  }
}

describe('listSourceFiles', () => {
  it('outside git: the walk lists the files, and no git process is started', () => {
    const root = tmp('migrate-list-nogit-');
    mkdirSync(path.join(root, 'agents'));
    writeFileSync(path.join(root, 'agents', 'a.py'), 'x = 1\n');
    writeFileSync(path.join(root, 'agents', 'b.py'), 'y = 2\n');
    writeFileSync(path.join(root, '.gitignore'), 'agents/b.py\n');
    const { value, starts } = withRecordingGit(() => listSourceFiles(root, ['.py']));
    expect(value).toEqual([path.join(root, 'agents', 'a.py')]);
    expect(starts).toEqual([]);
  });

  it("inside a work tree, reached through a symlink: git's listing (its info/exclude honoured), as before", () => {
    const repo = tmp('migrate-list-git-');
    execFileSync('git', ['init', '-q', repo]);
    mkdirSync(path.join(repo, 'svc', 'agents'), { recursive: true });
    writeFileSync(path.join(repo, 'svc', 'agents', 'a.py'), 'x = 1\n');
    // Excluded by the repository's own exclude file, which only git reads (the walk does not).
    writeFileSync(path.join(repo, 'svc', 'agents', 'hidden.py'), 'y = 2\n');
    writeFileSync(path.join(repo, '.git', 'info', 'exclude'), 'hidden.py\n');
    const link = path.join(tmp('migrate-list-link-'), 'svc');
    symlinkSync(path.join(repo, 'svc'), link);
    const { value, starts } = withRecordingGit(() => listSourceFiles(link, ['.py']));
    expect(value).toEqual([path.join(link, 'agents', 'a.py')]);
    expect(starts.length).toBe(1);
  });

  it('within a listing snapshot: one git for every listing of the root, each as listed alone, a file gone since left out', () => {
    const repo = tmp('migrate-list-snap-');
    execFileSync('git', ['init', '-q', repo]);
    mkdirSync(path.join(repo, 'agents'));
    mkdirSync(path.join(repo, 'config'));
    writeFileSync(path.join(repo, 'agents', 'a.py'), 'x = 1\n');
    writeFileSync(path.join(repo, 'agents', 'b.py'), 'y = 2\n');
    writeFileSync(path.join(repo, 'config', 'startup_config.yaml'), 'agents: []\n');
    writeFileSync(path.join(repo, '.gitignore'), 'agents/b.py\n');
    const alone = { py: listSourceFiles(repo, ['.py']), yaml: listSourceFiles(repo, ['.yaml', '.yml']) };
    const { value, starts } = withRecordingGit(() =>
      withListingSnapshot(() => {
        const py = listSourceFiles(repo, ['.py']);
        const yaml = listSourceFiles(`${repo}/`, ['.yaml', '.yml']);
        rmSync(path.join(repo, 'agents', 'a.py'));
        return { py, yaml, after: listSourceFiles(repo, ['.py']) };
      }),
    );
    expect(value.py).toEqual(alone.py);
    expect(value.py).toEqual([path.join(repo, 'agents', 'a.py')]);
    expect(value.yaml).toEqual(alone.yaml);
    expect(value.yaml).toEqual([path.join(repo, 'config', 'startup_config.yaml')]);
    expect(value.after).toEqual([]);
    expect(starts.length).toBe(1);
    // Outside the snapshot every listing is its own.
    expect(withRecordingGit(() => [listSourceFiles(repo, ['.py']), listSourceFiles(repo, ['.py'])]).starts.length).toBe(2);
  });

  it('within a listing snapshot outside git: one walk serves every extension, as each walk alone', () => {
    const root = tmp('migrate-list-snap-nogit-');
    mkdirSync(path.join(root, 'agents', 'deep'), { recursive: true });
    writeFileSync(path.join(root, 'agents', 'a.py'), 'x = 1\n');
    writeFileSync(path.join(root, 'agents', 'deep', 'c.py'), 'x = 1\n');
    writeFileSync(path.join(root, 'agents', 'b.py'), 'y = 2\n');
    writeFileSync(path.join(root, 'agents', 'startup_config.yml'), 'agents: []\n');
    writeFileSync(path.join(root, '.gitignore'), 'agents/b.py\n');
    const alone = [listSourceFiles(root, ['.py']), listSourceFiles(root, ['.yaml', '.yml'])];
    const inSnapshot = withListingSnapshot(() => [listSourceFiles(root, ['.py']), listSourceFiles(root, ['.yaml', '.yml'])]);
    expect(inSnapshot).toEqual(alone);
    expect(alone[0]).toEqual([path.join(root, 'agents', 'a.py'), path.join(root, 'agents', 'deep', 'c.py')]);
  });
});
