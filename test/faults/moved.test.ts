// A repository moved (renamed folder) or copied (cp -r) after a run was killed. The journal
// lives in the git dir, which travels with the work tree, but it named the files by the
// absolute root of the killed run: in a moved repository recovery refused ("outside
// repository") until the journal was deleted by hand; in a copy it put the copy's backups
// into the *original* repository's files before it refused. Now the journal keeps the
// root's place inside the work tree and recovery puts the files back where the
// repository is now, never outside it.
import { cpSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AGENT,
  AGENT_V2,
  baseline,
  cleanupAll,
  commitAll,
  demoRepo,
  ensureBuilt,
  expectIntact,
  kill,
  listTree,
  runInProcess,
  sha256,
  slowHook,
  spawnRun,
  tag,
  tempDir,
  untilHook,
  waitFor,
} from './harness.js';

beforeAll(() => ensureBuilt(), 180_000);
afterAll(cleanupAll);

function journalFiles(root: string): number {
  try {
    return (JSON.parse(readFileSync(path.join(root, '.git', 'migrate-run.json'), 'utf8')) as { files: string[] }).files.length;
  } catch {
    return 0;
  }
}

/** sha256 of every file under root outside .git. */
function snapshot(root: string): Map<string, string> {
  return new Map(listTree(root).map((f) => [f, sha256(path.join(root, f))]));
}

describe('27. a repository moved or copied after a killed run is recovered where it is', () => {
  it('renamed after kill -9 mid-run: the next run there puts back every unfinished file, says where from, and migrates each agent once', async () => {
    const root = await demoRepo();
    const before = baseline(root);
    const t0 = tag();
    const killed = spawnRun(root, ['run', '--all', '--no-validate'], t0);
    await waitFor(() => journalFiles(root) >= 8 || killed.exitCode !== null, 'the run to register its files');
    expect(killed.exitCode, 'the run ended before it could be killed').toBeNull();
    kill(killed.pid!);
    await killed;
    const moved = path.join(tempDir('migrate-moved-'), 'fleet');
    renameSync(root, moved);
    const t1 = tag();
    const r = await runInProcess(moved, ['run', '--all', '--no-validate'], t1);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain(`migrate: the repository moved from ${root} since the killed run`);
    expect(r.stderr).toMatch(/recovered from a killed run \(pid \d+\): stopped 0 agent process\(es\), put back [1-9]\d* unfinished file\(s\)/);
    expect((await expectIntact(moved, before, [t0, t1])).length).toBe(13);
  }, 150_000);

  it('copied with cp -r while a --force run was killed mid-commit: the copy recovers itself and never writes into the original', async () => {
    const root = await demoRepo();
    writeFileSync(path.join(root, AGENT_V2), '# my own hand-made migration, committed\nprint("v2 by hand")\n');
    commitAll(root, 'a hand-made _v2');
    const before = baseline(root);
    // Killed with its git while the commit runs: the _v2 is replaced, its backup in the journal.
    const { child } = await untilHook(root, slowHook(root), ['run', AGENT, '--force', '--no-validate']);
    process.kill(-child.pid!, 'SIGKILL');
    await child;
    expect(journalFiles(root), 'the killed run left its journal').toBeGreaterThan(0);
    const copy = path.join(tempDir('migrate-copied-'), 'fleet');
    cpSync(root, copy, { recursive: true });
    rmSync(path.join(copy, '.git', 'hooks', 'pre-commit'));
    const original = snapshot(root);
    const originalGit = readdirSync(path.join(root, '.git')).sort();
    const t1 = tag();
    const r = await runInProcess(copy, ['run', 'TextStatsAgent', '--no-validate'], t1);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain(`migrate: the repository moved from ${root} since the killed run`);
    expect(snapshot(root), 'the original repository is untouched').toEqual(original);
    expect(readdirSync(path.join(root, '.git')).sort()).toEqual(originalGit);
    expect((await expectIntact(copy, before, [t1])).map((c) => c.agent)).toEqual(['TextStatsAgent']);
    // The original, recovered in its own place later, comes back the same way.
    rmSync(path.join(root, '.git', 'hooks', 'pre-commit'));
    const t2 = tag();
    const own = await runInProcess(root, ['run', 'TextStatsAgent', '--no-validate'], t2);
    expect(own.exitCode, own.stderr).toBe(0);
    expect(own.stderr).not.toContain('the repository moved');
    expect(existsSync(path.join(root, '.git', 'migrate-run.json'))).toBe(false);
    expect((await expectIntact(root, before, [t2])).map((c) => c.agent)).toEqual(['TextStatsAgent']);
  }, 150_000);
});
