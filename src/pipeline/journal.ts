// The run journal: every file a run is about to create or replace (`_v2` files, their
// temporary files, records; with a backup of what it replaces) and every agent process
// tree it started, kept outside the work tree (in .git/, or a per-repository state
// folder when there is no git). A run killed outright leaves it behind; the next one
// puts things back before it starts: it stops the processes it can prove are that
// run's agents (start time, environment marker, cgroup) and says what it left alone,
// removes uncommitted files, restores what was replaced, and deletes the journal only
// once the repository is consistent.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { MigrateError, UsageError, oneLine } from '../core/errors.js';
import { killRecordedTree, onGroupChange, recordedTreeState, type TreeRecord } from '../validate/process-group.js';
import { checkIdentity, commandLine, identityOf } from '../validate/proc.js';
import { listeningPorts } from '../validate/listening-ports.js';
import { redactText } from '../validate/redact.js';
import { describeIndexLock, indexLock, leftPrivateIndexes, staleNextIndexLocks } from '../record/index-lock.js';
import { gitDirOf, revParseFact } from '../record/repo-facts.js';
import { io } from '../core/invocation.js';

/** `run` journals are exclusive (one writing run per repository); `validate` ones only hold processes. */
export type JournalKind = 'run' | 'validate';

interface JournalData {
  version: 2;
  kind: JournalKind;
  pid: number;
  /** The owner's start time and boot: a pid alone may name another process after a crash. */
  start?: number;
  boot?: string;
  started: string;
  /** Absolute root the file paths are relative to. */
  root: string;
  /**
   * The root inside its work tree ('' at the top; git only): recovery resolves the files
   * from where the repository is now, not from `root`, which names where it was.
   */
  prefix?: string;
  files: string[];
  /** Replaced files: path relative to root -> backup file name in the journal's backup folder. */
  backups: Record<string, string>;
  groups: TreeRecord[];
  /** Set while a git commit runs: a lock left by it is ours to remove. */
  commit?: { files: string[]; at: number };
}

interface Location {
  /** Folder of the journals (the git dir, or a state folder outside git). */
  dir: string;
  git: boolean;
  /** Top of the work tree (git only). */
  top?: string;
  /**
   * Outside git, the root whose own .migrate/ folder holds the journals (`dir` is inside it):
   * the files of a killed run are put back here, wherever the folder is now.
   */
  owner?: string;
  /** Outside git, the older place of this root's journals (the temporary directory), still recovered. */
  legacy?: Location;
}

export type Warn = (line: string) => void;
const stderrWarn: Warn = (line) => io.stderr.write(`migrate: ${line}\n`);

export class RunJournal {
  private data: JournalData;
  private unsubscribe: () => void;
  private backupSeq = 0;

  private constructor(
    private readonly file: string,
    private readonly loc: Location,
    kind: JournalKind,
    root: string,
    private readonly lock: RunLock | null,
  ) {
    const me = identityOf(process.pid);
    this.data = {
      version: 2,
      kind,
      pid: process.pid,
      start: me?.start,
      boot: me?.boot,
      started: new Date().toISOString(),
      root,
      ...(loc.git ? { prefix: prefixOf(loc, root) } : {}),
      files: [],
      backups: {},
      groups: [],
    };
    this.unsubscribe = onGroupChange((tree, live) => {
      // Keyed by marker: a tree is announced before its spawn, then recorded again with its pid.
      const others = this.data.groups.filter((g) => g.mark !== tree.mark);
      this.data.groups = live ? [...others, tree] : others;
      this.save();
    });
    this.save();
  }

  /** Recover from killed runs, then start this run's journal. */
  static async open(root: string, kind: JournalKind = 'run', warn: Warn = stderrWarn): Promise<RunJournal> {
    const loc = locate(root);
    // One writing command per repository: the lock is taken before anything is read, so
    // two commands started in the same millisecond cannot both recover a killed run's
    // files, nor both write (before, both saw no live journal and both went on).
    const lock = kind === 'run' ? RunLock.take(loc, warn) : null;
    try {
      // A run killed by an older build outside git left its journal in the temporary directory.
      if (loc.legacy && existsSync(path.join(loc.legacy.dir, 'migrate-run.json'))) await recoverAll(loc.legacy, kind, warn);
      await recoverAll(loc, kind, warn);
      const file = kind === 'run' ? path.join(loc.dir, 'migrate-run.json') : path.join(loc.dir, 'migrate', `validate-${process.pid}.json`);
      mkdirSync(path.dirname(file), { recursive: true });
      return new RunJournal(file, loc, kind, root, lock);
    } catch (err) {
      lock?.release();
      throw err;
    }
  }

