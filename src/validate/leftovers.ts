// What validated agents leave in the repository. Validation starts each agent (the legacy
// baseline run and the `_v2`) from the repository root, and agents write state files there
// (`low-stock.json` at shutdown, a cache, a pid file). Left behind, they are untracked files
// the next `migrate run` refuses to start on: the tool's own checks made that dirt.
//
// A guard per repository, shared by every validation that overlaps in time (the agents of one
// batch at --concurrency, and other migrate commands validating in the same repository at
// once): the first to start takes a baseline of `git status` (untracked files, and tracked
// files that differ from the index); when the last one ends, what is new since is put back:
// - an untracked (not ignored) file absent from the baseline is moved out of the tree, and the
//   folders it was created in are removed when they are empty and were born after the baseline;
// - a tracked file clean in the baseline that is now modified, deleted or of another type is
//   written back from the index (which, clean before, is the committed content), what stood
//   there moved out first.
// Moved, not deleted: a file the user created or edited while a long validation ran looks
// like the agents' (nothing tells them apart), so what the cleanup takes from the tree goes to
// one folder per cleanup in the git dir (migrate/validation-leftovers/<time>-<pid>/, at the
// same relative path), named in the report and the warning, from where it can be copied back.
// Never removed: anything in the baseline (there, or dirty, before), files git ignores (the
// agent's business: the repository said it does not want them), staged changes, and the
// validated agents' own `_v2` and legacy files (the run's drift check judges what happened to them).
// But the bytes of a file that was there before and that git cannot give back (ignored, as an
// agent's spool or state file under `state/` usually is, untracked, or with uncommitted changes)
// are the user's: the legacy baseline run and the `_v2` read and rewrite them from the root as
// they would in production (a relay's spool of pending webhooks, emptied by their retries). So
// the first holder copies them aside (most recently written first, within a budget; an ignored
// folder of more than 1000 files is a dependency or build tree, not state, and is left out: a
// TypeScript repository's node_modules/ costs nothing) and the cleaning puts back each one the
// validation changed or deleted, as it was (what stood there moved out first, as above); one
// too large to have been copied is named, not touched.
// The cleaning waits for the last overlapping validation: an agent still running may hold the
// file another one's run created, or read it at shutdown.
//
// The guard is recorded in the git dir (migrate/tree-guard.json) with its holders (pid, start
// time, boot). A holder that died without leaving (the tool killed mid-validation) makes the
// guard "interrupted": nothing is removed then, ever, by anyone: `migrate status` and the next
// `run`'s refusal name what is new since that baseline as left by an interrupted validation,
// until it is gone (removed, committed or ignored by the user), when the record is dropped.
import { execFile, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, constants as fsConstants, copyFileSync, cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gitDirOf, parsePorcelainStatus, revParseFact, type StatusEntry } from '../record/repo-facts.js';
import { checkIdentity, identityOf } from './proc.js';

/** What the end of a validation put back in the repository (paths relative to the top of the work tree). */
export interface TreeCleanup {
  /** Untracked files the validated agents created, moved out of the tree into `saved_in`. */
  removed: string[];
  /** Tracked files they modified or deleted, written back from the index (a modified one's content moved into `saved_in` first). */
  restored: string[];
  /** The folder (absolute) holding what was removed or overwritten, at the same relative paths; absent when nothing was. */
  saved_in?: string;
  /** Files there before validation that git cannot give back (ignored, untracked or with uncommitted changes), which the validated agents changed or deleted: put back as they were (what stood there moved into `saved_in` first). */
  put_back?: string[];
  /** New since the baseline but left alone, with why (a staged change, a failure to put it back). */
  kept?: string[];
  /**
   * Ignored folders of more than OWN_FOLDER_MAX files that are not a dependency, build or cache
   * tree (`state/ (more than 1000 files)`): neither copied aside nor watched, so what the
   * validation did to them is neither known nor put back; and the untracked or ignored files past
   * OWN_WATCH_MAX, least recently written first out (`12 untracked or ignored files past the
   * 20000-file watch limit (...)`), as little known.
   */
  not_watched?: string[];
}

interface Holder {
  pid: number;
  start?: number;
  boot?: string;
  /** This module instance's token: worker threads of one process are holders of their own. */
  token?: string;
}

