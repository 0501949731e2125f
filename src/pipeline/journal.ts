// The run journal: what a batch is about to create (the `_v2` files, records) and which
// agent process groups it started, kept in .git/ so it never dirties the work tree.
// A run that was killed outright (no chance to clean up) leaves it behind; the next run
// removes what was never committed and kills what is still running before it starts.
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { UsageError } from '../core/errors.js';
import { onGroupChange } from '../validate/process-group.js';

interface JournalData {
  pid: number;
  started: string;
  files: string[];
  groups: number[];
}

export class RunJournal {
  private data: JournalData;
  private unsubscribe: () => void;

  private constructor(
    private readonly file: string,
    pid: number,
  ) {
    this.data = { pid, started: new Date().toISOString(), files: [], groups: [] };
    this.unsubscribe = onGroupChange((pgid, live) => {
      this.data.groups = live ? [...this.data.groups, pgid] : this.data.groups.filter((g) => g !== pgid);
      this.save();
    });
    this.save();
  }

  /** Recover from a killed run, then start this run's journal. */
  static open(root: string): RunJournal {
    const file = journalPath(root);
    recover(root, file);
    return new RunJournal(file, process.pid);
  }

  /** Record a file before it is created (relative to the root). */
  willCreate(rel: string): void {
    if (!this.data.files.includes(rel)) {
      this.data.files.push(rel);
      this.save();
    }
  }

  /** Files now committed are no longer at risk. */
  committed(rels: string[]): void {
    this.data.files = this.data.files.filter((f) => !rels.includes(f));
    this.save();
  }

  close(): void {
    this.unsubscribe();
    rmSync(this.file, { force: true });
  }

  private save(): void {
    // Atomic: a crash in the middle of writeFileSync left an empty or cut journal, which
    // recovery could not read, so the crashed run's _v2 files and agents stayed behind.
    writeFileSync(`${this.file}.tmp`, JSON.stringify(this.data));
    renameSync(`${this.file}.tmp`, this.file);
  }
}

function journalPath(root: string): string {
  let gitDir: string;
  try {
    // Piped stderr: git's own "fatal:" line must not reach the user next to ours.
    gitDir = execFileSync('git', ['rev-parse', '--git-dir'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch {
    throw new UsageError(`${root} is not inside a git work tree; migrate commits each agent, so run it in a git repository (or pass --no-commit)`);
  }
  return path.join(path.resolve(root, gitDir), 'migrate-run.json');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function recover(root: string, file: string): void {
  if (!existsSync(file)) return;
  let data: JournalData;
  try {
    data = JSON.parse(readFileSync(file, 'utf8')) as JournalData;
  } catch {
    rmSync(file, { force: true });
    return;
  }
  if (data.pid !== process.pid && alive(data.pid)) {
    throw new UsageError(`another migrate run (pid ${data.pid}, started ${data.started}) is in progress in this repository`);
  }
  rmSync(`${file}.tmp`, { force: true });
  for (const pgid of data.groups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const top = execFileSync('git', ['rev-parse', '--show-toplevel'], { cwd: root, encoding: 'utf8' }).trim();
  for (const rel of data.files) {
    const abs = path.join(root, rel);
    const fromTop = path.relative(top, abs);
    // Only what git does not know as committed: a half-done run's leftovers, never user files.
    let tracked = true;
    try {
      execFileSync('git', ['cat-file', '-e', `HEAD:${fromTop.split(path.sep).join('/')}`], { cwd: top, stdio: 'ignore' });
    } catch {
      tracked = false;
    }
    if (!tracked) {
      try {
        execFileSync('git', ['rm', '-q', '--cached', '--ignore-unmatch', '--', fromTop], { cwd: top, stdio: 'ignore' });
      } catch {
        // not in the index
      }
      rmSync(abs, { force: true });
    }
  }
  rmSync(file, { force: true });
}
