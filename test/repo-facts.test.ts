// Where a repository's git files are is asked of git once per command (src/record/repo-facts.ts):
// a second question in the same command starts no git, the next command (resetProcessState,
// as main() does first) asks again, and an answer whose repository went is never given.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resetProcessState } from '../src/core/invocation.js';
import { gitDirOf, revParseFact } from '../src/record/repo-facts.js';
import { headBranchNow } from '../src/record/validation-cache.js';
import { headBranch } from '../src/record/git.js';

const temps: string[] = [];
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));

function tempRepo(init = true): string {
  const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'migrate-facts-')));
  temps.push(dir);
  if (init) execFileSync('git', ['init', '-q', dir]);
  return dir;
}

/** Run fn with no git to be found on PATH: any question it asks of git fails. */
function withoutGit<T>(fn: () => T): T {
  const before = process.env.PATH;
  process.env.PATH = '/nonexistent';
  try {
    return fn();
  } finally {
    process.env.PATH = before;
  }
}

/** A git on PATH that counts its starts, then runs the real one: run(fn) calls fn with it first on PATH. */
function countingGit(): { run: <T>(fn: () => T) => T; count: () => number } {
  const real = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
  const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'migrate-facts-git-')));
  temps.push(dir);
  const log = path.join(dir, 'starts');
  writeFileSync(log, '');
  writeFileSync(path.join(dir, 'git'), `#!/bin/sh\necho start >> '${log}'\nexec '${real}' "$@"\n`, { mode: 0o755 });
  return {
    run: (fn) => {
      const before = process.env.PATH;
      process.env.PATH = `${dir}:${before}`;
      try {
        return fn();
      } finally {
        process.env.PATH = before;
      }
    },
    count: () => readFileSync(log, 'utf8').split('\n').filter(Boolean).length,
  };
}

describe('repository facts', () => {
  it('gives git rev-parse answers, kept for the command and asked again by the next', () => {
    resetProcessState();
    const root = tempRepo();
    mkdirSync(path.join(root, 'agents'));
    const sub = path.join(root, 'agents');
    expect(revParseFact(sub, ['--is-inside-work-tree', '--show-prefix'])).toBe('true\nagents/\n');
    expect(revParseFact(sub, ['--show-toplevel'])).toBe(`${root}\n`);
    expect(gitDirOf(sub)).toBe(path.join(root, '.git'));
    // Kept: no git is started for the same questions again in this command.
    expect(withoutGit(() => revParseFact(sub, ['--show-toplevel']))).toBe(`${root}\n`);
    expect(withoutGit(() => gitDirOf(sub))).toBe(path.join(root, '.git'));
    // A new command asks git again.
    resetProcessState();
    expect(withoutGit(() => revParseFact(sub, ['--show-toplevel']))).toBeNull();
    expect(revParseFact(sub, ['--show-toplevel'])).toBe(`${root}\n`);
  });

  it('asks again once the repository is made, and never gives an answer whose git dir went', () => {
    resetProcessState();
    const root = tempRepo(false);
    expect(gitDirOf(root)).toBeNull();
    execFileSync('git', ['init', '-q', root]);
    expect(gitDirOf(root)).toBe(path.join(root, '.git'));
    rmSync(path.join(root, '.git'), { recursive: true, force: true });
    expect(revParseFact(root, ['--git-dir'])).toBeNull();
  });

  it('keeps "not a repository" for the command while nothing git could take for one appears at or above the root', () => {
    resetProcessState();
    const root = tempRepo(false);
    const sub = path.join(root, 'agents');
    mkdirSync(sub);
    const git = countingGit();
    // Nothing at or above it git could take for a repository: git is not even started to say so
    // (each validation outside git started one).
    expect(git.run(() => gitDirOf(sub))).toBeNull();
    // Other questions, and the same again, in the same command: no git started (a validation
    // outside git asked five times per agent).
    expect(git.run(() => revParseFact(sub, ['--show-toplevel', '--show-prefix']))).toBeNull();
    expect(git.run(() => gitDirOf(sub))).toBeNull();
    expect(git.count()).toBe(0);
    // The next command looks again, still without git.
    resetProcessState();
    expect(git.run(() => gitDirOf(sub))).toBeNull();
    expect(git.count()).toBe(0);
    // A repository made above it meanwhile (a .git at the root): asked, and found.
    execFileSync('git', ['init', '-q', root]);
    expect(git.run(() => gitDirOf(sub))).toBe(path.join(root, '.git'));
    expect(git.count()).toBe(1);
  });

  it('asks git from a symlinked root outside any repository that leads into one (git looks up from the real folder)', () => {
    resetProcessState();
    const repo = tempRepo();
    const sub = path.join(repo, 'agents');
    mkdirSync(sub);
    const outsideDir = tempRepo(false);
    const link = path.join(outsideDir, 'link');
    symlinkSync(sub, link);
    expect(gitDirOf(link)).toBe(path.join(repo, '.git'));
  });

  it('asks again when a bare repository is made where it found none', () => {
    resetProcessState();
    const root = tempRepo(false);
    expect(gitDirOf(root)).toBeNull();
    execFileSync('git', ['init', '-q', '--bare', root]);
    expect(gitDirOf(root)).toBe(root);
  });

  it('keeps answers apart per repository', () => {
    resetProcessState();
    const a = tempRepo();
    const b = tempRepo();
    expect(gitDirOf(a)).toBe(path.join(a, '.git'));
    expect(gitDirOf(b)).toBe(path.join(b, '.git'));
  });
});

