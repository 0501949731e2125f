// Which files a scan reads: those git would track (tracked and untracked, minus
// .gitignore), or, outside a git work tree, a walk that honours .gitignore files.
// Only regular files inside the root count: a symlink that leads outside it (to
// /proc/self/environ, say) is not an agent of this repository, a FIFO would hang the
// read. The walk outside git stays off special filesystems (/proc, /sys, /dev), never
// loops through symlinked folders, and stops with a clear error past a depth or a
// number of entries that no repository has (`scan --root /`).
import { AsyncLocalStorage } from 'node:async_hooks';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync, realpathSync, statfsSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';
import ignore from 'ignore';
import { UsageError } from '../core/errors.js';
import { gitMayFindRepository } from '../record/repo-facts.js';

// coverage/ and bower_components/ hold generated or vendored JavaScript (istanbul reports, old front-end deps).
const ALWAYS_SKIPPED = /(^|\/)(node_modules|\.git|__pycache__|\.venv|venv|\.tox|dist|migration-log|\.migrate|coverage|bower_components)(\/|$)/;

/** Bounds of the walk outside git. */
export const WALK_LIMITS = { depth: 40, entries: 200_000 };

// statfs magic numbers of pseudo filesystems that hold no source code (linux/magic.h).
const SPECIAL_FS = new Set([
  0x9fa0, // proc
  0x62656572, // sysfs
  0x1cd1, // devpts
  0x27e0eb, // cgroup
  0x63677270, // cgroup2
  0x64626720, // debugfs
  0x74726163, // tracefs
  0x73636673, // securityfs
  0x6165676c, // pstore
  0xcafe4a11, // bpf
  0x62656570, // configfs
  0x65735543, // fusectl
  0x19800202, // mqueue
  0x958458f6, // hugetlbfs
  0x187, // autofs
  0x42494e4d, // binfmt_misc
]);

export function listSourceFiles(root: string, extensions: string[]): string[] {
  const wanted = (f: string) => extensions.some((e) => f.endsWith(e)) && !ALWAYS_SKIPPED.test(f);
  const realRoot = realpathOr(root);
  const kept = keptListings.getStore();
  if (kept) {
    // Every file of any extension, listed once for the kept work (git's, or the walk's outside git); each
    // listing filters its own from it, and asks again whether each file is still there.
    const key = path.resolve(root);
    let all = kept.get(key);
    if (!all) kept.set(key, (all = readGitListing(root) ?? walk(root, realRoot, (f) => !ALWAYS_SKIPPED.test(f))));
    return all.filter((f) => wanted(f) && isOwnRegularFile(root, realRoot, f)).sort().map((f) => path.join(root, f));
  }
  const fromGit = gitFiles(root);
  const rel = fromGit ? fromGit.filter((f) => wanted(f) && isOwnRegularFile(root, realRoot, f)) : walk(root, realRoot, wanted);
  return rel.filter(wanted).sort().map((f) => path.join(root, f));
}

