// Issue 15 (memory flat in fleet size): the batch reads an agent's file when its rewrite starts
// (rewriteAll's prepare), not the whole fleet's texts before the first rewrite. Proven on the
// demo fleet's agents, with the worker pool and in this process: at every answer, only the jobs
// in flight hold a source, and the outputs are those of jobs given their sources up front.
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { AgentInfo, RewriteOutcome } from '../src/core/types.js';
import type { RewriteJob } from '../src/pipeline/rewrite-pool.js';
import { ensureBuilt, REPO } from './helpers/cli.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-inputs-on-demand-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
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
