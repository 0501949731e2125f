// Issue 15 (memory flat in fleet size): the batch reads an agent's file when its rewrite starts
// (rewriteAll's prepare), not the whole fleet's texts before the first rewrite. Proven on the
// demo fleet's agents, with the worker pool and in this process: at every answer, only the jobs
// in flight hold a source, and the outputs are those of jobs given their sources up front.
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AgentInfo, RewriteOutcome } from '../src/core/types.js';
import type { RewriteJob } from '../src/pipeline/rewrite-pool.js';
import { runBatch } from '../src/pipeline/batch.js';
import { loadProfile } from '../src/profile/profile.js';
import { ensureBuilt, initGit, REPO, tempDirsOfThisFile } from './helpers/cli.js';
import { writeFleet } from './bench/fleet/fleet.js';

const temps = tempDirsOfThisFile();
const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-inputs-on-demand-'));
temps.push(root);
// The demo fleet with the reference base beside it (what `migrate init` gives).
cpSync(path.join(REPO, 'fixtures', 'demo-fleet'), root, { recursive: true });
cpSync(path.join(REPO, 'templates', 'runtime', 'python', 'common'), path.join(root, 'common'), { recursive: true });
// Four agents keep it to a few seconds of CPU.
const files = readdirSync(path.join(root, 'agents'))
  .filter((f) => /_agent\.py$/.test(f))
  .sort()
  .slice(0, 4)
  .map((f) => path.join(root, 'agents', f));

function jobOf(file: string, source: string): RewriteJob {
  const cls = readFileSync(file, 'utf8').match(/^class (\w+Agent)\b/m)![1]!;
  const agent: AgentInfo = { name: cls, file: path.relative(root, file), language: 'python', class: cls, status: 'legacy', findings: [], line: 1, evidence: [] };
  return { root, file, source, agent };
}

async function compiled() {
  ensureBuilt();
  // The compiled pool: its worker threads need the compiled worker file.
  const { rewriteAll } = (await import(path.join(REPO, 'dist', 'src', 'pipeline', 'rewrite-pool.js'))) as typeof import('../src/pipeline/rewrite-pool.js');
  const { loadProfile } = (await import(path.join(REPO, 'dist', 'src', 'profile', 'profile.js'))) as typeof import('../src/profile/profile.js');
  await import(path.join(REPO, 'dist', 'src', 'lang', 'adapters.js'));
  return { rewriteAll, profile: loadProfile('base-agent') };
}

let eagerOutcomes: Promise<RewriteOutcome[]> | undefined;
/** The outcomes of jobs that carry their sources from the start (in band), once for both cases. */
function eager(): Promise<RewriteOutcome[]> {
  return (eagerOutcomes ??= compiled().then(({ rewriteAll, profile }) =>
    rewriteAll(
      files.map((f) => jobOf(f, readFileSync(f, 'utf8'))),
      profile,
      { inBand: true },
    ),
  ));
}

describe('rewrite inputs read on demand', () => {
  for (const [how, choice, inFlight] of [
    ['worker pool', { jobs: 2 }, 2],
    ['in band', { inBand: true }, 1],
  ] as const) {
    it(`only the jobs in flight hold their source (${how})`, { timeout: 240_000 }, async () => {
      const { rewriteAll, profile } = await compiled();
      // Each agent twice, and one file that is gone by the time its turn comes.
      const paths = [...files, ...files, path.join(root, 'agents', 'gone_agent.py')];
      const lazy = paths.map((f, k) => ({ ...jobOf(k < paths.length - 1 ? f : files[0]!, ''), file: f }));
      const prepared = new Set<number>();
      const answered = new Set<number>();
      let mostInFlight = 0;
      // Said after the run: a throw inside the pool's callbacks would not reach the test.
      const wrong: string[] = [];
      const outcomes = await rewriteAll(lazy, profile, {
        ...choice,
        prepare: (i) => {
          try {
            lazy[i]!.source = readFileSync(lazy[i]!.file, 'utf8');
          } catch {
            return false;
          }
          prepared.add(i);
          mostInFlight = Math.max(mostInFlight, prepared.size - answered.size);
          if (lazy.slice(i + 1).some((j) => j.source !== '')) wrong.push(`a job after ${i} had its source before it`);
          return true;
        },
        onDone: (i, o: RewriteOutcome) => {
          if (!prepared.has(i)) wrong.push(`job ${i} answered before it was prepared`);
          answered.add(i);
          // The batch lets a finished job's source go; so does this caller.
          if (o.status !== 'failed') lazy[i]!.source = '';
        },
      });
      expect(wrong).toEqual([]);
      expect(mostInFlight).toBeLessThanOrEqual(inFlight);
      expect(prepared.size).toBe(paths.length - 1);
      // The unreadable one: no answer (its caller settled it), a failed outcome in its place.
      expect(answered.has(paths.length - 1)).toBe(false);
      expect(outcomes.at(-1)).toMatchObject({ status: 'failed' });
      // The same rewrites as jobs that carried their sources from the start.
      const want = await eager();
      expect(want.filter((o) => o.status === 'changed').length).toBeGreaterThanOrEqual(3);
      for (const [k, o] of outcomes.slice(0, -1).entries()) {
        const w = want[k % files.length]!;
        expect(o.status, paths[k]).toBe(w.status);
        expect(o.removed, paths[k]).toEqual(w.removed);
        expect(o.kept_for_review, paths[k]).toEqual(w.kept_for_review);
      }
    });
  }
});

describe('a batch reads each agent as its rewrite starts', () => {
  it('a file removed once the first rewrite came back fails that agent alone (read then, not before the first rewrite)', { timeout: 120_000 }, async () => {
    const fleetRoot = mkdtempSync(path.join(os.tmpdir(), 'migrate-inputs-batch-'));
    temps.push(fleetRoot);
    const { files: written } = writeFleet(fleetRoot, 5, { baseDir: path.join(REPO, 'fixtures', 'python', '_base'), typescriptShare: 0, minLines: 80, maxLines: 140, seed: 7 });
    initGit(fleetRoot);
    // The batch goes in file order: the last agent's turn comes after the first has finished.
    const last = written.map((f) => f.rel).sort().at(-1)!;
    let removed = false;
    const outcome = await runBatch({
      root: fleetRoot,
      profile: loadProfile('base-agent', fleetRoot),
      agents: [],
      all: true,
      dryRun: false,
      validate: false,
      commit: false,
      force: false,
      allowDirty: true,
      concurrency: 1,
      runInBand: true,
      // Told synchronously as the first agent's rewrite comes back, before the next one starts.
      onProgress: (e) => {
        if (e.stage !== 'rewrite' || e.past < 1 || removed) return;
        removed = true;
        rmSync(path.join(fleetRoot, last));
      },
    });
    expect(removed).toBe(true);
    const byFile = new Map(outcome.results.map((r) => [r.file, r]));
    expect(byFile.get(last)).toMatchObject({ status: 'failed', output: null });
    expect(byFile.get(last)!.error).toMatch(/was moved or deleted after the scan found \w+ in it, before its rewrite: nothing written/);
    expect(existsSync(path.join(fleetRoot, last.replace(/\.py$/, '_v2.py')))).toBe(false);
    // The others are migrated, their outputs on disk.
    const others = outcome.results.filter((r) => r.file !== last);
    expect(others.length).toBe(4);
    for (const r of others) {
      expect(['migrated', 'needs-review'], `${r.file}: ${r.error}`).toContain(r.status);
      expect(existsSync(path.join(fleetRoot, r.output!))).toBe(true);
    }
  });
});