function realpathOr(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

function inside(realRoot: string, real: string): boolean {
  return real === realRoot || real.startsWith(realRoot.endsWith(path.sep) ? realRoot : `${realRoot}${path.sep}`);
}

/** A regular file whose real path (symlinks followed) is inside the root. */
function isOwnRegularFile(root: string, realRoot: string, rel: string): boolean {
  const abs = path.join(root, rel);
  try {
    if (!statSync(abs).isFile()) return false;
    return !lstatSync(abs).isSymbolicLink() || inside(realRoot, realpathSync(abs));
  } catch {
    return false;
  }
}

/**
 * Each root's files (relative paths, of any extension: git's listing, or outside git the walk's),
 * kept through a piece of work that writes no source file (withListingKept). A `migrate validate`
 * listed its repository up to six times, a `git ls-files` (about 15 ms of CPU from a loaded
 * process) or outside git a walk of the whole tree each: choosing the profile, its scan, its startup
 * configs, and each launch's search for the agent's starter or subclass, in this thread and again in
 * the launch thread, for the legacy baseline and for the _v2. Whether each listed file still exists
 * is asked at every listing, as before.
 */
const keptListings = new AsyncLocalStorage<Map<string, string[]>>();

/**
 * `work` with each root listed once, at its first listing, for all of the work's listings (the
 * async work it starts included). Only for work that adds no file a listing would show (validation
 * writes none: its builds go to node_modules/.cache or the temporary folder). `seed`: a listing
 * already read (the launch thread is handed the command's).
 */
export function withListingKept<T>(work: () => Promise<T>, seed?: { root: string; listed: string[] }): Promise<T> {
  const store = new Map<string, string[]>();
  if (seed) store.set(path.resolve(seed.root), seed.listed);
  return keptListings.run(store, work);
}

/** The kept listing of `root` (read now if not yet) when the caller runs under withListingKept, else undefined. */
export function keptListing(root: string): string[] | undefined {
  if (!keptListings.getStore()) return undefined;
  listSourceFiles(root, []);
  return keptListings.getStore()!.get(path.resolve(root));
}

function gitFiles(root: string): string[] | null {
  const listed = readGitListing(root);
  return listed && listed.filter((f) => existsSync(path.join(root, f)));
}

function readGitListing(root: string): string[] | null {
  // Nothing git could take for a repository there: `git ls-files` would only fail (a process per listing).
  if (!gitMayFindRepository(root)) return null;
  try {
    const out = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--', '.'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      maxBuffer: 256 * 1024 * 1024,
    });
    return out.split('\0').filter((f) => f);
  } catch {
    return null;
  }
}

function specialFilesystem(dir: string): boolean {
  try {
    return SPECIAL_FS.has(Number(statfsSync(dir).type));
  } catch {
    return true; // cannot even tell what it is: not a place for source code
  }
}

function walk(root: string, realRoot: string, wanted: (rel: string) => boolean): string[] {
  const out: string[] = [];
  const seenDirs = new Set<string>();
  let entries = 0;
  const visit = (dir: string, depth: number, parentDev: number | undefined, rules: Array<{ base: string; ig: ReturnType<typeof ignore> }>) => {
    const real = realpathOr(dir);
    if (seenDirs.has(real)) return; // a symlink loop, or a folder reached twice
    seenDirs.add(real);
    if (depth > WALK_LIMITS.depth) {
      throw new UsageError(`${root}: folders nest deeper than ${WALK_LIMITS.depth} levels (at ${path.relative(root, dir)}); outside git, point --root at the repository`);
    }
    const st = statSync(dir);
    if (st.dev !== parentDev && specialFilesystem(dir)) return; // /proc, /sys, /dev/pts...
    const gi = path.join(dir, '.gitignore');
    let here = rules;
    try {
      if (existsSync(gi)) here = [...rules, { base: dir, ig: ignore().add(readFileSync(gi, 'utf8')) }];
    } catch {
      // an unreadable .gitignore ignores nothing
    }
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      return; // unreadable folder
    }
    for (const name of names) {
      if (++entries > WALK_LIMITS.entries) {
        throw new UsageError(`${root} holds more than ${WALK_LIMITS.entries} entries outside git; point --root at the repository`);
      }
      const abs = path.join(dir, name);
      const rel = path.relative(root, abs).split(path.sep).join('/');
      if (ALWAYS_SKIPPED.test(rel)) continue;
      let s: Stats;
      try {
        const l = lstatSync(abs);
        s = l.isSymbolicLink() ? statSync(abs) : l;
        // A symlink counts only when it leads somewhere inside the root.
        if (l.isSymbolicLink() && !inside(realRoot, realpathSync(abs))) continue;
      } catch {
        continue;
      }
      const isDir = s.isDirectory();
      if (!isDir && !s.isFile()) continue; // FIFOs, sockets, devices
      const ignored = here.some(({ base, ig }) => {
        const r = path.relative(base, abs).split(path.sep).join('/');
        return ig.ignores(isDir ? `${r}/` : r);
      });
      if (ignored) continue;
      if (isDir) visit(abs, depth + 1, st.dev, here);
      else if (wanted(rel)) out.push(rel);
    }
  };
  visit(root, 0, undefined, []);
  return out;
}
