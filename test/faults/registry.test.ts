// Faults of the registry and the endpoints (issue 11, items 1, 9 and 15): an agent that
// never registers must not pass on someone else's registration (the legacy baseline's, a
// stale Redis entry, a bare set member); credentials never appear in clear; a registry
// that cannot be reached or refuses our password fails the run at once, before anything
// is written. Real repositories, the built CLI, real agents and a real redis-server.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRegistry } from '../../src/validate/checks/registry.js';
import { startEmbeddedRegistry } from '../../src/validate/embedded-registry.js';
import {
  AGENT,
  baseline,
  cleanupAll,
  demoRepo,
  ensureBuilt,
  expectIntact,
  freePort,
  git,
  hasRedis,
  tag,
  parseRun,
  patchFleetCommon,
  redisDo,
  resultOf,
  run,
  runInProcess,
  startRedis,
  unpatchFleetCommon,
} from './harness.js';

beforeAll(() => ensureBuilt(), 180_000);
afterAll(cleanupAll);

// The repro of the issue: the migrated agent drops REGISTRY_URL, so it never registers.
const DROP_REGISTRY = `
import os as _fault_os, sys as _fault_sys
if _fault_sys.argv[0].endswith("_v2.py"):
    _fault_os.environ.pop("REGISTRY_URL", None)
`;

const registryCheck = (r: ReturnType<typeof resultOf>) => r.validation!.checks.find((c) => c.name === 'registry')!;

describe('1. only the agent\'s own registration, made after it started, passes', () => {
  it('embedded registry: the legacy baseline registering does not count; nothing is committed; the fixed agent then commits once', async () => {
    const root = await demoRepo();
    patchFleetCommon(root, DROP_REGISTRY);
    const before = baseline(root);
    const t1 = tag();
    const r = await run(root, ['run', AGENT, '--profile', 'fast', '--json'], t1);
    expect(r.exitCode, r.stderr).toBe(1);
    const res = resultOf(parseRun(r), AGENT);
    expect({ status: res.status, commit: res.commit, output: res.output }).toEqual({ status: 'failed', commit: null, output: null });
    expect(registryCheck(res)).toMatchObject({ ok: false });
    expect(registryCheck(res).detail).toMatch(/^KVCacheAgent not registered after 3\.0 s; the embedded registry answered but has no entry/);
    // The other checks passed: only the registry check caught it.
    expect(res.validation!.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['registry']);
    await expectIntact(root, before, [t1]);

    unpatchFleetCommon(root);
    const fixed = baseline(root);
    const t2 = tag();
    const again = await run(root, ['run', AGENT, '--profile', 'fast', '--json'], t2);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(registryCheck(resultOf(parseRun(again), AGENT)).detail).toMatch(/^KVCacheAgent registered in the embedded registry after \d+\.\d s$/);
    const commits = await expectIntact(root, fixed, [t2]);
    expect(commits.map((c) => c.agent)).toEqual([AGENT]);
  }, 120_000);

  it.skipIf(!hasRedis)('Redis: a bare member of "agents" and a stale hash of another pid do not pass; the agent\'s own registration does', async () => {
    const redis = await startRedis();
    try {
      const root = await demoRepo();
      patchFleetCommon(root, DROP_REGISTRY);
      const before = baseline(root);
      await redisDo(redis.url, (c) => c.sAdd('agents', AGENT));
      const t1 = tag();
      const member = await run(root, ['run', AGENT, '--profile', 'fast', '--json', '--registry-url', redis.url], t1);
      expect(member.exitCode, member.stderr).toBe(1);
      expect(registryCheck(resultOf(parseRun(member), AGENT)).detail).toMatch(/only lists KVCacheAgent in the set "agents", which cannot tell who registered it/);

      // An earlier run's full record: another pid, an hour old.
      await redisDo(redis.url, (c) => c.hSet(`agent:${AGENT}`, { name: AGENT, pid: '999999', registered_at: String(Date.now() / 1000 - 3600) }));
      const t2 = tag();
      const stale = await run(root, ['run', AGENT, '--profile', 'fast', '--json', '--registry-url', redis.url], t2);
      expect(stale.exitCode, stale.stderr).toBe(1);
      expect(registryCheck(resultOf(parseRun(stale), AGENT)).detail).toMatch(/only holds a stale record of pid 999999 \(agent pid \d+\)/);
      await expectIntact(root, before, [t1, t2]);

      unpatchFleetCommon(root);
      const fixed = baseline(root);
      const t3 = tag();
      const ok = await run(root, ['run', AGENT, '--profile', 'fast', '--json', '--registry-url', redis.url], t3);
      expect(ok.exitCode, ok.stderr).toBe(0);
      expect(registryCheck(resultOf(parseRun(ok), AGENT)).detail).toMatch(new RegExp(`^KVCacheAgent registered in redis ${redis.url} after`));
      expect((await expectIntact(root, fixed, [t3])).map((c) => c.agent)).toEqual([AGENT]);
    } finally {
      await redis.stop();
    }
  }, 120_000);
});

