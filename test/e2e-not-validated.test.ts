// An agent whose legacy and _v2 both stop at start for want of a module this machine lacks (a
// vendor SDK: zmq, statsd on the fixture fleets) proves nothing either way. Before, `run` counted
// it `failed` although its rewrite was verified; now it ends `not-validated`, counted apart in
// the summary, --json and `migrate status`, still not committed and still exit 1. Given a
// stub of the module on PYTHONPATH (what a user can provide), the same _v2 validates for real.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliInProcess, ensureBuilt, REPO } from './helpers/cli.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-not-validated-'));
const stubs = mkdtempSync(path.join(os.tmpdir(), 'migrate-not-validated-stubs-'));
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(stubs, { recursive: true, force: true });
});

const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args], { cwd: root, encoding: 'utf8' });
const MODULE = 'kvstore_vendor_sdk';

beforeAll(async () => {
  ensureBuilt();
  cpSync(path.join(REPO, 'fixtures', 'demo-fleet'), root, { recursive: true });
  const agent = path.join(root, 'agents', 'kv_cache_agent.py');
  // The vendor SDK the agent imports at the top, as the zmq/statsd agents of the fleets do.
  writeFileSync(agent, readFileSync(agent, 'utf8').replace('import json\n', `import json\nimport ${MODULE}\n`));
  git('init', '-q', '-b', 'main');
  expect((await cliInProcess(root, ['init'])).exitCode).toBe(0);
  git('add', '-A');
  git('commit', '-q', '-m', 'fleet');
}, 120_000);

it('a _v2 that cannot start here for want of a module its legacy lacks too is not validated: failed in --json with validation.not_run, not-validated in status', async () => {
  const run = await cliInProcess(root, ['run', 'KVCacheAgent', '--no-commit', '--json']);
  const out = JSON.parse(run.stdout) as { results: Array<{ status: string; output: string | null; commit: string | null; error: string | null; validation: { ok: boolean; not_run?: string } }>; summary: Record<string, number> };
  const r = out.results[0]!;
  // DESIGN.md's five statuses in --json: failed (not migrated, nothing committed), told apart by not_run;
  // the people's output says not validated.
  expect(r.status, run.stdout).toBe('failed');
  expect(out.summary).toEqual({ failed: 1 });
  const human = await cliInProcess(root, ['run', 'KVCacheAgent', '--no-commit', '--force']);
  expect(human.stdout + human.stderr).toMatch(/not.validated/);
  expect(r.validation.ok).toBe(false);
  expect(r.validation.not_run).toBe(`ModuleNotFoundError: No module named '${MODULE}'`);
  expect(r.error).toMatch(/^validation: not run here: agents\/kv_cache_agent_v2\.py and its legacy agent both stop at start for want of a module/);
  expect(r.output).toBe('agents/kv_cache_agent_v2.py');
  expect(r.commit).toBeNull();
  // Nothing proven: no success for a CI gate.
  expect(run.exitCode).toBe(1);

  const status = JSON.parse((await cliInProcess(root, ['status', '--json'])).stdout) as { agents: Array<{ name: string; state: string }> };
  expect(status.agents.find((a) => a.name === 'KVCacheAgent')?.state).toBe('not-validated');
  // Not validated is not validated: commit refuses it as before.
  const commit = await cliInProcess(root, ['commit', 'KVCacheAgent']);
  expect(commit.exitCode, commit.stdout + commit.stderr).not.toBe(0);
  expect(git('log', '--oneline').trim().split('\n')).toHaveLength(1);
}, 180_000);

it('with a stub of the module on PYTHONPATH the same _v2 is validated for real', async () => {
  mkdirSync(stubs, { recursive: true });
  writeFileSync(path.join(stubs, `${MODULE}.py`), '"""Stand-in for the vendor SDK: the agent only imports it."""\n');
  const v = await cliInProcess(root, ['validate', 'KVCacheAgent', '--json'], { env: { PYTHONPATH: stubs } });
  const report = (JSON.parse(v.stdout) as { results: Array<{ validation: { ok: boolean; not_run?: string; checks: Array<{ name: string; ok: boolean; detail: string }> } }> }).results[0]!.validation;
  expect(report.not_run).toBeUndefined();
  expect(report.checks.filter((c) => !c.ok), v.stdout).toEqual([]);
  expect(v.exitCode).toBe(0);
  const status = JSON.parse((await cliInProcess(root, ['status', '--json'])).stdout) as { agents: Array<{ name: string; state: string }> };
  expect(status.agents.find((a) => a.name === 'KVCacheAgent')?.state).toBe('validated');
}, 180_000);