  /**
   * Record a file before it is created or replaced (path relative to the root). A file
   * that exists is copied aside first, so a failure or a crash can put it back.
   */
  willCreate(rel: string): void {
    this.willCreateAll([rel]);
  }

  /**
   * The same for many files at once, with one write of the journal: a batch registers all
   * its outputs before writing the first (one save per file rewrote the whole, growing
   * journal each time: quadratic, seconds at a thousand agents).
   */
  willCreateAll(rels: string[]): void {
    const known = new Set(this.data.files);
    for (const rel of rels) {
      if (known.has(rel)) continue;
      known.add(rel);
      const abs = path.join(this.data.root, rel);
      if (existsSync(abs)) {
        const name = `${++this.backupSeq}-${path.basename(rel)}`;
        mkdirSync(this.backupDir(), { recursive: true });
        copyFileSync(abs, path.join(this.backupDir(), name));
        this.data.backups[rel] = name;
      }
      this.data.files.push(rel);
    }
    this.save();
  }

  /** The file is final (committed, renamed into place, or kept by a --no-commit run): forget it. */
  settled(rels: string[]): void {
    for (const rel of rels) {
      const backup = this.data.backups[rel];
      if (backup) rmSync(path.join(this.backupDir(), backup), { force: true });
      delete this.data.backups[rel];
    }
    const gone = new Set(rels);
    this.data.files = this.data.files.filter((f) => !gone.has(f));
    this.save();
  }

  /** Files now committed are no longer at risk. */
  committed(rels: string[]): void {
    delete this.data.commit;
    this.settled(rels);
  }

  /** A git commit of these files starts (a lock it leaves after a crash is then ours). */
  committing(rels: string[]): void {
    this.data.commit = { files: rels, at: Date.now() };
    this.save();
  }

  /** The commit ended without landing. */
  commitFailed(): void {
    delete this.data.commit;
    this.save();
  }

  /**
   * Put a file back as it was before this run: restore its backup, or remove it (and its
   * index entry) when it did not exist; a version committed in HEAD is kept. Throws a
   * one-line error when git refuses (the journal then stays for the next run).
   */
  undo(rel: string): void {
    try {
      settleFile(this.loc, this.data, this.data.root, rel, this.backupDir());
    } catch (err) {
      this.unsettled = true;
      throw err;
    }
    this.settled([rel]);
  }

  /** True once a file could not be put back: the journal must then stay for the next run. */
  unsettled = false;

  /** End the run: drop the journal when everything is in place, else keep it for the next run. */
  finish(): void {
    if (this.unsettled) this.detach();
    else this.close();
  }

  /** The run ended with every file where it belongs: drop backups and the journal. */
  close(): void {
    this.unsubscribe();
    rmSync(this.backupDir(), { recursive: true, force: true });
    rmSync(this.file, { force: true });
    this.lock?.release();
    // Outside git the state folder is ours alone: leave none behind once it is empty (nor the
    // root's .migrate/ when the state folder was all it held).
    if (!this.loc.git) {
      const dirs = [path.join(this.loc.dir, 'migrate', 'backups'), path.join(this.loc.dir, 'migrate'), this.loc.dir];
      if (this.loc.owner) dirs.push(path.dirname(this.loc.dir));
      for (const dir of dirs) removeIfEmpty(dir);
    }
  }

  /** Stop recording but keep the journal (the run could not put everything back). */
  detach(): void {
    this.unsubscribe();
    // The journal stays for the next command, which recovers it under its own lock.
    this.lock?.release();
  }

  private backupDir(): string {
    return backupDirOf(this.file, this.data.pid);
  }

  private save(): void {
    // Atomic: a crash in the middle of writeFileSync left an empty or cut journal, which
    // recovery could not read, so the crashed run's _v2 files and agents stayed behind.
    // The temporary name is this process's own: another command's recovery never removes it mid-save.
    const tmp = `${this.file}.${process.pid}.tmp`;
    try {
      writeFileSync(tmp, JSON.stringify(this.data));
      renameSync(tmp, this.file);
    } catch (err) {
      // A full disk: no half-written journal stays, and the error names the file.
      rmSync(tmp, { force: true });
      throw new MigrateError(`cannot save the run journal ${this.file}: ${oneLine(err)}`);
    }
  }
}

/** Remove `<file>.tmp` and `<file>.<pid>.tmp` copies a save cut short left, when `stale(pid)` says so. */
function removeStaleTemps(file: string, stale: (pid: number | undefined) => boolean): void {
  const base = path.basename(file);
  let names: string[];
  try {
    names = readdirSync(path.dirname(file));
  } catch {
    return;
  }
  for (const n of names) {
    if (!n.startsWith(`${base}.`) || !n.endsWith('.tmp')) continue;
    const mid = n.slice(base.length + 1, -4);
    if (mid !== '' && !/^\d+$/.test(mid)) continue;
    if (stale(mid ? Number(mid) : undefined)) rmSync(path.join(path.dirname(file), n), { force: true });
  }
}