interface GuardFile {
  version: 1;
  /** When the baseline was taken (ms since the epoch). */
  since: number;
  /** Paths listed by `git status` then (untracked, or tracked and not clean). */
  baseline: string[];
  holders: Holder[];
  /** Set once a holder died holding it: nothing is cleaned, what is new is named instead. */
  interrupted?: boolean;
  /**
   * The validated agents' own files (each `_v2` and its legacy source), never put back: what an
   * agent does to them is the run's drift check's to judge (it refuses the commit and leaves the
   * change for `git diff`), and putting them back only when the last validation ended would make
   * that verdict depend on which agent finished last.
   */
  sources?: string[];
  /** An interrupted validation's record, set aside while a new guard runs (restored when it ends). */
  previous?: { since: number; baseline: string[]; own?: string };
  /** The folder holding the copies of the files git cannot give back, as they were at the baseline (see copyOwn). */
  own?: string;
  /** Ignored folders too large to copy or watch that may be state (TreeCleanup.not_watched). */
  unwatched?: string[];
}

const GUARD = 'tree-guard.json';
/** Under the guard's folder: one folder per cleanup holding what it took from the tree. */
const SAVED = 'validation-leftovers';
const LOCK = 'tree-guard.lock';
/** A lock older than this is a crashed command's (the locked steps take a git status at most). */
const STALE_LOCK_MS = 60_000;

interface Where {
  top: string;
  dir: string;
  /** The root inside its work tree ('' at the top): only files under it are looked at. */
  prefix: string;
  /** The guard's file (one per root: a root in a sub-folder guards that folder). */
  guard: string;
}

function locate(root: string): Where | null {
  const gitDir = gitDirOf(root);
  const facts = revParseFact(root, ['--show-toplevel', '--show-prefix'])?.split('\n');
  const top = facts?.[0]?.trim();
  if (!gitDir || !top) return null;
  const prefix = facts?.[1]?.trim() ?? '';
  const dir = path.join(gitDir, 'migrate');
  const guard = path.join(dir, prefix ? `tree-guard-${createHash('sha1').update(prefix).digest('hex').slice(0, 12)}.json` : GUARD);
  return { top, dir, prefix, guard };
}

type Entry = StatusEntry;

/**
 * `git status` under the root: every untracked file (not folders), no index write; paths from the top.
 * With `ignored`, what git ignores too (`!!`, as `--ignored=matching` names it; see ignoredFiles).
 */
