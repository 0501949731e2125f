// Which files a scan lists (src/discover/files.ts): git's listing inside a work tree, a walk
// outside one, and no git process started where git could find no work tree (every scan and
// rewrite of a folder outside git had started one, to fail).
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { keptListing, listSourceFiles, withListingKept } from '../src/discover/files.js';

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
async function withRecordingGit<T>(fn: () => T | Promise<T>): Promise<{ value: T; starts: string[] }> {
  const real = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
  const bin = tmp('migrate-fake-git-');
  const log = path.join(bin, 'starts.log');
  writeFileSync(log, '');
  writeFileSync(path.join(bin, 'git'), `#!/bin/sh\necho "$PWD $*" >> '${log}'\nexec '${real}' "$@"\n`);
  chmodSync(path.join(bin, 'git'), 0o755);
  const saved = process.env.PATH;
  process.env.PATH = `${bin}:${saved}`;
  try {
    const value = await fn();
    return { value, starts: readFileSync(log, 'utf8').split('\n').filter(Boolean) };
  } finally {
    process.env.PATH = saved;
  }
}

describe('listSourceFiles', () => {
  it('outside git: the walk lists the files, and no git process is started', async () => {
    const root = tmp('migrate-list-nogit-');
    mkdirSync(path.join(root, 'agents'));
    writeFileSync(path.join(root, 'agents', 'a.py'), 'x = 1\n');
    writeFileSync(path.join(root, 'agents', 'b.py'), 'y = 2\n');
    writeFileSync(path.join(root, '.gitignore'), 'agents/b.py\n');
    const { value, starts } = await withRecordingGit(() => listSourceFiles(root, ['.py']));
    expect(value).toEqual([path.join(root, 'agents', 'a.py')]);
    expect(starts).toEqual([]);
  });

  it("inside a work tree, reached through a symlink: git's listing (its info/exclude honoured), as before", async () => {
    const repo = tmp('migrate-list-git-');
    execFileSync('git', ['init', '-q', repo]);
    mkdirSync(path.join(repo, 'svc', 'agents'), { recursive: true });
    writeFileSync(path.join(repo, 'svc', 'agents', 'a.py'), 'x = 1\n');
    // Excluded by the repository's own exclude file, which only git reads (the walk does not).
    writeFileSync(path.join(repo, 'svc', 'agents', 'hidden.py'), 'y = 2\n');
    writeFileSync(path.join(repo, '.git', 'info', 'exclude'), 'hidden.py\n');
    const link = path.join(tmp('migrate-list-link-'), 'svc');
    symlinkSync(path.join(repo, 'svc'), link);
    const { value, starts } = await withRecordingGit(() => listSourceFiles(link, ['.py']));
    expect(value).toEqual([path.join(link, 'agents', 'a.py')]);
    expect(starts.length).toBe(1);
  });

  it('under withListingKept: git lists the root once for every listing (any extensions, the async work included); each file is still asked whether it exists', async () => {
    const repo = tmp('migrate-list-kept-');
    execFileSync('git', ['init', '-q', repo]);
    mkdirSync(path.join(repo, 'agents'));
    writeFileSync(path.join(repo, 'agents', 'a.ts'), 'export const a = 1;\n');
    writeFileSync(path.join(repo, 'agents', 'b.ts'), 'export const b = 2;\n');
    writeFileSync(path.join(repo, 'startup_config.yaml'), 'agents: []\n');
    const { value, starts } = await withRecordingGit(() =>
      withListingKept(async () => {
        const first = listSourceFiles(repo, ['.ts', '.yaml']);
        await new Promise((resolve) => setTimeout(resolve, 1));
        const configs = listSourceFiles(repo, ['.yaml']);
        // A listed file gone since: not listed any more (its existence is asked at each listing).
        rmSync(path.join(repo, 'agents', 'b.ts'));
        const after = listSourceFiles(repo, ['.ts']);
        return { first, configs, after, kept: keptListing(repo) };
      }),
    );
    expect(value.first).toEqual([path.join(repo, 'agents', 'a.ts'), path.join(repo, 'agents', 'b.ts'), path.join(repo, 'startup_config.yaml')]);
    expect(value.configs).toEqual([path.join(repo, 'startup_config.yaml')]);
    expect(value.after).toEqual([path.join(repo, 'agents', 'a.ts')]);
    // What the launch thread is handed: git's paths as it gave them.
    expect(value.kept).toEqual(['agents/a.ts', 'agents/b.ts', 'startup_config.yaml']);
    expect(starts.length).toBe(1);
    // Outside the scope nothing is kept: each listing asks git again, and sees a file added since.
    writeFileSync(path.join(repo, 'agents', 'c.ts'), 'export const c = 3;\n');
    const again = await withRecordingGit(() => [listSourceFiles(repo, ['.ts']), listSourceFiles(repo, ['.ts']), keptListing(repo)] as const);
    expect(again.value[0]).toEqual([path.join(repo, 'agents', 'a.ts'), path.join(repo, 'agents', 'c.ts')]);
    expect(again.value[2]).toBeUndefined();
    expect(again.starts.length).toBe(2);
  });

  it("a seeded listing (the command's, handed to the launch thread) is used as is: no git process", async () => {
    const repo = tmp('migrate-list-seed-');
    execFileSync('git', ['init', '-q', repo]);
    writeFileSync(path.join(repo, 'a.ts'), 'export const a = 1;\n');
    writeFileSync(path.join(repo, 'b.ts'), 'export const b = 2;\n');
    const { value, starts } = await withRecordingGit(() => withListingKept(async () => listSourceFiles(repo, ['.ts']), { root: repo, listed: ['b.ts'] }));
    expect(value).toEqual([path.join(repo, 'b.ts')]);
    expect(starts).toEqual([]);
  });

  it('under withListingKept: each listing as listed alone (.gitignore, other extensions, the root spelled with a slash)', async () => {
    const repo = tmp('migrate-list-snap-');
    execFileSync('git', ['init', '-q', repo]);
    mkdirSync(path.join(repo, 'agents'));
    mkdirSync(path.join(repo, 'config'));
    writeFileSync(path.join(repo, 'agents', 'a.py'), 'x = 1\n');
    writeFileSync(path.join(repo, 'agents', 'b.py'), 'y = 2\n');
    writeFileSync(path.join(repo, 'config', 'startup_config.yaml'), 'agents: []\n');
    writeFileSync(path.join(repo, '.gitignore'), 'agents/b.py\n');
    const alone = { py: listSourceFiles(repo, ['.py']), yaml: listSourceFiles(repo, ['.yaml', '.yml']) };
    const { value, starts } = await withRecordingGit(() =>
      withListingKept(async () => {
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
  });

  it('under withListingKept outside git: one walk serves every extension, as each walk alone', async () => {
    const root = tmp('migrate-list-snap-nogit-');
    mkdirSync(path.join(root, 'agents', 'deep'), { recursive: true });
    writeFileSync(path.join(root, 'agents', 'a.py'), 'x = 1\n');
    writeFileSync(path.join(root, 'agents', 'deep', 'c.py'), 'x = 1\n');
    writeFileSync(path.join(root, 'agents', 'b.py'), 'y = 2\n');
    writeFileSync(path.join(root, 'agents', 'startup_config.yml'), 'agents: []\n');
    writeFileSync(path.join(root, '.gitignore'), 'agents/b.py\n');
    const alone = [listSourceFiles(root, ['.py']), listSourceFiles(root, ['.yaml', '.yml'])];
    const kept = await withListingKept(async () => [listSourceFiles(root, ['.py']), listSourceFiles(root, ['.yaml', '.yml'])]);
    expect(kept).toEqual(alone);
    expect(alone[0]).toEqual([path.join(root, 'agents', 'a.py'), path.join(root, 'agents', 'deep', 'c.py')]);
  });
});