interface LockData {
  pid: number;
  start?: number;
  boot?: string;
  started: string;
  /** The holder's arguments, for the line that names it. */
  command?: string;
}

/**
 * The repository's run lock (`migrate-run.lock` beside the journal): held by every command
 * that writes (run, commit, promote, revert, review's answers) from before it recovers a
 * killed run until it ends. Created atomically with its content (a hard link of a file
 * written first), so two commands started together cannot both hold it; a lock whose
 * holder is dead (pid gone, or now another process) is taken over with a warning.
 */
class RunLock {
  private constructor(
    private readonly file: string,
    private readonly mine: LockData,
  ) {}

  static take(loc: Location, warn: Warn): RunLock {
    const file = path.join(loc.dir, 'migrate-run.lock');
    const me = identityOf(process.pid);
    const mine: LockData = {
      pid: process.pid,
      start: me?.start,
      boot: me?.boot,
      started: new Date().toISOString(),
      // What the holder runs, named to whoever it blocks (masked: no URL password in clear).
      command: redactText(process.argv.slice(2).join(' ')),
    };
    const tmp = `${file}.${process.pid}.tmp`;
    try {
      writeFileSync(tmp, JSON.stringify(mine));
    } catch (err) {
      rmSync(tmp, { force: true });
      throw new MigrateError(`cannot create the run lock ${shown(loc, file)}: ${oneLine(err)}`);
    }
    // Said only once this command holds the lock: a command that removed a dead holder's
    // lock and then lost it to another command started with it fails with one line (the
    // winner reports the killed run it recovers).
    let tookOver: string | undefined;
    try {
      for (let attempt = 0; attempt < 8; attempt++) {
        try {
          linkSync(tmp, file);
          if (tookOver) warn(tookOver);
          return new RunLock(file, mine);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new MigrateError(`cannot create the run lock ${shown(loc, file)}: ${oneLine(err)}`);
        }
        const held = readLock(file);
        if (held === 'gone') continue;
        const owner = !held ? 'gone' : held.pid === process.pid && held.start === mine.start ? 'same' : held.pid === process.pid ? 'other' : checkIdentity(held);
        if (held && (owner === 'same' || owner === 'unknown')) {
          const hint = owner === 'unknown' ? ` (if no migrate is running, remove ${shown(loc, file)})` : '';
          throw new UsageError(`another migrate run (${describeHolder(held)}) is in progress in this repository; wait for it to end${hint}`, 'run-lock');
        }
        // Dead: take it over, but only if it is still the lock just read (a rename is
        // atomic: of two commands taking over the same stale lock, one gets it).
        const claim = `${file}.${process.pid}.stale`;
        try {
          renameSync(file, claim);
        } catch {
          continue; // someone else took it over first
        }
        const got = readLock(claim);
        if (held && got && got !== 'gone' && (got.pid !== held.pid || got.start !== held.start || got.started !== held.started)) {
          // A live command's fresh lock, taken by a hair: give it back and look again.
          try {
            linkSync(claim, file);
          } catch {
            // a third command holds it now
          }
          rmSync(claim, { force: true });
          continue;
        }
        rmSync(claim, { force: true });
        tookOver = `removed ${shown(loc, file)} left by a migrate command that is no longer running (${held ? describeHolder(held) : 'unreadable'})`;
      }
      throw new UsageError(`cannot take the run lock ${shown(loc, file)}: other migrate commands keep taking it`, 'run-lock');
    } finally {
      rmSync(tmp, { force: true });
    }
  }

  /** Drop the lock, only while it is still this process's. */
  release(): void {
    const held = readLock(this.file);
    if (held && held !== 'gone' && held.pid === this.mine.pid && held.started === this.mine.started) rmSync(this.file, { force: true });
  }
}

/** Who holds the run lock, as `migrate status` says it (read only: nothing is taken or removed). */
export interface RunLockNote {
  /** The lock file (relative to the top of the work tree in git). */
  path: string;
  /** null: the lock cannot be read (cut short, not migrate's). */
  pid: number | null;
  started: string | null;
  command: string | null;
  /** alive: the holder runs; dead: it is gone (or its pid is another process now); unknown: cannot be told. */
  holder: 'alive' | 'dead' | 'unknown';
  /** What the next writing command does about it. */
  next: 'fails-until-it-ends' | 'takes-over' | 'refuses-until-removed';
  line: string;
}

