// The run lock taken over from a dead command, then lost by a hair: two commands started
// together after a crash both find the dead holder's lock; one removes it, the other links
// its own before the first can. The first must fail with the one line naming the live
// holder, and say nothing about the lock it removed (it holds nothing; the winner reports
// the killed run it recovers). Before, it printed "removed ... left by ..." too: two lines
// for one refusal (CI stop 31). The race is made deterministic here: the other command's
// lock is planted the moment the dead one's claim is deleted.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';

const plant: { lock?: string; content?: string } = {};

vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  const rm = (p: import('node:fs').PathLike, opts?: import('node:fs').RmOptions) => {
    real.rmSync(p, opts);
    if (plant.lock && String(p) === `${plant.lock}.${process.pid}.stale` && plant.content) {
      real.writeFileSync(plant.lock, plant.content);
      plant.content = undefined;
    }
  };
  return { ...real, rmSync: rm, default: { ...real, rmSync: rm } };
});

// Loaded anew, so under this file's fs mock even when an earlier file in this worker loaded them.
vi.resetModules();
const { RunJournal } = await import('../src/pipeline/journal.js');
const { identityOf } = await import('../src/validate/proc.js');

let live: ChildProcess | undefined;
afterEach(() => {
  live?.kill('SIGKILL');
  live = undefined;
});

function repo(): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-lock-race-'));
  spawnSync('git', ['init', '-q', root]);
  return root;
}

/** A pid that is surely not running (a child that has ended). */
function deadPid(): number {
  const r = spawnSync('true');
  return r.pid ?? 999_999;
}

describe('run lock', () => {
  it('a command that removed a dead holder\'s lock and then lost it fails with one line, and warns nothing', async () => {
    const root = repo();
    try {
      const lock = path.join(root, '.git', 'migrate-run.lock');
      writeFileSync(lock, JSON.stringify({ pid: deadPid(), started: '2026-01-01T00:00:00.000Z', command: 'run --all' }));
      live = spawn('sleep', ['30'], { stdio: 'ignore' });
      const id = identityOf(live.pid!);
      plant.lock = lock;
      plant.content = JSON.stringify({ pid: live.pid, start: id?.start, boot: id?.boot, started: '2026-12-02T00:00:00.000Z', command: 'run --all' });
      const warned: string[] = [];
      const err = await RunJournal.open(root, 'run', (l) => warned.push(l)).then(
        () => null,
        (e: Error) => e,
      );
      expect(plant.content, 'the race was not reached').toBeUndefined();
      expect(err?.message).toMatch(new RegExp(`^another migrate run \\(pid ${live.pid}, started [^)]+: migrate run --all\\) is in progress in this repository; wait for it to end$`));
      expect(warned).toEqual([]);
    } finally {
      plant.lock = undefined;
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('a command that removed a dead holder\'s lock and took it says so once', async () => {
    const root = repo();
    try {
      const lock = path.join(root, '.git', 'migrate-run.lock');
      const dead = deadPid();
      writeFileSync(lock, JSON.stringify({ pid: dead, started: '2026-01-01T00:00:00.000Z', command: 'run --all' }));
      const warned: string[] = [];
      const journal = await RunJournal.open(root, 'run', (l) => warned.push(l));
      expect(warned.filter((l) => l.includes('no longer running'))).toEqual([
        `removed .git/migrate-run.lock left by a migrate command that is no longer running (pid ${dead}, started 2026-01-01T00:00:00.000Z: migrate run --all)`,
      ]);
      journal.finish();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
