// Issue 5's end-to-end promise: a repository holding Python and TypeScript agents
// migrates, validates (real child processes, embedded registry and metrics sink) and
// commits in one `migrate run --all`, one commit per agent, and either language's agent
// can be reverted afterwards.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliInProcess } from './helpers/cli.js';

const REPO = path.resolve(import.meta.dirname, '..');
const CLI = path.join(REPO, 'bin', 'migrate.js');
const PY_AGENTS = ['kv_cache_agent.py', 'rate_limiter_agent.py', 'translation_memory_agent.py'];
const TS_AGENTS: Array<[string, string]> = [
  ['http-health-interval', 'order_router.ts'],
  ['cjs-require-plain', 'audit_trail.ts'],
];
let root: string;

const git = (...args: string[]) => execa('git', args, { cwd: root });
const migrate = (...args: string[]) => execa(process.execPath, [CLI, ...args, '--root', root], { cwd: root, reject: false });
// The commands that start no agent run inside this process (the built CLI's main(), as
// test/cli-in-process.test.ts compares with the spawned one): a Node start and the CLI's module
// loading less each. The validating run --all stays a spawned CLI, as a user runs it.
const migrateInProcess = (...args: string[]) => cliInProcess(root, args);

beforeAll(async () => {
  if (!existsSync(path.join(REPO, 'dist', 'src', 'cli.js'))) await execa('npm', ['run', 'build'], { cwd: REPO });
  root = mkdtempSync(path.join(os.tmpdir(), 'migrate-mixed-'));
  const fleet = path.join(REPO, 'fixtures', 'demo-fleet');
  mkdirSync(path.join(root, 'agents'));
  for (const f of [...PY_AGENTS, 'fleet_common.py']) cpSync(path.join(fleet, 'agents', f), path.join(root, 'agents', f));
  cpSync(path.join(fleet, '.gitignore'), path.join(root, '.gitignore'));
  mkdirSync(path.join(root, 'services'));
  for (const [c, name] of TS_AGENTS) cpSync(path.join(REPO, 'fixtures', 'typescript', c, 'input.ts'), path.join(root, 'services', name));
  await git('init', '-q', '-b', 'main');
  await git('config', 'user.name', 'Test');
  await git('config', 'user.email', 'test@example.invalid');
  expect((await migrateInProcess('init', '--lang', 'python')).exitCode).toBe(0);
  expect((await migrateInProcess('init', '--lang', 'typescript')).exitCode).toBe(0);
  await git('add', '-A');
  await git('commit', '-q', '-m', 'fleet');
}, 120_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('mixed Python and TypeScript repository', () => {
  it('migrates, validates and commits every agent in one run --all', async () => {
    const run = await migrate('run', '--all', '--json', '--concurrency', '3');
    expect(run.stderr).not.toMatch(/MaxListenersExceeded/);
    const out = JSON.parse(run.stdout) as { results: Array<{ agent: string; file: string; status: string; commit: string | null; output: string | null; validation: { ok: boolean } | null; error: string | null }> };
    expect(out.results).toHaveLength(PY_AGENTS.length + TS_AGENTS.length);
    for (const r of out.results) {
      expect(r.error, `${r.agent}: ${r.error}`).toBeNull();
      expect(['migrated', 'needs-review']).toContain(r.status);
      expect(r.validation?.ok, r.agent).toBe(true);
      expect(r.commit).toMatch(/^[0-9a-f]{40}$/);
      const files = (await git('show', '--name-only', '--format=', r.commit!)).stdout.trim().split('\n').sort();
      expect(files).toEqual([r.output!, `migration-log/${r.agent}.json`].sort());
      const record = JSON.parse(readFileSync(path.join(root, 'migration-log', `${r.agent}.json`), 'utf8'));
      expect(record.language).toBe(r.file.endsWith('.ts') ? 'typescript' : 'python');
    }
    expect(run.exitCode).toBe(0);
    expect((await git('status', '--porcelain')).stdout).toBe('');
    const langs = new Set(out.results.map((r) => path.extname(r.file)));
    expect(langs).toEqual(new Set(['.py', '.ts']));
  }, 180_000);

  it('reverts one agent of each language and leaves the others', async () => {
    for (const agent of ['OrderRouter', 'KVCacheAgent']) {
      const r = await migrateInProcess('revert', agent);
      expect(r.exitCode, r.stderr).toBe(0);
    }
    expect(existsSync(path.join(root, 'services', 'order_router_v2.ts'))).toBe(false);
    expect(existsSync(path.join(root, 'agents', 'kv_cache_agent_v2.py'))).toBe(false);
    expect(existsSync(path.join(root, 'services', 'audit_trail_v2.ts'))).toBe(true);
    expect(existsSync(path.join(root, 'agents', 'rate_limiter_agent_v2.py'))).toBe(true);
    const status = JSON.parse((await migrateInProcess('status', '--json')).stdout) as { agents: Array<{ name: string; state: string }> };
    const state = Object.fromEntries(status.agents.map((a) => [a.name, a.state]));
    expect(state).toMatchObject({ OrderRouter: 'reverted', KVCacheAgent: 'reverted', AuditTrail: 'committed', RateLimiterAgent: 'committed' });
  }, 60_000);

  it('applies a user transform (jscodeshift format) after the profile, inside the same pipeline', async () => {
    cpSync(path.join(REPO, 'fixtures', 'typescript', 'settimeout-chain', 'input.ts'), path.join(root, 'services', 'ticker.ts'));
    await git('add', '-A');
    await git('commit', '-q', '-m', 'another agent');
    const transform = path.join(REPO, 'transforms', 'examples', 'rename-logger.js');
    const run = await migrateInProcess('run', 'services/ticker.ts', '--transform', transform, '--no-validate', '--json');
    expect(run.exitCode, run.stderr).toBe(0);
    const [r] = (JSON.parse(run.stdout) as { results: Array<{ output: string; commit: string }> }).results;
    const out = readFileSync(path.join(root, r!.output), 'utf8');
    const legacy = readFileSync(path.join(root, 'services', 'ticker.ts'), 'utf8');
    expect(legacy).toMatch(/console\.log\(/);
    expect(out).toMatch(/this\.logger\.info\(/);
    expect((await git('show', '--name-only', '--format=', r!.commit)).stdout).toContain('services/ticker_v2.ts');
  }, 60_000);
});