describe('1. the embedded registry: an agent that registers outside its scope', () => {
  it('counts only when the registration came after the agent started (and names its pid)', async () => {
    const reg = await startEmbeddedRegistry();
    try {
      const post = (record: object) => fetch(`${reg.url}/register`, { method: 'POST', body: JSON.stringify(record), headers: { 'Content-Type': 'application/json' } });
      // Before the agent started: the legacy baseline, an earlier run.
      await post({ name: 'Scoped', pid: process.pid });
      await new Promise((r) => setTimeout(r, 20));
      const startedAt = Date.now();
      const stale = await checkRegistry({ kind: 'embedded', url: reg.scoped('s1'), name: 'Scoped', pid: process.pid, startedAt, deadlineMs: 300 });
      expect(stale.ok).toBe(false);
      expect(stale.detail).toMatch(/only holds a record from .*, before the agent started$/);
      // After it started, at the root (its code dropped the path of REGISTRY_URL), with its pid.
      await post({ name: 'Scoped', pid: process.pid });
      const fresh = await checkRegistry({ kind: 'embedded', url: reg.scoped('s2'), name: 'Scoped', pid: process.pid, startedAt, deadlineMs: 2000 });
      expect(fresh.ok, fresh.detail).toBe(true);
      // ... but not with another process's pid.
      await post({ name: 'Scoped', pid: 1 });
      const other = await checkRegistry({ kind: 'embedded', url: reg.scoped('s3'), name: 'Scoped', pid: process.pid, startedAt, deadlineMs: 300 });
      expect(other.detail).toMatch(/only holds a stale record of pid 1 /);
    } finally {
      await reg.close();
    }
  });
});

describe('15. a registry that cannot work fails at once, before anything is written', () => {
  it('unreachable: exit 2 with one line, nothing written', async () => {
    const root = await demoRepo();
    const before = baseline(root);
    const t = tag();
    const started = Date.now();
    const r = await runInProcess(root, ['run', AGENT, '--profile', 'fast', '--json', '--registry-url', `redis://127.0.0.1:${await freePort()}`], t);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
    expect(r.stderr).toMatch(/^migrate: cannot validate: registry redis:\/\/127\.0\.0\.1:\d+ is unreachable: connection refused$/m);
    expect(Date.now() - started, 'not one 30 s registry deadline').toBeLessThan(30_000);
    await expectIntact(root, before, [t]);
  }, 60_000);

  it.skipIf(!hasRedis)('a wrong password: exit 2, the password never shown; the check itself does not retry what cannot heal', async () => {
    const redis = await startRedis(['--requirepass', 'right-pass']);
    try {
      const root = await demoRepo();
      const before = baseline(root);
      const t = tag();
      const url = `redis://:wrong-pass@127.0.0.1:${redis.port}`;
      const r = await runInProcess(root, ['run', AGENT, '--profile', 'fast', '--json'], t, { MIGRATE_REGISTRY_URL: url });
      expect(r.exitCode).toBe(2);
      expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
      expect(r.stderr).toMatch(/refused the credentials/);
      expect(r.stderr).not.toContain('wrong-pass');
      expect(r.stderr).toContain(':***@127.0.0.1');
      await expectIntact(root, before, [t]);

      // Inside a validation: a permanent error ends the check now, not at its 30 s deadline.
      const check = await checkRegistry({ kind: 'redis', url, name: AGENT, startedAt: Date.now(), deadlineMs: 30_000 });
      expect(check.ok).toBe(false);
      expect(check.detail).toMatch(/refused the credentials .*not retried/);
      expect(check.ms).toBeLessThan(30_000);
    } finally {
      await redis.stop();
    }
  }, 60_000);

  it('a registry that keeps refusing connections during a check is called down after 3 s, not after the 30 s deadline', async () => {
    const port = await freePort();
    const check = await checkRegistry({ kind: 'http', url: `http://127.0.0.1:${port}`, name: AGENT, startedAt: Date.now(), deadlineMs: 30_000 });
    expect(check.ok).toBe(false);
    expect(check.detail).toMatch(/refused connections for 3\.0 s; it is down$/);
    expect(check.ms).toBeLessThan(30_000);
  }, 40_000);
});

