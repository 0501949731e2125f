// git's index lock: a git killed in the middle of a commit leaves `.git/index.lock`
// behind and every later git command that writes the index fails. Whether a live git
// still owns it is told from /proc: a git process working in this repository.
import { closeSync, existsSync, openSync, readdirSync, readlinkSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { hasProc, readStat } from '../validate/proc.js';
import { gitDirOf, revParseFact } from './repo-facts.js';

export interface IndexLock {
  /** Absolute path of the lock file. */
  file: string;
  /** Live git processes working in this repository (their pids); empty when its owner is dead. */
  holders: number[];
  /** False when there is no /proc to look for an owner in. */
  knowable: boolean;
}

/** A location git gives (where its files are, asked once per command), or null outside git. */
function gitPath(root: string, args: string[]): string | null {
  return revParseFact(root, args)?.trim() ?? null;
}

/** The repository's index.lock when there is one, with the git processes that may own it. */
export function indexLock(root: string): IndexLock | null {
  const rel = gitPath(root, ['--git-path', 'index.lock']);
  if (!rel) return null;
  const file = path.resolve(root, rel);
  if (!existsSync(file)) return null;
  const top = gitPath(root, ['--show-toplevel']) ?? root;
  const gitDir = gitDirOf(root) ?? path.resolve(root, '.git');
  if (!hasProc()) return { file, holders: [], knowable: false };
  const holders: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const s = readStat(Number(e));
    if (!s || s.state === 'Z' || !/^git/.test(s.comm)) continue;
    let cwd: string;
    try {
      cwd = readlinkSync(`/proc/${e}/cwd`);
    } catch {
      continue;
    }
    const inside = (dir: string) => cwd === dir || cwd.startsWith(`${dir}/`);
    if (inside(top) || inside(gitDir)) holders.push(s.pid);
  }
  return { file, holders, knowable: true };
}

/** The one line that explains a lock to the user (what it is and what to do). */
export function describeIndexLock(root: string, lock: IndexLock): string {
  const shown = path.relative(root, lock.file) || lock.file;
  if (lock.holders.length) {
    return `${shown} is held by a running git (pid ${lock.holders.join(', ')}); wait for it to finish, then run again`;
  }
  if (!lock.knowable) return `${shown} exists; if no git command is running in this repository, remove it, then run again`;
  return `${shown} exists but no git process is running (a git killed mid-operation left it); remove it, then run again`;
}

/**
 * The `next-index-<pid>.lock` files a killed `git commit --only` left beside the index (its
 * temporary index): stale once no live git has that pid. Harmless until a later git gets the
 * same pid, whose `commit --only` then fails with "File exists". Empty without /proc.
 */
export function staleNextIndexLocks(root: string): string[] {
  const dir = gitDirOf(root);
  if (!dir || !hasProc()) return [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((f) => {
      const m = /^next-index-(\d+)\.lock$/.exec(f);
      if (!m) return false;
      const s = readStat(Number(m[1]));
      return !s || s.state === 'Z' || !/^git/.test(s.comm);
    })
    .map((f) => path.join(dir, f));
}

/** The index.lock this process holds (created with O_EXCL, as git does): the index is ours to replace. */
export interface HeldIndexLock {
  /** The repository's index and its lock file, absolute. */
  index: string;
  file: string;
  /** Replace the index with what the lock file now holds (git's own commit of a lock), releasing it. */
  commit(): void;
  /** Give the lock up, the index untouched; idempotent. */
  release(): void;
}

/** The waits between tries for a lock another git holds: some 3 s in all. */
export const LOCK_BACKOFF_MS = [25, 50, 100, 200, 400, 800, 1500];

/**
 * Take the repository's index.lock the way git does (create it exclusively), waiting a short
 * bounded while when another git holds it: an IDE's background `git status` or `git fetch`
 * holds it for a moment, and before, the agent's commit failed on it at once. Otherwise the
 * line that says why (who holds it, what to do) when it stays held.
 */
export async function holdIndexLock(root: string, backoff: number[] = LOCK_BACKOFF_MS): Promise<HeldIndexLock | string> {
  const rel = gitPath(root, ['--git-path', 'index']);
  if (!rel) return `${root} is not inside a git work tree`;
  const index = path.resolve(root, rel);
  const file = `${index}.lock`;
  for (let attempt = 0; ; attempt++) {
    let fd: number;
    try {
      fd = openSync(file, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return `cannot create ${path.relative(root, file) || file}: ${(err as Error).message}`;
      if (attempt >= backoff.length) {
        const lock = indexLock(root);
        return lock ? describeIndexLock(root, lock) : `${path.relative(root, file)} was held by another git throughout ${backoff.reduce((a, b) => a + b, 0)} ms`;
      }
      await new Promise((r) => setTimeout(r, backoff[attempt]));
      continue;
    }
    closeSync(fd);
    let held = true;
    return {
      index,
      file,
      commit() {
        if (!held) return;
        renameSync(file, index);
        held = false;
      },
      release() {
        if (!held) return;
        held = false;
        rmSync(file, { force: true });
      },
    };
  }
}

/**
 * The private indexes (`migrate-index-*` folders beside the index) a migrate killed while it
 * committed left behind: only the recovery of that killed command removes them, under the
 * run lock, when no other migrate commits in this repository.
 */
export function leftPrivateIndexes(root: string): string[] {
  const rel = gitPath(root, ['--git-path', 'index']);
  if (!rel) return [];
  const dir = path.dirname(path.resolve(root, rel));
  try {
    return readdirSync(dir)
      .filter((f) => f.startsWith('migrate-index-'))
      .map((f) => path.join(dir, f));
  } catch {
    return [];
  }
}