function status(w: Where, ignored = false): Promise<Entry[]> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      ['--no-optional-locks', 'status', '--porcelain=v1', '-z', '--untracked-files=all', ...(ignored ? ['--ignored=matching'] : []), '--ignore-submodules=all', '--', w.prefix ? `:(top,literal)${w.prefix}` : '.'],
      { cwd: w.top, encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 },
      (err, stdout) => {
        if (err) return reject(err);
        resolve(parsePorcelainStatus(stdout.toString('utf8')));
      },
    );
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The repository's guard lock (a folder: mkdir is atomic), held while `fn` runs. */
async function locked<T>(w: Where, fn: () => Promise<T>): Promise<T> {
  mkdirSync(w.dir, { recursive: true });
  const lock = path.join(w.dir, LOCK);
  for (let waited = 0; ; waited += 50) {
    try {
      mkdirSync(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      try {
        if (Date.now() - statSync(lock).mtimeMs > STALE_LOCK_MS) rmdirSync(lock);
      } catch {
        // released meanwhile
      }
      if (waited > 4 * STALE_LOCK_MS) throw new Error(`cannot take ${lock}`);
      await sleep(50);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function readGuard(w: Where): GuardFile | null {
  try {
    const g = JSON.parse(readFileSync(w.guard, 'utf8')) as GuardFile;
    return g && g.version === 1 && Array.isArray(g.baseline) && Array.isArray(g.holders) ? g : null;
  } catch {
    return null;
  }
}

function writeGuard(w: Where, g: GuardFile): void {
  const file = w.guard;
  writeFileSync(`${file}.tmp`, JSON.stringify(g));
  renameSync(`${file}.tmp`, file);
}

const alive = (h: Holder) => checkIdentity(h) !== 'gone';
const same = (a: Holder, b: Holder) => a.pid === b.pid && a.start === b.start && a.token === b.token;

/** Paths that differ from the baseline now: new untracked files, and clean tracked files now changed (the agents' own files aside). */
function fresh(now: Entry[], baseline: string[], sources: string[] = []): Entry[] {
  const before = new Set([...baseline, ...sources]);
  return now.filter((e) => !before.has(e.path) && !e.path.endsWith('/'));
}

/** The file's content and mode in the index (stage 0). */
function putBack(top: string, rel: string): void {
  const line = execFileSync('git', ['ls-files', '-s', '-z', '--', rel], { cwd: top, encoding: 'utf8' }).split('\0')[0] ?? '';
  const m = /^(\d{6}) ([0-9a-f]+) 0\t/.exec(line);
  if (!m) throw new Error('not in the index');
  const blob = execFileSync('git', ['cat-file', 'blob', m[2]!], { cwd: top, maxBuffer: 256 * 1024 * 1024 });
  const abs = path.join(top, rel);
  if (exists(abs)) rmSync(abs, { recursive: true, force: true });
  mkdirSync(path.dirname(abs), { recursive: true });
  if (m[1] === '120000') symlinkSync(blob.toString('utf8'), abs);
  else {
    writeFileSync(abs, blob);
    chmodSync(abs, m[1] === '100755' ? 0o755 : 0o644);
  }
}

/** Something (a file, a link, even a dangling one, a folder) stands at `abs`. */
function exists(abs: string): boolean {
  try {
    lstatSync(abs);
    return true;
  } catch {
    return false;
  }
}

/** A new folder for one cleanup's saved files, `<dir>/validation-leftovers/<time>-<pid>[-n]` (created, so two cleanups never share one). */
function makeSaveFolder(dir: string): string {
  return makeFolder(path.join(dir, SAVED));
}

/** A new folder `<parent>/<time>-<pid>[-n]` (created, so two callers never share one). */
function makeFolder(parent: string): string {
  const base = path.join(parent, `${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}`);
  mkdirSync(path.dirname(base), { recursive: true });
  for (let n = 1; ; n++) {
    const folder = n === 1 ? base : `${base}-${n}`;
    try {
      mkdirSync(folder);
      return folder;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || n > 100) throw err;
    }
  }
}

/** Move what stands at `top/rel` to `folder/rel` (copied then removed across file systems: the git dir may live elsewhere). */
function moveOut(top: string, rel: string, folder: string): void {
  const from = path.join(top, rel);
  const to = path.join(folder, rel);
  if (exists(to)) throw new Error(`${to} exists`);
  mkdirSync(path.dirname(to), { recursive: true });
  try {
    renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    cpSync(from, to, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
    rmSync(from, { recursive: true, force: true });
  }
}

/** Remove the folders `rel` was created in, up to the top, while empty and born after `since`. */
function pruneFolders(top: string, rel: string, since: number): void {
  for (let d = path.dirname(rel); d && d !== '.' && d !== '/'; d = path.dirname(d)) {
    const abs = path.join(top, d);
    try {
      const st = statSync(abs);
      // No birth time (0) on this file system: the folder may have been there before; keep it.
      if (!st.birthtimeMs || st.birthtimeMs < since - 1000 || readdirSync(abs).length) return;
      rmdirSync(abs);
    } catch {
      return;
    }
  }
}

function clean(top: string, dir: string, entries: Entry[], since: number): TreeCleanup {
  const out: TreeCleanup = { removed: [], restored: [] };
  const kept: string[] = [];
  const saveFolder = () => (out.saved_in ??= makeSaveFolder(dir));
  for (const e of entries) {
    const abs = path.join(top, e.path);
    try {
      if (e.x === '?') {
        moveOut(top, e.path, saveFolder());
        out.removed.push(e.path);
        pruneFolders(top, e.path, since);
      } else if (e.x === ' ') {
        // Modified or of another type: what is there now is kept before the index's content replaces it.
        if (exists(abs)) moveOut(top, e.path, saveFolder());
        putBack(top, e.path);
        out.restored.push(e.path);
      } else {
        kept.push(`${e.path} (staged)`);
      }
    } catch (err) {
      kept.push(`${e.path} (${(err as Error).message.split('\n')[0]})`);
    }
  }
  if (kept.length) out.kept = kept;
  return out;
}

/** Under the guard's folder: one folder per baseline holding the copies of the files git cannot give back. */
const OWN = 'validation-baseline';
/** What a baseline copies at most: files up to 8 MiB, 64 MiB and 5000 files in all, most recently written first. */
const OWN_FILE_MAX = 8 * 1024 * 1024;
const OWN_TOTAL_MAX = 64 * 1024 * 1024;
const OWN_COUNT_MAX = 5000;
/** Files past the copy budget still watched (their stat kept), so a change to one is named. */
const OWN_WATCH_MAX = 20000;

interface OwnFile {
  path: string;
  size: number;
  mtimeMs: number;
  ino: number;
  mode: number;
  /** A copy is at `<own>/files/<path>`. */
  saved: boolean;
}

/**
 * The not_watched entry for the files past OWN_WATCH_MAX (untracked or ignored, the least recently
 * written): how many, of how many, and the first few by name.
 */
function pastWatchLimit(left: string[], total: number): string {
  const named = left.slice(0, 3).join(', ');
  return `${left.length} untracked or ignored file${left.length === 1 ? '' : 's'} past the ${OWN_WATCH_MAX}-file watch limit (the least recently written of ${total}: ${named}${left.length > 3 ? ', ...' : ''})`;
}
const PAST_WATCH_LIMIT = /^\d+ untracked or ignored files? past the \d+-file watch limit /;

/** An ignored folder holding more files than this is a dependency or build tree (node_modules/, .venv/), not an agent's state: not copied. */
const OWN_FOLDER_MAX = 1000;

/**
 * A folder that holds what a tool can make again (packages, a virtualenv, caches, build output),
 * never an agent's state: by its conventional name, or a virtualenv's pyvenv.cfg at its top.
 */
const REGENERABLE = /^(node_modules|bower_components|jspm_packages|__pycache__|site-packages|\.venv|venv|\.tox|\.nox|\.eggs|.*\.egg-info|\.mypy_cache|\.pytest_cache|\.ruff_cache|\.hypothesis|\.cache|\.npm|\.yarn|\.pnpm-store|\.next|\.nuxt|\.turbo|\.parcel-cache|\.gradle|dist|build|out|target|coverage|htmlcov)$/;

function regenerable(top: string, rel: string): boolean {
  return REGENERABLE.test(path.basename(rel)) || exists(path.join(top, rel, 'pyvenv.cfg'));
}

/**
 * Ignored files under the root, paths from the top, from a status taken with `ignored`: each
 * ignored file git names, and the files of each ignored folder (`state/`) unless the folder holds
 * more than OWN_FOLDER_MAX (walked no further than that): such a folder is in `big`
 * (`state/ (more than 1000 files)`) unless it is a dependency, build or cache tree. A folder is
 * ignored when git names it so, or when git tracks nothing in it and ignores all it holds (a
 * `.venv/` whose own `.gitignore` says `*`): `--ignored=matching` names such a folder's entries one by one.
 */
function ignoredFiles(w: Where, entries: Entry[]): { files: string[]; big: string[] } {
  const named = entries.filter((e) => e.x === '!').map((e) => e.path);
  const ignored = new Set(named.map((p) => p.replace(/\/$/, '')));
  const whole = new Map<string, boolean>();
  const allIgnored = (dir: string): boolean => {
    let answer = whole.get(dir);
    if (answer !== undefined) return answer;
    try {
      answer = readdirSync(path.join(w.top, dir), { withFileTypes: true }).every((d) => ignored.has(`${dir}/${d.name}`) || (d.isDirectory() && allIgnored(`${dir}/${d.name}`)));
    } catch {
      answer = false;
    }
    whole.set(dir, answer);
    return answer;
  };
  const root = w.prefix.replace(/\/$/, '');
  const folders = new Set<string>();
  const files: string[] = [];
  const big: string[] = [];
  for (const p of named) {
    // The outermost folder (below the root) holding only what git ignores, if any.
    let folder: string | null = null;
    for (let dir = path.posix.dirname(p.replace(/\/$/, '')); dir !== '.' && dir !== root && allIgnored(dir); dir = path.posix.dirname(dir)) folder = dir;
    const one = folder === null ? p : `${folder}/`;
    if (!one.endsWith('/')) files.push(one);
    else if (!folders.has(one)) {
      folders.add(one);
      const inside = smallFolder(w.top, one.slice(0, -1));
      if (inside) files.push(...inside);
      else if (!regenerable(w.top, one.slice(0, -1))) big.push(`${one} (more than ${OWN_FOLDER_MAX} files)`);
    }
  }
  return { files, big };
}

/** Every file under `top/rel` (paths from the top, links not followed), or null past OWN_FOLDER_MAX entries. */
function smallFolder(top: string, rel: string): string[] | null {
  const files: string[] = [];
  const todo = [rel];
  let seen = 0;
  while (todo.length) {
    const dir = todo.pop()!;
    let entries: import('node:fs').Dirent[];
    try {
      entries = readdirSync(path.join(top, dir), { withFileTypes: true });
    } catch {
      continue;
    }
    for (const d of entries) {
      if (++seen > OWN_FOLDER_MAX) return null;
      const r = `${dir}/${d.name}`;
      if (d.isDirectory()) todo.push(r);
      else if (d.isFile()) files.push(r);
    }
  }
  return files;
}

/**
 * Copy aside the regular files there now whose bytes git cannot give back: the baseline's
 * untracked and dirty paths, and ignored files. Answers the folder (its `manifest.json` lists
 * each file's stat and whether it was copied), undefined when there is none, and the ignored
 * folders too large to copy or watch that may be state.
 */
function copyOwn(w: Where, baseline: string[], ignored: { files: string[]; big: string[] }, sources: string[]): { folder?: string; unwatched: string[] } {
  const skip = new Set(sources);
  // A `_v2` sibling of a file there (`agents/x_v2.py` beside `agents/x.py`) is the tool's output,
  // written by this run before it validates: the drift check's and the run's to judge, not the user's state.
  const output = (rel: string) => {
    const m = /^(.*)_v2(\.[^./]+)?$/.exec(rel);
    return !!m && exists(path.join(w.top, `${m[1]}${m[2] ?? ''}`));
  };
  const unwatched = [...ignored.big];
  const paths = [...new Set([...baseline.filter((p) => !p.endsWith('/')), ...ignored.files])].filter((p) => !skip.has(p) && !output(p));
  const files: OwnFile[] = [];
  for (const rel of paths) {
    try {
      const st = lstatSync(path.join(w.top, rel));
      if (st.isFile()) files.push({ path: rel, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, mode: st.mode, saved: false });
    } catch {
      // gone meanwhile (a deleted tracked file is in the baseline too): nothing to keep
    }
  }
  if (!files.length) return { unwatched };
  files.sort((a, b) => b.mtimeMs - a.mtimeMs);
  const watched = files.slice(0, OWN_WATCH_MAX);
  // The least recently written past the limit: left out, and said (before: without a word).
  if (files.length > OWN_WATCH_MAX) unwatched.push(pastWatchLimit(files.slice(OWN_WATCH_MAX).reverse().map((f) => f.path), files.length));
  const folder = makeFolder(path.join(w.dir, OWN));
  let total = 0;
  let count = 0;
  for (const f of watched) {
    if (count >= OWN_COUNT_MAX || f.size > OWN_FILE_MAX || total + f.size > OWN_TOTAL_MAX) continue;
    const to = path.join(folder, 'files', f.path);
    try {
      mkdirSync(path.dirname(to), { recursive: true });
      copyFileSync(path.join(w.top, f.path), to, fsConstants.COPYFILE_FICLONE);
      f.saved = true;
      total += f.size;
      count++;
    } catch {
      // unreadable (another user's file) or no room: watched only
    }
  }
  writeFileSync(path.join(folder, 'manifest.json'), JSON.stringify(watched));
  return { folder, unwatched };
}

function sameBytes(a: string, b: string): boolean {
  try {
    return readFileSync(a).equals(readFileSync(b));
  } catch {
    return false;
  }
}

/**
 * Put back each file copyOwn kept that the validation changed or deleted, as it was (its mode
 * and modification time too); what stands there now goes to the cleanup's folder first. A
 * changed file that was not copied is named in `kept`. The validated agents' own files are
 * left to the drift check. The copies go once all is back.
 */
function restoreOwn(top: string, own: string, sources: string[], out: TreeCleanup, saveFolder: () => string): void {
  const files = readManifest(own);
  if (!files) {
    rmSync(own, { recursive: true, force: true });
    return;
  }
  const kept: string[] = [];
  let failed = false;
  // The validated agents' own files (a `_v2` written before the validation began): the drift check's.
  const skip = new Set(sources);
  for (const f of files.filter((x) => !skip.has(x.path))) {
    const abs = path.join(top, f.path);
    const now = differs(top, own, f);
    if (now === 'same') continue;
    const copy = path.join(own, 'files', f.path);
    if (!f.saved) {
      kept.push(`${f.path} (${now} by the validation; git cannot give it back and it was too large to copy before: not put back)`);
      continue;
    }
    try {
      if (now === 'changed') moveOut(top, f.path, saveFolder());
      mkdirSync(path.dirname(abs), { recursive: true });
      copyFileSync(copy, abs);
      chmodSync(abs, f.mode & 0o7777);
      utimesSync(abs, Date.now() / 1000, f.mtimeMs / 1000);
      (out.put_back ??= []).push(f.path);
    } catch (err) {
      failed = true;
      kept.push(`${f.path} (not put back: ${(err as Error).message.split('\n')[0]}; its copy from before is in ${copy})`);
    }
  }
  if (kept.length) out.kept = [...(out.kept ?? []), ...kept];
  if (!failed) dropCopies(own);
}

/** Remove a baseline's copies (copyOwn), and their parent folder once no other baseline's are there. */
function dropCopies(own: string): void {
  rmSync(own, { recursive: true, force: true });
  try {
    rmdirSync(path.dirname(own));
  } catch {
    // another baseline's copies are there (or it is gone)
  }
}

interface Session {
  count: number;
  /** Serialises this process's enter and leave steps. */
  chain: Promise<unknown>;
}

const sessions = new Map<string, Session>();
const TOKEN = randomBytes(8).toString('hex');
const me = (): Holder => ({ ...(identityOf(process.pid) ?? { pid: process.pid }), token: TOKEN });

function serial<T>(s: Session, fn: () => Promise<T>): Promise<T> {
  const next = s.chain.then(fn, fn);
  s.chain = next.catch(() => undefined);
  return next;
}

/**
 * Call before a validation starts anything (the legacy baseline run included); `leave` once
 * everything it started is gone. `leave` answers what it put back, when it was the last
 * validation of the repository to end (else null: the last one cleans).
 */
export async function enterTreeGuard(root: string, sources: string[] = []): Promise<{ leave(): Promise<TreeCleanup | null> }> {
  const w = locate(root);
  if (!w) return { leave: async () => null };
  const key = w.top;
  const s = sessions.get(key) ?? { count: 0, chain: Promise.resolve() };
  sessions.set(key, s);
  const own = sources.map((f) => path.relative(w.top, f).split(path.sep).join('/'));
  const withSources = (g: GuardFile): GuardFile => (own.length ? { ...g, sources: [...new Set([...(g.sources ?? []), ...own])] } : g);
  await serial(s, async () => {
    if (s.count++ > 0) {
      // This process holds the guard already: only this agent's files join it.
      if (own.length)
        await locked(w, async () => {
          const g = readGuard(w);
          if (g) writeGuard(w, withSources(g));
        });
      return;
    }
    await locked(w, async () => {
      const g = readGuard(w);
      const live = g?.holders.filter(alive) ?? [];
      if (g && (live.length || g.interrupted || g.holders.length)) {
        // Joined: another command validates here now, or a killed one left its record (kept, to name what it left).
        const interrupted = g.interrupted || live.length < g.holders.length;
        if (!live.length) {
          // The killed validation's record stays as a record only; this one starts a baseline of its own below.
          writeGuard(w, { ...g, holders: [], interrupted: true });
        } else {
          writeGuard(w, withSources({ ...g, holders: [...live, me()], interrupted }));
          return;
        }
      }
      // One status gives the baseline (untracked and dirty paths) and what git ignores.
      const listed = await status(w, true);
      const baseline = listed.filter((e) => e.x !== '!').map((e) => e.path);
      const prior = readGuard(w);
      // An interrupted record that itself set an older one aside: the older is kept, and this one's copies go
      // with its record unless they still hold a file the user has not got back.
      if (prior?.interrupted && prior.previous && prior.own && prior.own !== prior.previous.own && !changedOwn(w.top, prior.own).length) dropCopies(prior.own);
      const copies = copyOwn(w, baseline, ignoredFiles(w, listed), own);
      writeGuard(w, withSources({
        version: 1,
        since: Date.now(),
        baseline,
        holders: [me()],
        ...(copies.folder ? { own: copies.folder } : {}),
        ...(copies.unwatched.length ? { unwatched: copies.unwatched } : {}),
        ...(prior?.interrupted ? { previous: prior.previous ?? { since: prior.since, baseline: prior.baseline, ...(prior.own ? { own: prior.own } : {}) } } : {}),
      }));
    });
  });
  let left = false;
  return {
    leave: () => {
      if (left) return Promise.resolve(null);
      left = true;
      return serial(s, async () => {
        if (--s.count > 0) return null;
        return locked(w, async () => {
          const g = readGuard(w);
          if (!g) return null;
          const mine = me();
          const others = g.holders.filter((h) => !same(h, mine));
          const live = others.filter(alive);
          const interrupted = g.interrupted || live.length < others.length;
          if (live.length) {
            writeGuard(w, { ...g, holders: live, interrupted });
            return null;
          }
          if (interrupted) {
            // A holder was killed mid-validation: what it left is named, never removed later.
            writeGuard(w, { ...g, holders: [], interrupted: true });
            return null;
          }
          const result = clean(w.top, w.dir, fresh(await status(w), g.baseline, g.sources), g.since);
          if (g.own) restoreOwn(w.top, g.own, g.sources ?? [], result, () => (result.saved_in ??= makeSaveFolder(w.dir)));
          if (g.unwatched?.length) result.not_watched = g.unwatched;
          const prev = g.previous;
          if (prev) writeGuard(w, { version: 1, since: prev.since, baseline: prev.baseline, holders: [], interrupted: true, ...(prev.own ? { own: prev.own } : {}) });
          else rmSync(w.guard, { force: true });
          return result;
        });
      });
    },
  };
}

/**
 * What an interrupted validation left in the repository (paths relative to root's work tree
 * top), with when it started; null when there is none. `changed`: files there before it whose
 * bytes git cannot give back, which differ now from the copies it took (in `copies`): never put
 * back after an interruption (the user may have changed them since), named until they equal
 * their copies again or that folder is deleted. Never removes a file: with `tidy`, the record is
 * dropped once nothing it names is left; without, nothing at all is written (`migrate status`
 * stays read-only).
 */
export async function interruptedLeftovers(root: string, opts: { tidy?: boolean } = {}): Promise<{ since: number; files: string[]; changed?: string[]; copies?: string } | null> {
  const w = locate(root);
  if (!w || !existsSync(w.guard)) return null;
  const look = async () => {
    const g = readGuard(w);
    if (!g) return null;
    // A validation runs now: its baseline is a guard, not a leftover; the record it set aside is.
    const record = g.holders.some(alive) ? (g.previous ? { ...g.previous, interrupted: true } : null) : g;
    if (!record || (!g.interrupted && !g.holders.length && !g.previous)) return null;
    const files = fresh(await status(w), record.baseline, (record as Partial<GuardFile>).sources).map((e) => e.path);
    const changed = record.own ? changedOwn(w.top, record.own) : [];
    if (!files.length && !changed.length && opts.tidy && record === g) {
      rmSync(w.guard, { force: true });
      // Its copies too: nothing differs from them any more, and nothing would name them.
      if (record.own) dropCopies(record.own);
    }
    return files.length || changed.length ? { since: record.since, files, ...(changed.length ? { changed, copies: path.join(record.own!, 'files') } : {}) } : null;
  };
  return opts.tidy ? locked(w, look) : look();
}

/** The files of a baseline's copies (copyOwn) that differ now from their copy, deleted ones included. */
function changedOwn(top: string, own: string): string[] {
  return (readManifest(own) ?? []).filter((f) => f.saved && differs(top, own, f) !== 'same').map((f) => f.path);
}

/** A baseline's manifest (copyOwn), or null when it cannot be read. */
function readManifest(own: string): OwnFile[] | null {
  try {
    return JSON.parse(readFileSync(path.join(own, 'manifest.json'), 'utf8')) as OwnFile[];
  } catch {
    return null;
  }
}

/**
 * How the file at `top/f.path` stands against the baseline's: 'same' when its stat is the
 * baseline's or its bytes are its copy's (a file not copied: its stat only), 'deleted' when
 * nothing is there, else 'changed' (a folder or a link standing there too).
 */
function differs(top: string, own: string, f: OwnFile): 'same' | 'changed' | 'deleted' {
  const abs = path.join(top, f.path);
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(abs);
  } catch {
    return 'deleted';
  }
  if (st.isFile() && st.size === f.size && st.mtimeMs === f.mtimeMs && st.ino === f.ino) return 'same';
  return f.saved && st.isFile() && sameBytes(abs, path.join(own, 'files', f.path)) ? 'same' : 'changed';
}

/** The sentence naming an interrupted validation's leftovers, for a refusal or a status note. */
export function describeInterrupted(left: { since: number; files: string[]; changed?: string[]; copies?: string }): string {
  const list = (xs: string[]) => xs.slice(0, 5).join(', ') + (xs.length > 5 ? ` and ${xs.length - 5} more` : '');
  const parts: string[] = [];
  if (left.files.length) parts.push(`new since a validation that was interrupted (started ${new Date(left.since).toISOString()}), so perhaps written by the agents it ran, not removed: ${list(left.files)}`);
  if (left.changed?.length) {
    parts.push(
      `changed since ${left.files.length ? 'it' : `a validation that was interrupted (started ${new Date(left.since).toISOString()})`} began, perhaps by the agents it ran, and not put back (git cannot give them back): ${list(left.changed)}; ` +
        `their copies from before it are in ${left.copies} (copy one back to undo the change; delete that folder to drop this note)`,
    );
  }
  return parts.join('; ');
}

/** The warning line for a validation report that put files back (stderr), and the note of folders it could not watch; null when neither. */
export function cleanupWarning(agent: string, c: TreeCleanup | undefined): string | null {
  if (!c) return null;
  const lines: string[] = [];
  if (c.removed.length || c.restored.length || c.put_back?.length || c.saved_in || c.kept?.length) {
    lines.push(`migrate: warning: validating ${agent} (and any agent validated alongside it) left files in the repository, put back: ${describeCleanup(c)}\n`);
  }
  const folders = c.not_watched?.filter((n) => !PAST_WATCH_LIMIT.test(n)) ?? [];
  if (folders.length) {
    const one = folders.length === 1;
    lines.push(
      `migrate: note: validating ${agent} (and any agent validated alongside it): ${folders.join(', ')}, ignored by git, ${one ? 'was' : 'were'} neither copied aside nor watched: what the agents changed there is not known and not put back\n`,
    );
  }
  for (const past of c.not_watched?.filter((n) => PAST_WATCH_LIMIT.test(n)) ?? []) {
    lines.push(`migrate: note: validating ${agent} (and any agent validated alongside it): ${past} ${/^1 /.test(past) ? 'was' : 'were'} neither copied aside nor watched: what the agents changed there is not known and not put back\n`);
  }
  return lines.length ? lines.join('') : null;
}

/** One line naming what TreeCleanup put back, for a warning. */
function describeCleanup(c: TreeCleanup): string {
  const parts: string[] = [];
  if (c.removed.length) parts.push(`removed ${c.removed.join(', ')}`);
  if (c.restored.length) parts.push(`restored ${c.restored.join(', ')} to the committed content`);
  if (c.put_back?.length) {
    const one = c.put_back.length === 1;
    parts.push(`brought back ${c.put_back.join(', ')} as ${one ? 'it was' : 'they were'} before the validation (git could not give ${one ? 'it' : 'them'} back)`);
  }
  if (c.saved_in) parts.push(`what was removed or overwritten is kept in ${c.saved_in}`);
  if (c.kept?.length) parts.push(`left ${c.kept.join(', ')}`);
  return parts.join('; ');
}
