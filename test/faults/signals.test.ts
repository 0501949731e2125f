// Signals during `run` (issue 11, item 11): SIGTERM and SIGHUP are interruptions like
// Ctrl-C (cleanup, then exit 128 + the signal: 143, 129), an interrupted validation says
// "interrupted", and Ctrl-C during the rewrite of a large batch stops the pool at once and
// lists no output that is not on disk.
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { constants as osConstants } from 'node:os';
import { Ajv } from 'ajv';
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
  git,
  kill,
  tag,
  patchFleetCommon,
  REPO,
  resultOf,
  runInProcess,
  spawnRun,
  tagged,
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
      // stderr (a pipe here) says it too, with the signal and the stage (before: not a word; only stdout's summary did).
      expect(String(res.stderr).trim().split('\n').at(-1)).toBe(`migrate: interrupted (${signal}) during the validate stage: 2 of 2 agents stopped unfinished (failed: interrupted ...)`);
      await expectIntact(root, before, [t]);
    }, 90_000);
  }
});

// A _v2 that blocks SIGTERM, SIGINT and SIGHUP (what a handler that swallows them, or a main
// thread stuck where signals are never delivered, looks like from outside): it answers healthy,
// then never stops when told to.
const IGNORES_SIGTERM = `
import signal as _g_signal, sys as _g_sys
if _g_sys.argv[0].endswith("_v2.py"):
    _g_signal.pthread_sigmask(_g_signal.SIG_BLOCK, {_g_signal.SIGTERM, _g_signal.SIGINT, _g_signal.SIGHUP})
`;

/** A profile `hang` (from `fast`): a 1 s survival window, then 30 s for the agent to stop after SIGTERM. */
function hangProfile(root: string): void {
  const fast = readFileSync(path.join(root, '.migrate', 'profiles', 'fast.yaml'), 'utf8');
  const hang = fast
    .replace(/^name: .*$/m, 'name: hang')
    .replace(/survival_window_s: \d+/, 'survival_window_s: 1')
    .replace(/shutdown_deadline_s: \d+/, 'shutdown_deadline_s: 30');
  expect(hang).toMatch(/shutdown_deadline_s: 30/);
  writeFileSync(path.join(root, '.migrate', 'profiles', 'hang.yaml'), hang);
  commitAll(root, 'a profile that waits long for the agent to stop');
}

/** True once the process has SIGTERM pending (blocked, so it stays pending): the tool asked it to stop. */
const sigtermPending = (pid: number) => signalPending(pid, 15);

/** A demo repo whose agent ignores SIGTERM, and a run of it caught while it waits for that agent to stop. */
async function stoppingAnAgentThatIgnoresSigterm() {
  const root = await demoRepo();
  hangProfile(root);
  patchFleetCommon(root, IGNORES_SIGTERM);
  const before = baseline(root);
  const t = tag();
  const child = spawnRun(root, ['run', AGENT, '--profile', 'hang', '--json'], t);
  await waitFor(() => v2Agents(t).some((p) => sigtermPending(p.pid)) || child.exitCode !== null || child.signalCode !== null, 'the tool to send SIGTERM to the agent', 90_000);
  expect(child.exitCode, 'the run ended before the shutdown check').toBeNull();
  return { root, before, t, child };
}