/**
 * The run lock and its holder, judged as the next writing command's RunLock.take judges it. A lock
 * left by a kill -9 was shown nowhere: status said nothing while the next command warned and took it
 * over (dead holder) or refused (holder unknown), and a live holder's was only found by trying.
 */
export function runLockHolder(root: string): RunLockNote | null {
  const loc = locateToRead(root);
  if (!loc) return null;
  const file = path.join(loc.dir, 'migrate-run.lock');
  const held = readLock(file);
  if (held === 'gone') return null;
  const where = shown(loc, file);
  const writers = 'the next writing command (run, commit, review, promote or revert)';
  if (!held) {
    return { path: where, pid: null, started: null, command: null, holder: 'dead', next: 'takes-over', line: `the run lock ${where} cannot be read (cut short): ${writers} removes it with a warning and goes on` };
  }
  const owner = held.pid === process.pid ? 'other' : checkIdentity(held);
  const base = { path: where, pid: held.pid, started: held.started, command: held.command ?? null };
  const by = `the run lock ${where} is held by pid ${held.pid}`;
  const what = `started ${held.started}${held.command ? `: migrate ${held.command}` : ''}`;
  if (owner === 'same') return { ...base, holder: 'alive', next: 'fails-until-it-ends', line: `${by} (alive, ${what}): a migrate command is running; ${writers} fails at once until it ends` };
  if (owner === 'unknown') return { ...base, holder: 'unknown', next: 'refuses-until-removed', line: `${by} (${what}), a pid that is alive but cannot be told to be that command; ${writers} refuses until it is gone: if no migrate is running, remove ${where}` };
  const dead = owner === 'gone' ? 'dead' : `dead: pid ${held.pid} is another process now`;
  return { ...base, holder: 'dead', next: 'takes-over', line: `${by} (${dead}, ${what}), left by a command killed outright; ${writers} removes it with a warning and goes on` };
}

function describeHolder(h: LockData): string {
  return `pid ${h.pid}, started ${h.started}${h.command ? `: migrate ${h.command}` : ''}`;
}

/** The lock's content; null when unreadable (cut short, not ours), 'gone' when there is none. */
function readLock(file: string): LockData | null | 'gone' {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'gone' : null;
  }
  try {
    const d = JSON.parse(text) as Partial<LockData>;
    if (!Number.isInteger(d.pid) || (d.pid as number) <= 0) return null;
    return { pid: d.pid as number, start: d.start, boot: d.boot, started: String(d.started ?? '?'), command: typeof d.command === 'string' ? d.command : undefined };
  } catch {
    return null;
  }
}

function removeIfEmpty(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // not empty (another run's journal), or already gone
  }
}

function backupDirOf(journalFile: string, pid: number): string {
  return path.join(path.dirname(journalFile), 'migrate', 'backups', String(pid));
}