describe('9. credentials never appear in clear', () => {
  it.skipIf(!hasRedis)('a Redis password from MIGRATE_REGISTRY_URL: the run passes; output, record and cache never hold it', async () => {
    const redis = await startRedis(['--requirepass', 's3cret-pw']);
    try {
      const root = await demoRepo();
      const before = baseline(root);
      const t = tag();
      const r = await run(root, ['run', AGENT, '--profile', 'fast', '--json'], t, { MIGRATE_REGISTRY_URL: `redis://:s3cret-pw@127.0.0.1:${redis.port}` });
      expect(r.exitCode, r.stderr).toBe(0);
      const res = resultOf(parseRun(r), AGENT);
      expect(registryCheck(res).detail).toMatch(/registered in redis redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ after/);
      const commits = await expectIntact(root, before, [t]);
      const record = git(root, ['show', `${commits[0]!.sha}:migration-log/${AGENT}.json`]);
      const cacheDir = path.join(root, '.git', 'migrate', 'validated');
      const cache = existsSync(cacheDir) ? readdirSync(cacheDir).map((f) => readFileSync(path.join(cacheDir, f), 'utf8')).join('\n') : '';
      for (const text of [r.stdout, r.stderr, record, cache, git(root, ['log', '-1', '--format=%B'])]) expect(text).not.toContain('s3cret-pw');
    } finally {
      await redis.stop();
    }
  }, 90_000);

  it('agent log lines with password=, token= and Authorization: are masked in --json and the validation cache (records hold the same redacted report)', async () => {
    const root = await demoRepo();
    patchFleetCommon(
      root,
      `
import logging as _fault_logging, sys as _fault_sys
if _fault_sys.argv[0].endswith("_v2.py"):
    _fault_logging.basicConfig()
    _fault_logging.getLogger("fault").error("connecting to db with password=hunter2 token=tok-123 Authorization: Bearer bear-456 url=http://bob:pw-789@db.local/x")
`,
    );
    const before = baseline(root);
    const t = tag();
    const r = await run(root, ['run', AGENT, '--profile', 'fast', '--json', '--no-commit'], t);
    expect(r.exitCode, r.stderr).toBe(1);
    const log = resultOf(parseRun(r), AGENT).validation!.checks.find((c) => c.name === 'log')!;
    expect(log.ok).toBe(false);
    expect(log.detail).toMatch(/password=\*\*\* token=\*\*\* Authorization: Bearer \*\*\* url=http:\/\/bob:\*\*\*@db\.local/);
    const cacheDir = path.join(root, '.git', 'migrate', 'validated');
    const cache = existsSync(cacheDir) ? readdirSync(cacheDir).map((f) => readFileSync(path.join(cacheDir, f), 'utf8')).join('\n') : '';
    for (const secret of ['hunter2', 'tok-123', 'bear-456', 'pw-789']) {
      expect(r.stdout).not.toContain(secret);
      expect(cache).not.toContain(secret);
    }
    // --no-commit keeps a failed _v2 for inspection: the only file the run leaves.
    expect(git(root, ['status', '--porcelain'])).toBe('?? agents/kv_cache_agent_v2.py');
    git(root, ['clean', '-fdq', '--', 'agents']);
    await expectIntact(root, before, [t]);
  }, 90_000);
});
