// Signals during `run` (issue 11, item 11): SIGTERM and SIGHUP are interruptions like
// Ctrl-C (cleanup, then exit 128 + the signal: 143, 129), an interrupted validation says
// "interrupted", and Ctrl-C during the rewrite of a large batch stops the pool at once and
// lists no output that is not on disk.
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RewriteJob } from '../../src/pipeline/rewrite-pool.js';
import type { AgentInfo } from '../../src/core/types.js';
import {
  AGENT,
  baseline,
  cleanupAll,
  commitAll,
  demoRepo,
  ensureBuilt,
  NEVER_HEALTHY,
  expectIntact,
  kill,
  tag,
  patchFleetCommon,
  REPO,
  resultOf,
  spawnRun,
  v2Agents,
  waitFor,
  type RunJson,
} from './harness.js';

beforeAll(() => ensureBuilt(), 180_000);
afterAll(cleanupAll);

describe('11. SIGTERM and SIGHUP interrupt like Ctrl-C: cleanup, then exit 128 + signal', () => {
  for (const [signal, code] of [
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const) {
    it(`${signal} during validation: exit ${code}, the check says "interrupted", nothing left`, async () => {
      const root = await demoRepo();
      patchFleetCommon(root, NEVER_HEALTHY);
      const before = baseline(root);
      const t = tag();
      const child = spawnRun(root, ['run', AGENT, 'TextStatsAgent', '--profile', 'fast', '--json'], t);
      await waitFor(() => v2Agents(t).length > 0 || child.exitCode !== null || child.signalCode !== null, 'a _v2 agent process');
      kill(child.pid!, signal);
      const res = await child;
      expect(res.exitCode, String(res.stderr)).toBe(code);
      const out = JSON.parse(String(res.stdout)) as RunJson;
      for (const r of out.results) {
        expect({ status: r.status, commit: r.commit, output: r.output }, r.agent).toEqual({ status: 'failed', commit: null, output: null });
        expect(r.error, r.agent).toMatch(/^interrupted/);
      }
      const health = resultOf(out, AGENT).validation?.checks.find((c) => c.name === 'health');
      expect(health?.detail, 'not "nothing answered within 15.0 s"').toBe('interrupted');
      await expectIntact(root, before, [t]);
    }, 90_000);
  }
});

describe('11. Ctrl-C during the rewrite stage', () => {
  it('the worker pool stops at once: the jobs it had not done come back as interrupted', async () => {
    // The compiled pool (its worker threads need the compiled worker file).
    const { rewriteAll } = (await import(path.join(REPO, 'dist', 'src', 'pipeline', 'rewrite-pool.js'))) as typeof import('../../src/pipeline/rewrite-pool.js');
    const { loadProfile } = (await import(path.join(REPO, 'dist', 'src', 'profile', 'profile.js'))) as typeof import('../../src/profile/profile.js');
    await import(path.join(REPO, 'dist', 'src', 'lang', 'adapters.js'));
    const profile = loadProfile('base-agent');
    // The demo fleet with the reference base beside it (what `migrate init` gives): without the
    // base's source the profile's fallback says the base binds the request port the agents' own
    // servers bind, and every rewrite is refused before the pool has anything to keep.
    const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-pool-sigint-'));
    cpSync(path.join(REPO, 'fixtures', 'demo-fleet'), root, { recursive: true });
    cpSync(path.join(REPO, 'templates', 'runtime', 'python', 'common'), path.join(root, 'common'), { recursive: true });
    const files = readdirSync(path.join(root, 'agents')).filter((f) => /_agent\.py$/.test(f));
    const jobs: RewriteJob[] = Array.from({ length: 40 }, (_, i) => {
      const file = path.join(root, 'agents', files[i % files.length]!);
      const cls = readFileSync(file, 'utf8').match(/^class (\w+Agent)\b/m)![1]!;
      const agent: AgentInfo = { name: cls, file: path.relative(root, file), language: 'python', class: cls, status: 'legacy', findings: [], line: 1, evidence: [] };
      return { root, file, source: readFileSync(file, 'utf8'), agent };
    });
    const abort = new AbortController();
    // -j 2: forty jobs are below the size where the run chooses the pool by itself.
    const outcomes = await rewriteAll(jobs, profile, { jobs: 2, signal: abort.signal, onDone: () => abort.abort() });
    const interrupted = outcomes.filter((o) => o.status === 'failed' && /interrupted before its rewrite$/.test(o.error ?? ''));
    expect(outcomes).toHaveLength(40);
    expect(interrupted.length, 'most jobs never ran').toBeGreaterThan(20);
    expect(outcomes.filter((o) => o.status === 'changed').length, 'the ones done are kept').toBeGreaterThanOrEqual(1);
    rmSync(root, { recursive: true, force: true });
  }, 60_000);

  it('SIGINT as a 200-agent batch starts: exit 130, every agent interrupted, no output listed that is not on disk, nothing written', async () => {
    const root = await demoRepo();
    // 200 agents: the demo fleet's ten, copied into twenty packages.
    for (let i = 0; i < 19; i++) cpSync(path.join(root, 'agents'), path.join(root, `pkg${i}`, 'agents'), { recursive: true });
    commitAll(root, 'a large fleet');
    const before = baseline(root);
    const t = tag();
    const child = spawnRun(root, ['run', '--all', '--no-validate', '--json'], t);
    // The run journal appears just before the stages start.
    await waitFor(() => existsSync(path.join(root, '.git', 'migrate-run.json')) || child.exitCode !== null, 'the run to start');
    kill(child.pid!, 'SIGINT');
    const res = await child;
    expect(res.exitCode, String(res.stderr)).toBe(130);
    const out = JSON.parse(String(res.stdout)) as RunJson;
    expect(out.results.length).toBeGreaterThanOrEqual(200);
    for (const r of out.results) {
      if (r.output) expect(existsSync(path.join(root, r.output)), `${r.agent}: listed output ${r.output} must exist`).toBe(true);
      if (r.status === 'failed') expect(r.error, r.agent).toMatch(/interrupted/);
    }
    expect(out.results.filter((r) => r.commit)).toEqual([]);
    await expectIntact(root, before, [t]);
  }, 120_000);
});