function git(cwd: string, args: string[]): string {
  // Piped stderr: git's own "fatal:" line must not reach the user next to ours.
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Where the journals of `root` live, for a read-only command (status): null when it cannot be told. */
function locateToRead(root: string): Location | null {
  try {
    return locate(root, false);
  } catch {
    return null;
  }
}

/**
 * Where the journals of `root` live: its git dir, or a state folder of its own outside git.
 * `create: false` (a read-only command) never makes the state folder: it names it as it
 * would be, with the older temporary place when one exists.
 */
function locate(root: string, create = true): Location {
  try {
    const gitDir = gitDirOf(root);
    const top = revParseFact(root, ['--show-toplevel'])?.trim();
    if (gitDir === null || top === undefined) throw new Error('not a git work tree');
    return { dir: gitDir, git: true, top };
  } catch {
    // Outside git the journal and its backups live in the root's own .migrate/ folder (which
    // the scan never reads): they move with the folder and outlive a reboot. In the temporary
    // directory, keyed by the root's path, a folder moved or a /tmp emptied after a crash was
    // never recovered: the killed run's unvalidated _v2 files stayed, and the backup of a
    // file --force had replaced was lost. A root it cannot write to keeps the temporary place.
    const legacy = tempLocation(root);
    const own = path.join(root, '.migrate', 'run');
    if (!create) return { dir: own, git: false, owner: root, legacy: existsSync(legacy) ? { dir: legacy, git: false } : undefined };
    try {
      mkdirSync(own, { recursive: true });
      return { dir: own, git: false, owner: root, legacy: existsSync(legacy) ? { dir: legacy, git: false } : undefined };
    } catch {
      mkdirSync(legacy, { recursive: true });
      return { dir: legacy, git: false };
    }
  }
}

/** The state folder of a root outside git in the temporary directory (older builds; roots it cannot write to). */
function tempLocation(root: string): string {
  let real = root;
  try {
    real = realpathSync(root);
  } catch {
    // a root that vanished: its own name still keys the folder
  }
  const key = createHash('sha256').update(real).digest('hex').slice(0, 16);
  const uid = typeof process.getuid === 'function' ? process.getuid() : 'user';
  return path.join(os.tmpdir(), `migrate-${uid}`, key);
}

function readJournal(file: string): JournalData | null {
  let raw: Partial<JournalData> & { groups?: Array<number | TreeRecord> };
  try {
    raw = JSON.parse(readFileSync(file, 'utf8')) as typeof raw;
  } catch {
    return null;
  }
  // A journal of an older version named bare process groups: no identity to prove, so
  // recovery leaves them alone (and says so) rather than signal whatever has that pid now.
  const groups = (raw.groups ?? []).map((g) => (typeof g === 'number' ? { pgid: g, mark: '' } : g));
  return {
    version: 2,
    kind: raw.kind ?? 'run',
    pid: Number(raw.pid),
    start: raw.start,
    boot: raw.boot,
    started: String(raw.started ?? '?'),
    root: raw.root ?? '',
    ...(typeof raw.prefix === 'string' ? { prefix: raw.prefix } : {}),
    files: raw.files ?? [],
    backups: raw.backups ?? {},
    groups,
    commit: raw.commit,
  };
}

async function recoverAll(loc: Location, kind: JournalKind, warn: Warn): Promise<void> {
  const runFile = path.join(loc.dir, 'migrate-run.json');
  const candidates = [runFile];
  const validateDir = path.join(loc.dir, 'migrate');
  if (existsSync(validateDir)) {
    for (const f of readdirSync(validateDir)) if (/^validate-\d+\.json$/.test(f)) candidates.push(path.join(validateDir, f));
  }
  for (const file of candidates) {
    // A journal's temporary copy is removed only when no live command may be writing it:
    // the run journal's under the run lock, a validate journal's once its owner is dead.
    if (file === runFile) {
      if (kind === 'run') removeStaleTemps(file, () => true);
    } else {
      const owner = Number(/validate-(\d+)\.json$/.exec(file)?.[1]);
      removeStaleTemps(file, (pid) => (pid ?? owner) !== process.pid && checkIdentity({ pid: pid ?? owner }) === 'gone');
    }
    if (!existsSync(file)) continue;
    const data = readJournal(file);
    if (!data) {
      warn(`${shown(loc, file)} was unreadable (cut short by a crash); removed it`);
      rmSync(file, { force: true });
      continue;
    }
    // A `validate` only takes care of processes: the files of a killed `run` are the next run's to settle.
    if (kind === 'validate' && data.kind === 'run') continue;
    const owner = data.pid === process.pid ? 'other' : checkIdentity({ pid: data.pid, start: data.start, boot: data.boot });
    if (owner === 'same' || owner === 'unknown') {
      if (data.kind !== 'run' || kind !== 'run') continue; // a live validate holds no lock
      const hint = owner === 'unknown' ? `; if no migrate is running, remove ${shown(loc, file)}` : '';
      throw new UsageError(`another migrate run (pid ${data.pid}, started ${data.started}) is in progress in this repository${hint}`, 'run-lock');
    }
    if (owner === 'other') warn(`the killed run's pid ${data.pid} now names another process; recovering without touching it`);
    await recover(loc, file, data, warn);
  }
}

async function recover(loc: Location, file: string, data: JournalData, warn: Warn): Promise<void> {
  let stopped = 0;
  for (const g of data.groups) {
    const r = await killRecordedTree(g);
    stopped += r.killed.length;
    if (r.leftAlone) warn(r.leftAlone);
    if (r.left.length) warn(`could not stop pid ${r.left.join(', ')} of the killed run (pid ${data.pid})`);
  }
  if (loc.git && (data.files.length || data.commit)) {
    const lock = indexLock(loc.top!);
    if (lock) {
      if (lock.holders.length || !lock.knowable || !data.commit) {
        throw new UsageError(`cannot recover the killed run (pid ${data.pid}): ${describeIndexLock(loc.top!, lock)}`, 'index-lock');
      }
      // Our own git was killed with us in the middle of a commit: its lock is ours to remove.
      rmSync(lock.file, { force: true });
      warn(`removed ${path.relative(loc.top!, lock.file)} left by a git killed mid-commit (run pid ${data.pid})`);
    }
    if (data.commit) for (const f of [...staleNextIndexLocks(loc.top!), ...leftPrivateIndexes(loc.top!)]) rmSync(f, { recursive: true, force: true });
  }
  const root = recoveryRoot(loc, data, warn);
  const backups = backupDirOf(file, data.pid);
  for (const rel of data.files) settleFile(loc, data, root, rel, backups);
  rmSync(backups, { recursive: true, force: true });
  rmSync(file, { force: true });
  const files = data.files.length;
  if (stopped || files) {
    warn(`recovered from a killed run (pid ${data.pid}): stopped ${stopped} agent process(es), put back ${files} unfinished file(s)`);
  }
}

/** The root inside the work tree, '/'-separated ('' at the top); undefined when it is not inside. */
function prefixOf(loc: Location, root: string): string | undefined {
  let real = root;
  try {
    real = realpathSync(root);
  } catch {
    // compared as given
  }
  const rel = path.relative(loc.top!, real);
  return rel.startsWith('..') || path.isAbsolute(rel) ? undefined : rel.split(path.sep).join('/');
}

/**
 * Where a killed run's files are now. The journal lives in the git dir, which moves with
 * the work tree: a repository renamed (or copied with cp -r) since the crash is recovered
 * where it is. Before, the journal's absolute root was used as it was: recovery refused
 * in a moved repository until the journal was deleted by hand, and in a copy it put the
 * copy's backups into the original repository's files.
 */
function recoveryRoot(loc: Location, data: JournalData, warn: Warn): string {
  if (!data.files.length) return data.root;
  if (!loc.git) {
    // The journal sits in the root's own .migrate/: the root is where it is now.
    if (!loc.owner) return data.root;
    if (!samePlace(loc.owner, data.root)) warn(`the folder moved from ${data.root} since the killed run (pid ${data.pid}); putting its files back here, in ${loc.owner}`);
    return loc.owner;
  }
  const now = typeof data.prefix === 'string' ? path.join(loc.top!, data.prefix) : prefixOf(loc, data.root) !== undefined ? data.root : null;
  if (now === null) {
    // A journal of an older build, without its place in the work tree: never write outside this one.
    throw new UsageError(
      `cannot recover the killed run (pid ${data.pid}): its journal names ${data.root}, which is not inside this repository (${loc.top}; moved or copied since?); put back its ${data.files.length} file(s) by hand (${data.files.slice(0, 3).join(', ')}${data.files.length > 3 ? ', ...' : ''}), then remove ${shown(loc, path.join(loc.dir, 'migrate-run.json'))}`,
    );
  }
  if (!samePlace(now, data.root)) warn(`the repository moved from ${data.root} since the killed run (pid ${data.pid}); putting its files back here, in ${now}`);
  return now;
}

function realOr(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

function samePlace(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return path.resolve(a) === path.resolve(b);
  }
}

/**
 * Put one file of a run back: a version committed in HEAD stays; otherwise its backup
 * comes back, or (when it did not exist before) it goes, index entry included.
 */
function settleFile(loc: Location, data: JournalData, root: string, rel: string, backupDir: string): void {
  const s = settling(loc, data, root, rel, backupDir);
  if (s.action === 'keep') {
    // Committed (migrate's own index): a run killed before it wrote the user's index for its
    // paths left them looking staged-as-deleted; HEAD's version is what the index must hold.
    if (loc.git && s.inHead) resetIndex(loc.top!, s.fromTop, true);
    return;
  }
  if (s.action === 'restore') {
    if (!existsSync(s.abs) || !sameBytes(s.abs, s.backup!)) {
      const tmp = `${s.abs}.${process.pid}.restore.tmp`;
      copyFileSync(s.backup!, tmp);
      renameSync(tmp, s.abs);
    }
    if (loc.git) resetIndex(loc.top!, s.fromTop, s.inHead);
    return;
  }
  if (loc.git) resetIndex(loc.top!, s.fromTop, false);
  removeIfAny(s.abs);
}

interface Settling {
  action: 'keep' | 'restore' | 'remove';
  abs: string;
  fromTop: string;
  inHead: boolean;
  backup?: string;
}

/** What settleFile does to one file of a run, decided without touching anything (also what `status` reports). */
function settling(loc: Location, data: JournalData, root: string, rel: string, backupDir: string): Settling {
  const abs = path.join(root, rel);
  const backupName = data.backups[rel];
  const backup = backupName ? path.join(backupDir, backupName) : undefined;
  const fromTop = loc.git ? path.relative(loc.top!, abs).split(path.sep).join('/') : rel;
  const inHead = loc.git && headHas(loc.top!, fromTop);
  if (backup && existsSync(backup)) {
    // The new version was committed: it stays.
    if (inHead && existsSync(abs) && headBlobIs(loc.top!, fromTop, abs) && !sameBytes(abs, backup)) return { action: 'keep', abs, fromTop, inHead };
    return { action: 'restore', abs, fromTop, inHead, backup };
  }
  // Only what git does not know as committed: a half-done run's leftovers, never user files.
  return { action: inHead ? 'keep' : 'remove', abs, fromTop, inHead };
}

/** A process a killed command started that still runs (proven its by start time, marker or cgroup). */
export interface LeftProcess {
  pid: number;
  /** Its command line, clipped. */
  command: string;
  /** The TCP/UDP ports it holds (empty when none, or where /proc cannot tell). */
  ports: number[];
}

/** A writing command's journal still there, as `migrate status` reports it. */
export interface UnfinishedRun {
  /** The command that left it: a `run` (and every writing command), or a `validate` (processes only). */
  kind: JournalKind;
  pid: number;
  started: string;
  /** 'killed': the next writing command puts its files back first; 'running': a live command (or one not provably dead) holds it. */
  state: 'killed' | 'running';
  /** Files that command would change, relative to the asking root ('/'-separated; absolute when outside it). */
  files: Array<{ path: string; action: 'remove' | 'restore' }>;
  /**
   * Agent processes of a killed command still alive (its watchdog killed too, or the machine's
   * kill reached both): they hold their ports until the next command that recovers stops them.
   */
  processes: LeftProcess[];
  /**
   * Git's index.lock, when the killed command left one: 'remove' when its git commit was in
   * flight and no git lives (recovery removes it), 'blocks' when recovery must refuse until it
   * is gone (`detail` says why and what to do).
   */
  gitLock?: { path: string; action: 'remove' | 'blocks'; detail: string };
}

/** Git's index.lock as recovery will find it (the same decision as recover(), nothing removed). */
function leftGitLock(loc: Location, data: JournalData, root: string): UnfinishedRun['gitLock'] {
  if (!loc.git || !(data.files.length || data.commit)) return undefined;
  const lock = indexLock(loc.top!);
  if (!lock) return undefined;
  const rel = path.relative(realOr(root), realOr(lock.file));
  const shownPath = rel.startsWith('..') || path.isAbsolute(rel) ? lock.file : rel.split(path.sep).join('/');
  if (!lock.holders.length && lock.knowable && data.commit) return { path: shownPath, action: 'remove', detail: `left by the git commit killed with that run` };
  return { path: shownPath, action: 'blocks', detail: describeIndexLock(root, lock) };
}

/** The live processes a dead command's journal proves its own (read-only: nothing is signalled). */
function leftProcesses(groups: TreeRecord[], root: string): LeftProcess[] {
  const pids = new Set<number>();
  for (const g of groups) for (const pid of recordedTreeState(g).ours) pids.add(pid);
  return [...pids].sort((a, b) => a - b).map((pid) => ({ pid, command: shortCommand(pid, root), ports: listeningPorts([pid]) ?? [] }));
}

/**
 * "python3 agents/x_v2.py": the program's base name and paths inside the root relative to it,
 * so the agent's file is what a clipped line still shows.
 */
function shortCommand(pid: number, root: string): string {
  let argv: string[];
  try {
    argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return commandLine(pid);
  }
  if (!argv.length) return commandLine(pid);
  const top = realOr(root);
  const shown = argv.map((a, i) => {
    if (i === 0) return path.basename(a);
    if (!path.isAbsolute(a)) return a;
    const rel = path.relative(top, realOr(a));
    return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel.split(path.sep).join('/') : a;
  });
  const cmd = shown.join(' ');
  return cmd.length > 80 ? `${cmd.slice(0, 79)}…` : cmd;
}

/**
 * The journal of an unfinished writing command in `root`'s repository, read as recovery
 * reads it (same place, same identity check, same root and same per-file decision) but
 * with nothing stopped, removed or restored: `migrate status` stays read-only. Null when
 * there is none, or it holds no file that would change.
 */
export function unfinishedRun(root: string): UnfinishedRun | null {
  const loc = locateToRead(root);
  if (!loc) return null;
  const places = [loc.legacy, loc].filter((l): l is Location => !!l);
  for (const place of places) {
    const file = path.join(place.dir, 'migrate-run.json');
    if (!existsSync(file)) continue;
    const data = readJournal(file);
    if (!data || data.kind !== 'run' || (!data.files.length && !data.groups.length)) continue;
    const owner = data.pid === process.pid ? 'other' : checkIdentity({ pid: data.pid, start: data.start, boot: data.boot });
    const state = owner === 'same' || owner === 'unknown' ? 'running' : 'killed';
    // A live command's agents are its own business; a dead one's are leftovers.
    const processes = state === 'killed' ? leftProcesses(data.groups, root) : [];
    let base: string;
    try {
      base = recoveryRoot(place, data, () => {});
    } catch {
      base = data.root; // an older journal naming another place: its files as it names them
    }
    const backups = backupDirOf(file, data.pid);
    const files: UnfinishedRun['files'] = [];
    for (const rel of data.files) {
      let s: Settling;
      try {
        s = settling(place, data, base, rel, backups);
      } catch {
        continue;
      }
      const changes = s.action === 'remove' ? existsSync(s.abs) : s.action === 'restore' ? !existsSync(s.abs) || !sameBytes(s.abs, s.backup!) : false;
      if (!changes) continue;
      const shownRel = path.join(path.relative(realOr(root), realOr(path.dirname(s.abs))), path.basename(s.abs));
      const shownPath = shownRel.startsWith('..') || path.isAbsolute(shownRel) ? s.abs : shownRel.split(path.sep).join('/');
      files.push({ path: shownPath, action: s.action as 'remove' | 'restore' });
    }
    if (!files.length && !processes.length) continue;
    const gitLock = state === 'killed' ? leftGitLock(place, data, root) : undefined;
    return { kind: 'run', pid: data.pid, started: data.started, state, files, processes, ...(gitLock ? { gitLock } : {}) };
  }
  // A killed `validate` (its watchdog too) leaves agents, never files: the next validate or
  // writing command stops them.
  for (const place of places) {
    const dir = path.join(place.dir, 'migrate');
    let names: string[];
    try {
      names = readdirSync(dir).filter((f) => /^validate-\d+\.json$/.test(f));
    } catch {
      continue;
    }
    for (const name of names) {
      const data = readJournal(path.join(dir, name));
      if (!data || !data.groups.length) continue;
      const owner = data.pid === process.pid ? 'other' : checkIdentity({ pid: data.pid, start: data.start, boot: data.boot });
      if (owner === 'same' || owner === 'unknown') continue;
      const processes = leftProcesses(data.groups, root);
      if (processes.length) return { kind: 'validate', pid: data.pid, started: data.started, state: 'killed', files: [], processes };
    }
  }
  return null;
}

/**
 * Remove a file of the run. A path that cannot name a file (too long for the file system,
 * or under something that is not a folder) holds nothing to remove: before, rmSync threw
 * ENAMETOOLONG for the `_v2` of an agent whose name was already near the limit, the journal
 * stayed, and every later command failed on the same line.
 */
function removeIfAny(abs: string): void {
  try {
    rmSync(abs, { force: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENAMETOOLONG' && code !== 'ENOTDIR' && code !== 'ENOENT') throw err;
  }
}

function headHas(top: string, fromTop: string): boolean {
  try {
    execFileSync('git', ['cat-file', '-e', `HEAD:${fromTop}`], { cwd: top, stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function headBlobIs(top: string, fromTop: string, abs: string): boolean {
  try {
    return git(top, ['rev-parse', `HEAD:${fromTop}`]).trim() === git(top, ['hash-object', '--', abs]).trim();
  } catch {
    return false;
  }
}

function sameBytes(a: string, b: string): boolean {
  try {
    return readFileSync(a).equals(readFileSync(b));
  } catch {
    return false;
  }
}

/** Whether the index holds for the path what HEAD does (both nothing, for a path new to HEAD); read-only. */
function indexMatchesHead(top: string, fromTop: string): boolean {
  try {
    execFileSync('git', ['--no-optional-locks', 'diff', '--cached', '--quiet', '--', `:(top,literal)${fromTop}`], { cwd: top, stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The index entry of a path back to HEAD's (or none when HEAD has no such path). */
function resetIndex(top: string, fromTop: string, inHead: boolean): void {
  // Already as HEAD has it (a commit is made in migrate's own index, so a failed one leaves
  // the user's untouched): nothing to write, and no index.lock to take, which another git
  // (an IDE's status) may hold and fail the put-back on.
  if (indexMatchesHead(top, fromTop)) return;
  try {
    if (inHead) git(top, ['reset', '-q', '--', fromTop]);
    else git(top, ['rm', '-q', '--cached', '--ignore-unmatch', '--', fromTop]);
  } catch (err) {
    // Our own git killed by a signal (a file-size limit: SIGXFSZ as it writes the index) left
    // its index.lock: removed when no git lives, or every later git command fails on it.
    if ((err as { signal?: string }).signal) {
      const lock = indexLock(top);
      if (lock && lock.knowable && lock.holders.length === 0) rmSync(lock.file, { force: true });
    }
    const why = String((err as { stderr?: string }).stderr ?? err).split('\n').find((l) => l.trim()) ?? 'git failed';
    throw new UsageError(`cannot put ${fromTop} back in the index: ${why.replace(/^(fatal|error): /, '')}`);
  }
}

function shown(loc: Location, file: string): string {
  return loc.git && loc.top ? path.relative(loc.top, file) : file;
}
