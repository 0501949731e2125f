// A full disk (issue 11's campaign, second round): the repository on a small tmpfs, filled so
// that only a few kilobytes remain, at several levels so the first write to fail is the _v2,
// the record, git's objects or index, or the run journal. Whatever fails, the tool ends (a
// failed cleanup step once skipped closing python3's compile session: the run hung for good),
// prints its report, and leaves nothing of a failed agent that the next run does not put
// back; once there is room again, the next run migrates each agent exactly once.
// Needs mount(2) (root): skipped where a tmpfs cannot be mounted.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseline, cleanupAll, commitAll, demoRepo, ensureBuilt, expectIntact, git, migrateCommits, parseRun, run, runInProcess, tag, tempDir, underFileSizeLimit } from './harness.js';

const mounts: string[] = [];
function mountTmpfs(kb: number): string | null {
  const dir = tempDir('migrate-disk-full-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${kb}k`, 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    return null;
  }
  mounts.push(dir);
  return dir;
}
const CAN_MOUNT = (() => {
  const d = mountTmpfs(64);
  return d !== null;
})();

beforeAll(() => ensureBuilt(), 180_000);
afterAll(() => {
  for (const m of mounts) {
    try {
      execFileSync('umount', [m], { stdio: 'ignore' });
    } catch {
      // busy: left for the system
    }
  }
  cleanupAll();
});

const AGENTS = ['KVCacheAgent', 'TextStatsAgent'];

describe.skipIf(!CAN_MOUNT)('21. a full disk', () => {
  for (const free of [8, 24, 40, 70]) {
    it(`${free} KB left: the run ends (its report, or one line when its journal cannot be saved); once there is room, the next run migrates each agent once`, async () => {
      const template = await demoRepo();
      const mount = mountTmpfs(Number(execFileSync('du', ['-sk', template], { encoding: 'utf8' }).split('\t')[0]) + 1024)!;
      const root = path.join(mount, 'repo');
      cpSync(template, root, { recursive: true });
      const head = git(root, ['rev-parse', 'HEAD']);
      const fs = statfsSync(mount);
      const filler = path.join(mount, 'filler');
      writeFileSync(filler, Buffer.alloc(Math.max(0, fs.bavail * fs.bsize - free * 1024)));

      const t = tag();
      const full = await run(root, ['run', ...AGENTS, '--no-validate', '--json'], t, {}, 60_000);
      expect([0, 1], full.stderr).toContain(full.exitCode);
      // With --json a run that stops on one line also prints that line as its error document.
      const stopped = full.stdout ? (JSON.parse(full.stdout) as { error?: { message: string } }).error : undefined;
      if (full.stdout && !stopped) {
        const out = parseRun(full);
        expect(out.results.map((r) => r.agent).sort()).toEqual(AGENTS);
        for (const r of out.results) {
          if (r.status === 'failed') expect(r.error ?? '', r.agent).not.toContain('\n');
          else expect(r.commit, r.agent).toMatch(/^[0-9a-f]{40}$/);
        }
      } else {
        // A run that cannot keep its journal, or whose first git command cannot write git's
        // index (the run lock took the last blocks), stops writing and says so naming the file.
        const line = /^migrate: (cannot save the run journal \S+migrate-run\.json: ENOSPC|fatal: sha1 file '\S+index\.lock' write error\. Out of diskspace)/m;
        expect(full.stderr).toMatch(line);
        if (stopped) expect(`migrate: ${stopped.message}`).toMatch(line);
      }
      rmSync(filler);
      // What a full disk kept git from putting back (it cannot even unstage) waits in the journal for the next run.
      if (git(root, ['status', '--porcelain', '--untracked-files=all'])) expect(readdirSync(path.join(root, '.git')), full.stderr).toContain('migrate-run.json');
      const again = await runInProcess(root, ['run', ...AGENTS, '--no-validate', '--json'], t, {}, 60_000);
      expect(again.exitCode, again.stderr).toBe(0);
      expect(migrateCommits(root, head).map((c) => c.agent).sort()).toEqual(AGENTS);
      expect(git(root, ['status', '--porcelain', '--untracked-files=all'])).toBe('');
      const dotGit = readdirSync(path.join(root, '.git'));
      expect(dotGit.filter((f) => f.endsWith('.lock') || f.startsWith('migrate-run.json')), 'no lock or journal left').toEqual([]);
    }, 150_000);
  }
});

// The same kind of fault without root: a file-size limit (ulimit -f, as a quota or a CI
// sandbox sets). The tool's own writes fail with EFBIG; git, which does not ignore SIGXFSZ,
// is killed by it as it writes an index larger than the limit, leaving its index.lock.
describe('21. a file-size limit (ulimit -f) that kills git as it writes the index', () => {
  it('each agent fails with one line naming the killed git; no index.lock or journal stays; without the limit the next run migrates each once', async () => {
    const root = await demoRepo();
    // An index of some 60 KB (600 tracked files), larger than the limit; the _v2 files and records are smaller.
    for (let d = 0; d < 20; d++) {
      mkdirSync(path.join(root, 'docs', `part${d}`), { recursive: true });
      for (let f = 0; f < 30; f++) writeFileSync(path.join(root, 'docs', `part${d}`, `note_with_a_longer_name_${f}.txt`), `${d}.${f}\n`);
    }
    commitAll(root, 'many small files');
    const before = baseline(root);
    const t = tag();
    const limited = await underFileSizeLimit(root, ['run', ...AGENTS, '--no-validate', '--json'], 16, { FAULT_TAG: t });
    expect(limited.exitCode, String(limited.stderr)).toBe(1);
    const out = JSON.parse(String(limited.stdout)) as { results: Array<{ agent: string; status: string; error: string | null }> };
    for (const r of out.results) {
      expect(r.status, r.agent).toBe('failed');
      expect(r.error, r.agent).toMatch(/git (read-tree|add|commit|reset) was killed by SIGXFSZ/);
      expect(r.error, r.agent).not.toContain('\n');
    }
    // Before: the unstage, killed the same way, left git's index.lock (every git command of the
    // user then failed, and the next run refused until it was removed by hand) and the journal.
    await expectIntact(root, before, [t]);
    const t2 = tag();
    const again = await runInProcess(root, ['run', ...AGENTS, '--no-validate', '--json'], t2, {}, 60_000);
    expect(again.exitCode, again.stderr).toBe(0);
    expect((await expectIntact(root, before, [t, t2])).map((c) => c.agent).sort()).toEqual(AGENTS);
  }, 120_000);
});
