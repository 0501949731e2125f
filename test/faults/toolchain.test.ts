// The tools migrate starts, broken on this machine: a `python3` that exits at once (a pyenv
// shim for a version that is not installed exits 127 at every start; here a script exiting 1)
// and a PATH without git. Neither may pass for a fact about the repository: a broken python3
// hid every agent (every file "refused", `scan --check` passed with legacy agents left,
// `status` said "no agents found"), and a missing git read as "not inside a git work tree".
import { chmodSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ajv } from 'ajv';
import { AGENT, baseline, cleanupAll, demoRepo, ensureBuilt, expectIntact, git, parseRun, resultOf, runInProcess, tag, tempDir } from './harness.js';

beforeAll(() => ensureBuilt(), 180_000);
afterAll(cleanupAll);

/** A folder for PATH holding `python3` as a shell script that exits 1, and the tools the tests need besides. */
function brokenPython3Path(): string {
  const bin = tempDir('migrate-broken-python3-');
  writeFileSync(path.join(bin, 'python3'), '#!/bin/sh\nexit 1\n');
  chmodSync(path.join(bin, 'python3'), 0o755);
  return `${bin}:${process.env.PATH}`;
}

describe('31. a python3 that exits at once', () => {
  it('judges no file: scan --check still fails on the legacy agents, status lists them, run fails each agent naming python3 and leaves nothing; with python3 back the rerun migrates; validate names python3, not the agent', async () => {
    const root = await demoRepo();
    const before = baseline(root);
    const env = { PATH: brokenPython3Path() };
    const t = tag();

    const check = await runInProcess(root, ['scan', '--check'], t, env);
    expect(check.exitCode, check.stderr).toBe(1);
    expect(check.stderr).toMatch(/^migrate: scan --check: 13 legacy agent\(s\) remain: /);
    expect(check.stdout).toMatch(/^KVCacheAgent +legacy /m);
    expect(check.stdout).not.toContain('python3 failed');

    const status = await runInProcess(root, ['status', '--json'], t, env);
    expect(status.exitCode, status.stderr).toBe(0);
    const rows = (JSON.parse(status.stdout) as { agents: Array<{ name: string; state: string }> }).agents;
    expect(rows.find((a) => a.name === AGENT)?.state).toBe('legacy');

    const r = await runInProcess(root, ['run', AGENT, '--json'], t, env);
    expect(r.exitCode, r.stderr).toBe(1);
    const res = resultOf(parseRun(r), AGENT);
    expect(res.status).toBe('failed');
    expect(res.error).toBe('verify: agents/kv_cache_agent_v2.py: python3 failed: exit code 1');
    await expectIntact(root, before, [t]);

    // python3 back: the failure was not kept as a verdict on the files (scan cache), the agent is found and migrated once.
    const again = await runInProcess(root, ['run', AGENT, '--no-validate', '--json'], tag());
    expect(again.exitCode, again.stderr).toBe(0);
    expect(resultOf(parseRun(again), AGENT).status).toBe('migrated');
    expect((await expectIntact(root, before, [])).map((c) => c.agent)).toEqual([AGENT]);

    // Validation with the broken python3 blames python3, not the agent (was "agent exited with
    // code 1 (no output)" for every check, legacy and _v2 alike), and starts nothing.
    const t2 = tag();
    const v = await runInProcess(root, ['validate', AGENT, '--json'], t2, env);
    expect(v.exitCode, v.stderr).toBe(1);
    const checks = (JSON.parse(v.stdout) as { results: Array<{ validation: { ok: boolean; checks: Array<{ ok: boolean; detail: string }> } }> }).results[0]!.validation;
    expect(checks.ok).toBe(false);
    for (const c of checks.checks.filter((x) => !x.ok)) {
      expect(c.detail).toBe(`agents/kv_cache_agent_v2.py: cannot prepare the launch command: python3 in ${root} exited with code 1 before running anything: no agent can be started with it; fix python3 on PATH`);
    }
    await expectIntact(root, before, [t2]);
  }, 120_000);
});

describe('32. a PATH without git, in a git repository', () => {
  it('run and revert name the missing git (not "not inside a git work tree") and change nothing; status says its states are read from the files alone', async () => {
    const root = await demoRepo();
    const migrated = await runInProcess(root, ['run', AGENT, '--no-validate'], tag());
    expect(migrated.exitCode, migrated.stderr).toBe(0);
    const before = baseline(root);
    // python3 only (the scan's compile check), no git.
    const bin = tempDir('migrate-no-git-');
    symlinkSync(execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim(), path.join(bin, 'python3'));
    const env = { PATH: bin };
    const missing = `git not found on PATH, so the git repository at ${root} cannot be read or committed to; install git or put it on PATH`;
    const t = tag();

    const run = await runInProcess(root, ['run', 'RateLimiterAgent', '--json'], t, env);
    expect(run.exitCode).toBe(2);
    // --json: the refusal as its one document (schemas/error.schema.json), the line on stderr.
    expect(JSON.parse(run.stdout)).toEqual({ error: { code: 'git-missing', message: `${missing} (run --no-commit needs none)`, file: null, line: null, exit_code: 2 } });
    expect(run.stderr).toBe(`migrate: ${missing} (run --no-commit needs none)`);

    const revert = await runInProcess(root, ['revert', AGENT], t, env);
    expect(revert.exitCode).toBe(2);
    expect(revert.stderr).toBe(`migrate: ${missing} (run --no-commit needs none)`);

    const status = await runInProcess(root, ['status'], t, env);
    expect(status.exitCode, status.stderr).toBe(0);
    expect(status.stderr).toContain(`migrate: note: ${missing}: the states below are read from the files alone, not from the commits`);
    // --json says it too, in a field of its own (a script reads no stderr note), within status's schema.
    const json = await runInProcess(root, ['status', '--json'], t, env);
    const out = JSON.parse(json.stdout) as { git_missing?: string; agents: Array<{ name: string; state: string }> };
    expect(out.git_missing).toBe(missing);
    expect(out.agents.find((a) => a.name === AGENT)!.state).not.toBe('committed');
    const schema = new Ajv({ allErrors: true }).compile(JSON.parse(readFileSync(path.join(import.meta.dirname, '../../schemas/status.schema.json'), 'utf8')));
    expect(schema(out), JSON.stringify(schema.errors)).toBe(true);
    await expectIntact(root, before, [t]);
    // With git there, no such field.
    expect(JSON.parse((await runInProcess(root, ['status', '--json'], tag())).stdout)).not.toHaveProperty('git_missing');

    // git back: the same revert goes through.
    const again = await runInProcess(root, ['revert', AGENT], tag());
    expect(again.exitCode, again.stderr).toBe(0);
    expect(git(root, ['rev-parse', 'HEAD~1'])).toBe(before.head);
  }, 120_000);
});