describe('11. a signal while the tool waits for an agent that ignores SIGTERM', () => {
  it('SIGTERM to the tool (the agent has 30 s to stop): exit 143 within seconds, the check says "interrupted", no process, file or commit left', async () => {
    const { root, before, t, child } = await stoppingAnAgentThatIgnoresSigterm();
    const t0 = Date.now();
    kill(child.pid!, 'SIGTERM');
    const res = await child;
    expect(Date.now() - t0, 'bounded: not the 30 s shutdown deadline').toBeLessThan(10_000);
    expect(res.exitCode, String(res.stderr)).toBe(143);
    const r = resultOf(JSON.parse(String(res.stdout)) as RunJson, AGENT);
    expect({ status: r.status, commit: r.commit, output: r.output }).toEqual({ status: 'failed', commit: null, output: null });
    expect(r.validation?.checks.find((c) => c.name === 'shutdown')?.detail).toBe('interrupted');
    await expectIntact(root, before, [t]);
  }, 150_000);

  it('a second signal during the cleanup: exit at once with one line saying what is left to whom; no agent outlives it; the next run puts back the rest and migrates once', async () => {
    const { root, before, t, child } = await stoppingAnAgentThatIgnoresSigterm();
    // Both signals wait while the tool is stopped, so the second one lands before the cleanup the
    // first one starts can end (sent 100 ms apart, a quick cleanup sometimes ended first and the
    // second signal met no handler). Two pending signals of one kind merge into one, so the
    // second is a hang-up; the kernel delivers the lower-numbered one (SIGHUP) first.
    kill(child.pid!, 'SIGSTOP');
    kill(child.pid!, 'SIGTERM');
    kill(child.pid!, 'SIGHUP');
    kill(child.pid!, 'SIGCONT');
    const res = await child;
    expect([143, 129].includes(res.exitCode!) || ['SIGTERM', 'SIGHUP'].includes(res.signal!), `exit ${res.exitCode} ${res.signal}: ${String(res.stderr)}`).toBe(true);
    // Before: not a word; the tool just vanished.
    const line = String(res.stderr).split('\n').find((l) => / after SIG(TERM|HUP): exiting at once/.test(l));
    expect(line ?? '(no such line)', String(res.stderr)).toMatch(
      /^migrate: (SIGTERM after SIGHUP|SIGHUP after SIGTERM): exiting at once, before the cleanup ended; its agents end with it, and the next writing command \(run, commit, review, promote or revert\) puts back what it left unfinished \(migrate status names it\)$/,
    );
    // --json: exactly one document on stdout, the error one naming the same line (before, stdout was empty).
    expectSecondSignalDocument(String(res.stdout), line!, res.exitCode ?? 128 + osConstants.signals[res.signal as NodeJS.Signals]);
    await expectRecovered(root, before, t);
  }, 150_000);

  it('Ctrl-C twice with --json: one line, exactly one error document on stdout, no agent, no commit; the next run puts back the rest and migrates once', async () => {
    const { root, before, t, child } = await stoppingAnAgentThatIgnoresSigterm();
    const head = git(root, ['rev-parse', 'HEAD']);
    // Two SIGINTs, not merged into one: the second is sent once the kernel has delivered the first (no longer
    // pending), while the tool was stopped so its first handler cannot have run its cleanup to the end yet.
    kill(child.pid!, 'SIGSTOP');
    kill(child.pid!, 'SIGINT');
    kill(child.pid!, 'SIGCONT');
    await waitFor(() => !signalPending(child.pid!, 2) || child.exitCode !== null, 'the first SIGINT delivered', 10_000);
    kill(child.pid!, 'SIGINT');
    const res = await child;
    expect(res.exitCode === 130 || res.signal === 'SIGINT', `exit ${res.exitCode} ${res.signal}: ${String(res.stderr)}`).toBe(true);
    const line = String(res.stderr).split('\n').find((l) => /: SIGINT again: exiting at once/.test(l));
    expect(line ?? '(no such line)', String(res.stderr)).toMatch(/^migrate: SIGINT again: exiting at once, before the cleanup ended; its agents end with it/);
    expectSecondSignalDocument(String(res.stdout), line!, 130);
    expect(git(root, ['rev-parse', 'HEAD']), 'no commit, half or whole').toBe(head);
    expect(git(root, ['diff', '--cached', '--name-only']), 'nothing left staged').toBe('');
    await expectRecovered(root, before, t);
  }, 150_000);
});

/** After a run killed by a second signal: none of its processes outlives it, and the next run puts back what it left and migrates once. */
async function expectRecovered(root: string, before: ReturnType<typeof baseline>, t: string): Promise<void> {
  await waitFor(() => tagged(t).length === 0, `no process of the killed run (${tagged(t).map((p) => p.cmdline).join('; ')})`, 10_000);
  const t2 = tag();
  const rerun = await runInProcess(root, ['run', AGENT, '--no-validate', '--json'], t2);
  expect(rerun.exitCode, rerun.stderr).toBe(0);
  expect((await expectIntact(root, before, [t, t2])).map((c) => c.agent)).toEqual([AGENT]);
}

/** True while `signal` (its number) is pending for the process: sent, not yet delivered. */
function signalPending(pid: number, signal: number): boolean {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return ['SigPnd', 'ShdPnd'].some((k) => (BigInt(`0x${new RegExp(`^${k}:\\s*([0-9a-f]+)`, 'm').exec(status)?.[1] ?? '0'}`) & (1n << BigInt(signal - 1))) !== 0n);
  } catch {
    return false;
  }
}

const errorSchema = new Ajv({ allErrors: true }).compile(JSON.parse(readFileSync(path.join(REPO, 'schemas', 'error.schema.json'), 'utf8')));

/** stdout of a --json run ended by a second signal: exactly one document (JSON.parse takes neither none nor two), the error one, saying what stderr's line says. */
function expectSecondSignalDocument(stdout: string, line: string, exitCode: number): void {
  const doc = JSON.parse(stdout) as { error: { code: string; message: string; exit_code: number } };
  expect(errorSchema(doc), JSON.stringify(errorSchema.errors)).toBe(true);
  expect(doc.error).toMatchObject({ code: 'interrupted', message: line.replace(/^migrate: /, ''), exit_code: exitCode });
}

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
