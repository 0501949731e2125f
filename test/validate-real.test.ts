// "real": validation against a real Redis registry and a real Prometheus
// Pushgateway (Debian packages redis-server and prometheus-pushgateway), each
// started here on a free loopback port and killed after. In CI (process.env.CI)
// a missing binary fails the suite; elsewhere these tests are skipped with a note.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createClient } from 'redis';
import type { AgentInfo, CheckName, ValidationReport } from '../src/core/types.js';
import { loadProfile } from '../src/profile/profile.js';
import { startValidationEnvironment, type ValidationEnvironment } from '../src/validate/environment.js';
import { validateAgent, type ValidateAgentOptions } from '../src/validate/validate-agent.js';
import { allocatePorts } from '../src/validate/ports.js';
import { startAgent, type AgentProcess } from '../src/validate/runner.js';
import { liveGroups } from '../src/validate/process-group.js';

const REDIS = '/usr/bin/redis-server';
const PUSHGATEWAY = '/usr/bin/prometheus-pushgateway';
const missing = [REDIS, PUSHGATEWAY].filter((b) => !existsSync(b));
if (missing.length && process.env.CI) {
  throw new Error(`real validation tests need ${missing.join(' and ')} (CI installs redis-server and prometheus-pushgateway)`);
}
if (missing.length) console.warn(`validate-real: skipped, ${missing.join(' and ')} not installed`);

const FIXTURES = path.resolve(__dirname, '..', 'fixtures', 'validate');
const profile = loadProfile('base-agent');

function options(root: string, stem: string, name: string, env: ValidationEnvironment, extra: Partial<ValidateAgentOptions> = {}): ValidateAgentOptions {
  const agent: AgentInfo = { name, file: `agents/${stem}.py`, language: 'python', class: name, status: 'legacy', findings: [], line: 1, evidence: [] };
  return {
    root,
    agent,
    file: path.join(root, 'agents', `${stem}_v2.py`),
    profile,
    env,
    // 15 s, the product's health and metrics deadline: a passing check ends at its first success,
    // and a python3 start with its first registration and push can take longer than 5 s on a
    // loaded 2-core machine. The checks meant to fail set their own deadlines.
    healthDeadlineMs: 15_000,
    registryDeadlineMs: 15_000,
    metricsDeadlineMs: 15_000,
    // The product's default: the base's own stop watchdog is 3 s, and its teardown (Redis DEL,
    // a final Pushgateway PUT) can take that long on a loaded machine (stop 30 failed at 3 s).
    shutdownDeadlineMs: 5000,
    ...extra,
  };
}

const check = (r: ValidationReport, n: CheckName) => r.checks.find((c) => c.name === n)!;

