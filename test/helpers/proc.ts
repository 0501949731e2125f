// What the tests read of a process from /proc, independently of the tool's own reading.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';

/** Whether this machine has a python3 to start (the forking fixtures are Python). */
export const HAS_PYTHON = (() => {
  try {
    // -S: whether it starts; site's .pth files (certifi on the CI machine) tripled the cost of asking.
    execFileSync('python3', ['-S', '-c', 'pass'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** Start time (clock ticks after boot) of a live, non-zombie process, or undefined: a pid with its start time names one process, never a later one given the same pid. */
export function startOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return f[0] === 'Z' ? undefined : Number(f[19]);
  } catch {
    return undefined;
  }
}

/** A process a fixture said it started, named by pid and start time. */
export interface Recorded {
  pid: number;
  start: number;
}

/** True while that very process lives (a later process given the same pid is not it). */
export const alive = (r: Recorded): boolean => startOf(r.pid) === r.start;

/**
 * The processes fixtures write their pids into a directory for: each is recorded with its start
 * time as it first appears (so a reused pid is never killed), and all of them can be killed by
 * pid whatever the test did.
 */
export class PidLedger {
  private readonly seen: Recorded[] = [];

  /** What `dir` names, recorded as it appears. */
  record(dir: string): Recorded[] {
    const pids = readdirSync(dir).filter((n) => /^\d+$/.test(n)).map(Number);
    for (const pid of pids) {
      if (this.seen.some((s) => s.pid === pid)) continue;
      const start = startOf(pid);
      if (start !== undefined) this.seen.push({ pid, start });
    }
    const mine = new Set(pids);
    return this.seen.filter((s) => mine.has(s.pid));
  }

  /** SIGKILL every recorded process still alive, and forget them. */
  killAll(): void {
    for (const s of this.seen.splice(0)) {
      if (!alive(s)) continue;
      try {
        process.kill(s.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
}

/**
 * For a test file whose processes record their pids in folders: temporary folders (`prefix`)
 * and the processes recorded there, all killed and removed after each test.
 */
export function processScratch(prefix: string): { record: (dir: string) => Recorded[]; tempDir: () => string } {
  const ledger = new PidLedger();
  const dirs: string[] = [];
  afterEach(() => {
    ledger.killAll();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return {
    record: (dir) => ledger.record(dir),
    tempDir: () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
      dirs.push(dir);
      return dir;
    },
  };
}
