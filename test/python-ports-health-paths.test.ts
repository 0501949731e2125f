// pyleft51-liveness-own-port-business-listener: the legacy agent's health is an HTTP server of its own on
// a literal 7517 answering GET /live and GET /ping ("pong") only, beside its business listener on 7516; the
// rewrite removes the liveness server (the base serves /health on HEALTH_CHECK_PORT). The validator's
// probe of the legacy's ports asked /health and /healthz only, so 7517 read as a business port the _v2
// dropped and the ports check failed (before the fix: the Python scan left AgentInfo.health_paths unset).
// The scan now reads the paths that server answers from the code, as the TypeScript scan does, and the
// probe asks them: 7517 pairs with the _v2's health port. A _v2 that drops the business listener must still
// fail, naming 7516.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliInProcess, ensureBuilt, REPO } from './helpers/cli.js';
import { loadProfile } from '../src/profile/profile.js';
import { scanRepository } from '../src/discover/scan.js';

const FIXTURE = path.join(REPO, 'fixtures', 'python', 'pyleft51-liveness-own-port-business-listener');
const AGENT = 'agents/rate_limit_gate_agent.py';
const roots: string[] = [];
beforeAll(() => ensureBuilt(), 180_000);
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** The legacy agent and `v2` as its _v2 sibling (none when null), with the reference BaseAgent, committed in a fresh repository. */
function repo(v2: string | null): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-py-ports-'));
  roots.push(root);
  mkdirSync(path.join(root, path.dirname(AGENT)), { recursive: true });
  writeFileSync(path.join(root, AGENT), readFileSync(path.join(FIXTURE, 'input.py'), 'utf8'));
  if (v2 !== null) writeFileSync(path.join(root, AGENT.replace(/\.py$/, '_v2.py')), v2);
  cpSync(path.join(REPO, 'templates', 'runtime', 'python', 'common'), path.join(root, 'common'), { recursive: true });
  const git = (...args: string[]) => execFileSync('git', args, { cwd: root, stdio: 'ignore' });
  git('init', '-q');
  git('add', '-A');
  git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'fixture');
  return root;
}

async function portsCheck(root: string): Promise<{ code: number; ports: { ok: boolean; detail: string } }> {
  // In process (test/cli-in-process.test.ts): the same command, without a Node start and module loading.
  const r = await cliInProcess(root, ['validate', 'RateLimitGateAgent', '--json'], { env: { MIGRATE_SURVIVAL_WINDOW_S: '2', MIGRATE_LEGACY_WINDOW_S: '2' } });
  const checks = JSON.parse(r.stdout).results[0].validation.checks as Array<{ name: string; ok: boolean; detail: string }>;
  return { code: r.exitCode, ports: checks.find((c) => c.name === 'ports')! };
}

describe('a Python legacy health server on a port of its own answering /live and /ping only', () => {
  const expected = readFileSync(path.join(FIXTURE, 'expected.py'), 'utf8');

  it('the scan records the paths that server answers (AgentInfo.health_paths)', async () => {
    const scan = await scanRepository(repo(null), loadProfile('base-agent'));
    const agent = scan.agents.find((a) => a.file === AGENT);
    expect(agent?.health_paths).toEqual(['/live', '/ping']);
  });

  it('the rewrite (the base serving /health instead) passes the ports check, 7517 paired as the health port', async () => {
    const { code, ports } = await portsCheck(repo(expected));
    expect(ports.ok, ports.detail).toBe(true);
    expect(ports.detail).toMatch(/legacy 7517, its health port/);
    expect(code).toBe(0);
  }, 120_000);

  it('a broken rewrite whose business listener moved off 7516 fails it, naming 7516', async () => {
    // Its listener on a port of the kernel's choosing instead of 7516.
    const broken = expected.replace('self.server.bind(("127.0.0.1", GATE_PORT))', 'self.server.bind(("127.0.0.1", 0))');
    expect(broken).not.toBe(expected);
    const { code, ports } = await portsCheck(repo(broken));
    expect(ports.ok, ports.detail).toBe(false);
    expect(ports.detail).toMatch(/does not listen on 7516/);
    expect(code).toBe(1);
  }, 120_000);
});