describe("HEAD's branch", () => {
  const symbolicRef = (root: string): string | null => {
    try {
      return execFileSync('git', ['symbolic-ref', '-q', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || null;
    } catch {
      return null;
    }
  };
  const g = (root: string, ...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: root, stdio: 'ignore' });

  it("answers as git symbolic-ref does, from the HEAD file, starting no git once the git dir is known", async () => {
    resetProcessState();
    const root = tempRepo();
    const git = countingGit();
    const answers: Array<[string | null, string | null, string | null]> = [];
    const ask = async () => {
      const before = git.count();
      const now = git.run(() => headBranchNow(root));
      const later = await git.run(() => headBranch(root));
      answers.push([now, later, symbolicRef(root)]);
      return git.count() - before;
    };
    // An unborn branch, then a commit on it, a branch switched to, a detached HEAD, a linked work tree.
    await git.run(() => gitDirOf(root));
    expect(await ask()).toBe(0);
    writeFileSync(path.join(root, 'a.txt'), 'a\n');
    g(root, 'add', '-A');
    g(root, 'commit', '-qm', 'a');
    expect(await ask()).toBe(0);
    g(root, 'checkout', '-qb', 'feature/x');
    expect(await ask()).toBe(0);
    g(root, 'checkout', '-q', '--detach');
    expect(await ask()).toBe(0);
    const linked = path.join(tempRepo(false), 'wt');
    g(root, 'worktree', 'add', '-q', '-b', 'side', linked);
    const inLinked = git.run(() => headBranchNow(linked));
    for (const [now, later, truth] of answers) {
      expect(now).toBe(truth);
      expect(later).toBe(truth);
    }
    const initial = answers[0]![2];
    expect(initial).toMatch(/^refs\/heads\/./);
    expect(answers.map(([now]) => now)).toEqual([initial, initial, 'refs/heads/feature/x', null]);
    expect(inLinked).toBe('refs/heads/side');
    expect(symbolicRef(linked)).toBe('refs/heads/side');
    // A HEAD file that does not tell (a reftable repository's names refs/heads/.invalid): git is asked.
    writeFileSync(path.join(root, '.git', 'HEAD'), 'ref: refs/heads/.invalid\n');
    const before = git.count();
    expect(git.run(() => headBranchNow(root))).toBe(symbolicRef(root));
    expect(git.count()).toBe(before + 1);
    // Outside git: null, as git's failure gave.
    expect(headBranchNow(tempRepo(false))).toBeNull();
  });
});