async function waitUntil(what: string, probe: () => Promise<boolean>, proc: AgentProcess): Promise<void> {
  const end = Date.now() + 10_000;
  while (Date.now() < end) {
    if (proc.exited()) throw new Error(`${what} exited: ${proc.output().slice(-300)}`);
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not start within 10 s: ${proc.output().slice(-300)}`);
}

describe.skipIf(missing.length > 0)('real Redis registry and Prometheus Pushgateway', () => {
  let redis: AgentProcess;
  let gateway: AgentProcess;
  let redisUrl: string;
  let gatewayUrl: string;
  let env: ValidationEnvironment;

  beforeAll(async () => {
    const [rp, gp] = await allocatePorts(2);
    redisUrl = `redis://127.0.0.1:${rp}`;
    gatewayUrl = `http://127.0.0.1:${gp}`;
    const base = { env: { ...process.env }, cwd: FIXTURES, timeLimitMs: 120_000 };
    redis = startAgent({ ...base, command: REDIS, args: ['--port', String(rp), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'] });
    gateway = startAgent({ ...base, command: PUSHGATEWAY, args: [`--web.listen-address=127.0.0.1:${gp}`] });
    await waitUntil('redis-server', async () => {
      const c = createClient({ url: redisUrl, socket: { reconnectStrategy: false } });
      c.on('error', () => {});
      await c.connect();
      await c.ping();
      await c.disconnect();
      return true;
    }, redis);
    await waitUntil('prometheus-pushgateway', async () => (await fetch(`${gatewayUrl}/-/ready`)).ok, gateway);
    env = await startValidationEnvironment({ registryUrl: redisUrl, metricsUrl: gatewayUrl });
  });

  afterAll(async () => {
    await env?.close();
    await redis?.killGroup();
    await gateway?.killGroup();
    expect(liveGroups()).toEqual([]);
  });

  it('a migrated agent registers in Redis and pushes to the Pushgateway', async () => {
    expect(env.embedded).toBe(false);
    const r = await validateAgent(options(path.join(FIXTURES, 'fleet'), 'async_processor', 'AsyncProcessor', env));
    // The failing checks with their details first: a bare list of booleans said nothing in CI.
    expect(r.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`)).toEqual([]);
    expect(r.checks.map((c) => [c.name, c.ok])).toEqual([
      ['health', true],
      ['registry', true],
      ['metrics', true],
      ['survival', true],
      ['ports', true],
      ['shutdown', true],
      ['deregister', true],
      ['log', true],
    ]);
    expect(check(r, 'registry').detail).toMatch(new RegExp(`^AsyncProcessor registered in redis ${redisUrl} after \\d+\\.\\d s$`));
    expect(check(r, 'metrics').detail).toMatch(new RegExp(`labelled AsyncProcessor at Pushgateway ${gatewayUrl} after`));
    // What the Pushgateway itself holds: the agent's samples under job="AsyncProcessor".
    const text = await (await fetch(`${gatewayUrl}/metrics`)).text();
    expect(text).toMatch(/tasks_processed_total\{agent="AsyncProcessor",instance="",job="AsyncProcessor"\} \d+/);
  });

  it('a stale Redis record of another pid does not count as registration', async () => {
    const c = createClient({ url: redisUrl });
    await c.connect();
    await c.hSet('agent:LateRegister', { name: 'LateRegister', pid: '1' });
    await c.disconnect();
    const r = await validateAgent(
      options(path.join(FIXTURES, 'broken'), 'late_register', 'LateRegister', env, { registryDeadlineMs: 1000, baseEnv: { ...process.env, REGISTER_DELAY_S: '30' } }),
    );
    expect(check(r, 'registry').detail).toMatch(/^LateRegister not registered after 1\.0 s; redis redis:\/\/127\.0\.0\.1:\d+ only holds a stale record of pid 1 \(agent pid \d+\)$/);
  });

  it('samples from an earlier push to the Pushgateway do not count', async () => {
    const put = await fetch(`${gatewayUrl}/metrics/job/NoPush`, { method: 'PUT', body: '# TYPE agent_up gauge\nagent_up{agent="NoPush"} 1\n' });
    expect(put.status).toBe(200);
    await new Promise((r) => setTimeout(r, 1100)); // the earlier push must be older than the run (1 s skew allowed)
    // The deadline runs from the agent's spawn, and the "(its own /metrics has" hint is read once
    // when it ends: the agent must be serving by then. 10 s (not 1 s) leaves a python3 start on
    // a loaded machine the time it needs; the earlier push is stale however long we wait.
    const r = await validateAgent(options(path.join(FIXTURES, 'broken'), 'no_push', 'NoPush', env, { metricsDeadlineMs: 10_000, healthDeadlineMs: 10_000 }));
    expect(check(r, 'metrics').detail).toMatch(/^no sample labelled agent="NoPush" or job="NoPush" at Pushgateway .* after 10\.0 s; only samples from an earlier push \(its own \/metrics has/);
  });

  it('a registry that is down (Redis on a port nothing listens on)', async () => {
    const [dead] = await allocatePorts(1);
    const down = await startValidationEnvironment({ registryUrl: `redis://127.0.0.1:${dead}`, metricsUrl: gatewayUrl });
    try {
      const r = await validateAgent(options(path.join(FIXTURES, 'fleet'), 'memory_cache', 'MemoryCache', down, { registryDeadlineMs: 1000 }));
      expect(check(r, 'registry').detail).toBe('MemoryCache not registered after 1.0 s; last registry error: connection refused');
      expect(r.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['registry']);
    } finally {
      await down.close();
    }
  });

  it('scrape mode reads the agent\'s own /metrics', async () => {
    const scrape = await startValidationEnvironment({ registryUrl: redisUrl, metricsUrl: 'scrape' });
    try {
      const r = await validateAgent(options(path.join(FIXTURES, 'broken'), 'no_push', 'NoPush', scrape));
      expect(check(r, 'metrics')).toMatchObject({ ok: true });
      expect(check(r, 'metrics').detail).toMatch(/labelled NoPush at the agent's \/metrics \(port \d+\)/);
    } finally {
      await scrape.close();
    }
  });
});
