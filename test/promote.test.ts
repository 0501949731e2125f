// `migrate promote` end to end on the demo fleet (real git repositories, real
// validation): both modes cut over in one commit, the promoted agent starts from the
// config's script_path and passes validation, `revert` undoes the promotion first and
// leaves the YAML byte-identical, and every refusal leaves the repository untouched.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Ajv } from 'ajv';
import YAML from 'yaml';
import { cliInProcess, commitAll, ensureBuilt, git, gitRepo, killAgentProcessesUnder, REPO, sha256, spawnCli, waitFor } from './helpers/cli.js';

const DEMO = path.join(REPO, 'fixtures', 'demo-fleet');
const CONFIG = 'config/startup_config.yaml';
const temps: string[] = [];

beforeAll(() => ensureBuilt(), 180_000);
afterEach(() => {
  killAgentProcessesUnder(temps);
});
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

let template: string | undefined;
/**
 * The demo fleet with the reference base, a config whose KVCacheAgent entry carries a
 * quoted value and a trailing comment, a tool that imports from the rate limiter, and
 * three committed migrations: KVCacheAgent and RateLimiterAgent validated,
 * TextStatsAgent committed with --no-validate. Made once, copied per test.
 */
async function fleet(): Promise<string> {
  if (!template) {
    const t = gitRepo(DEMO, 'migrate-promote-template-');
    temps.push(t);
    const config = readFileSync(path.join(t, CONFIG), 'utf8').replace(
      'script_path: agents/kv_cache_agent.py\n',
      'script_path: "agents/kv_cache_agent.py"   # the cache first: the others depend on it\n',
    );
    writeFileSync(path.join(t, CONFIG), config);
    mkdirSync(path.join(t, 'tools'));
    writeFileSync(
      path.join(t, 'tools', 'limits_report.py'),
      [
        '"""Print the configured rate limits (ops tool, run by hand)."""',
        'import sys',
        'from pathlib import Path',
        '',
        'sys.path.insert(0, str(Path(__file__).resolve().parent.parent))',
        'from agents.rate_limiter_agent import DEFAULT_LIMITS, RateLimiterAgent  # noqa: E402',
        'import agents.rate_limiter_agent as limiter  # noqa: E402',
        '',
        'for name, (rate, burst) in sorted(DEFAULT_LIMITS.items()):',
        '    print(f"{name}: {rate}/s, burst {burst}, tick {limiter.TICK_SECONDS}s ({RateLimiterAgent.__name__})")',
        '',
      ].join('\n'),
    );
    const init = await cliInProcess(t, ['init', '--lang', 'python']);
    expect(init.exitCode, init.stderr).toBe(0);
    commitAll(t, 'the reference BaseAgent, a quoted script_path, an ops tool');
    const run = await cliInProcess(t, ['run', 'KVCacheAgent', 'RateLimiterAgent', '--json'], { timeout: 240_000 });
    const results = JSON.parse(run.stdout).results as Array<{ agent: string; commit: string | null; validation: { ok: boolean } | null }>;
    for (const r of results) expect([r.agent, !!r.commit, r.validation?.ok], run.stdout).toEqual([r.agent, true, true]);
    const unvalidated = await cliInProcess(t, ['run', 'TextStatsAgent', '--no-validate', '--json']);
    expect(JSON.parse(unvalidated.stdout).results[0].commit, unvalidated.stdout).toBeTruthy();
    template = t;
  }
  const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-promote-'));
  temps.push(root);
  cpSync(template, root, { recursive: true });
  return root;
}

function head(root: string): string {
  return git(root, ['rev-parse', 'HEAD']);
}

function touched(root: string, rev = 'HEAD'): string[] {
  return git(root, ['diff-tree', '--no-commit-id', '--name-only', '-r', rev]).split('\n').filter(Boolean).sort();
}

function configScript(root: string, name: string): string {
  const doc = YAML.parse(readFileSync(path.join(root, CONFIG), 'utf8'));
  for (const group of Object.values(doc.agent_groups as Record<string, Record<string, { script_path: string }>>)) {
    if (group[name]) return group[name].script_path;
  }
  return (doc.pc2_services as Array<{ name: string; script_path: string }>).find((s) => s.name === name)!.script_path;
}

function state(root: string, agent: string): Promise<string> {
  return cliInProcess(root, ['status', '--json']).then((r) => JSON.parse(r.stdout).agents.find((a: { name: string }) => a.name === agent).state);
}

const recordSchema = JSON.parse(readFileSync(path.join(REPO, 'migration-log', 'record.schema.json'), 'utf8'));
const validRecord = new Ajv({ allErrors: true }).compile(recordSchema);
/** `promote --json` as schemas/promote.schema.json says (what the README points users to). */
const validPromote = new Ajv({ allErrors: true }).compile(JSON.parse(readFileSync(path.join(REPO, 'schemas', 'promote.schema.json'), 'utf8')));
function promoteJson(stdout: string): { results: Array<Record<string, unknown>> } {
  const data = JSON.parse(stdout);
  expect(validPromote(data), `promote --json: ${JSON.stringify(validPromote.errors)}`).toBe(true);
  return data;
}

describe('promote --mode script_path', () => {
  it('switches the config entry in place, passes validation from the new script_path, and revert restores the YAML byte for byte', async () => {
    const root = await fleet();
    mkdirSync(path.join(root, '.migrate'), { recursive: true });
    writeFileSync(path.join(root, '.migrate', 'config.yaml'), 'promote:\n  mode: script_path   # keep the legacy file until the week is over\n');
    commitAll(root, 'promote by switching script_path');
    const yamlBefore = sha256(path.join(root, CONFIG));
    const textBefore = readFileSync(path.join(root, CONFIG), 'utf8');
    const migration = git(root, ['log', '-1', '--format=%H', '--fixed-strings', '--grep=Migrate-Agent: KVCacheAgent']);

    const p = await cliInProcess(root, ['promote', 'KVCacheAgent']);
    expect(p.stderr).toBe('');
    expect(p.exitCode).toBe(0);
    expect(p.stdout).toMatch(/^promoted KVCacheAgent \(script_path\): config\/startup_config\.yaml:20 now starts agents\/kv_cache_agent_v2\.py; commit [0-9a-f]{12}$/m);

    // One commit: the config and the agent's record, found by its trailers.
    expect(touched(root)).toEqual([CONFIG, 'migration-log/KVCacheAgent.json']);
    const body = git(root, ['log', '-1', '--format=%B']);
    expect(body).toContain('Migrate-Agent: KVCacheAgent');
    expect(body).toContain(`Migrate-Promote: ${migration}`);
    // Exactly one line changed, in the entry's own style: quotes and comment kept.
    const after = readFileSync(path.join(root, CONFIG), 'utf8');
    const changed = after.split('\n').filter((l, i) => l !== textBefore.split('\n')[i]);
    expect(changed).toEqual(['      script_path: "agents/kv_cache_agent_v2.py"   # the cache first: the others depend on it']);
    expect(after.split('\n')).toHaveLength(textBefore.split('\n').length);

    const record = JSON.parse(readFileSync(path.join(root, 'migration-log', 'KVCacheAgent.json'), 'utf8'));
    expect(validRecord(record), JSON.stringify(validRecord.errors)).toBe(true);
    expect(record.promotion).toMatchObject({
      mode: 'script_path',
      migration_commit: migration,
      script: { path: 'agents/kv_cache_agent_v2.py', sha256: sha256(path.join(root, 'agents', 'kv_cache_agent_v2.py')) },
      config_edits: [{ file: CONFIG, line: 20, agent: 'KVCacheAgent', from: 'agents/kv_cache_agent.py', to: 'agents/kv_cache_agent_v2.py' }],
      validated: { by: 'run' },
    });
    expect(await state(root, 'KVCacheAgent')).toBe('promoted');

    // The promoted agent starts from the config's script_path and passes validation.
    const v = await cliInProcess(root, ['validate', 'KVCacheAgent', '--json'], { timeout: 120_000 });
    const row = JSON.parse(v.stdout).results[0];
    expect(row.output).toBe(configScript(root, 'KVCacheAgent'));
    expect(row.validation.ok, v.stdout).toBe(true);
    expect(v.exitCode).toBe(0);

    // Revert: the promotion goes first, the YAML is byte-identical, the migration stays.
    const r1 = await cliInProcess(root, ['revert', 'KVCacheAgent', '--json']);
    expect(r1.exitCode, r1.stderr).toBe(0);
    expect(JSON.parse(r1.stdout)).toMatchObject({ agent: 'KVCacheAgent', undid: 'promotion' });
    expect(sha256(path.join(root, CONFIG))).toBe(yamlBefore);
    expect(await state(root, 'KVCacheAgent')).toBe('committed');
    expect(existsSync(path.join(root, 'agents', 'kv_cache_agent_v2.py'))).toBe(true);
    const revertRecord = touched(root).find((f) => f.startsWith('migration-log/reverts/'))!;
    expect(JSON.parse(readFileSync(path.join(root, revertRecord), 'utf8')).undid).toBe('promotion');

    const r2 = await cliInProcess(root, ['revert', 'KVCacheAgent', '--json']);
    expect(JSON.parse(r2.stdout).undid).toBeUndefined();
    expect(await state(root, 'KVCacheAgent')).toBe('reverted');
    expect(existsSync(path.join(root, 'agents', 'kv_cache_agent_v2.py'))).toBe(false);
    expect(git(root, ['status', '--porcelain'])).toBe('');
  }, 240_000);

  it('two promotions edit one config; reverting the first leaves the second in place', async () => {
    const root = await fleet();
    const before = readFileSync(path.join(root, CONFIG), 'utf8');
    const p = await cliInProcess(root, ['promote', 'KVCacheAgent', 'RateLimiterAgent', '--mode', 'script_path']);
    expect(p.exitCode, p.stdout + p.stderr).toBe(0);
    expect(configScript(root, 'RateLimiterAgent')).toBe('agents/rate_limiter_agent_v2.py');
    const r = await cliInProcess(root, ['revert', 'KVCacheAgent']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(configScript(root, 'KVCacheAgent')).toBe('agents/kv_cache_agent.py');
    expect(configScript(root, 'RateLimiterAgent')).toBe('agents/rate_limiter_agent_v2.py');
    await cliInProcess(root, ['revert', 'RateLimiterAgent']);
    expect(readFileSync(path.join(root, CONFIG), 'utf8')).toBe(before);
  }, 120_000);
});

describe('promote --mode replace', () => {
  it('moves the _v2 content onto the original path, checks the importers, and revert restores every byte', async () => {
    const root = await fleet();
    const files = ['agents/rate_limiter_agent.py', 'agents/rate_limiter_agent_v2.py', 'migration-log/RateLimiterAgent.json', CONFIG];
    const before = new Map(files.map((f) => [f, sha256(path.join(root, f))]));
    const v2 = readFileSync(path.join(root, 'agents', 'rate_limiter_agent_v2.py'));

    const p = await cliInProcess(root, ['promote', 'agents/rate_limiter_agent.py', '--json']);
    expect(p.exitCode, p.stderr).toBe(0);
    const result = promoteJson(p.stdout).results[0];
    expect(result).toMatchObject({ agent: 'RateLimiterAgent', status: 'promoted', mode: 'replace', script: 'agents/rate_limiter_agent.py', config_edits: [] });
    expect(result.importers).toEqual([
      { file: 'tools/limits_report.py', line: 6, module: 'agents.rate_limiter_agent', names: ['DEFAULT_LIMITS', 'RateLimiterAgent'] },
      { file: 'tools/limits_report.py', line: 7, module: 'agents.rate_limiter_agent', names: ['TICK_SECONDS'] },
    ]);
    expect(touched(root)).toEqual(['agents/rate_limiter_agent.py', 'agents/rate_limiter_agent_v2.py', 'migration-log/RateLimiterAgent.json']);
    expect(readFileSync(path.join(root, 'agents', 'rate_limiter_agent.py')).equals(v2)).toBe(true);
    expect(existsSync(path.join(root, 'agents', 'rate_limiter_agent_v2.py'))).toBe(false);
    expect(sha256(path.join(root, CONFIG))).toBe(before.get(CONFIG));
    const record = JSON.parse(readFileSync(path.join(root, 'migration-log', 'RateLimiterAgent.json'), 'utf8'));
    expect(validRecord(record), JSON.stringify(validRecord.errors)).toBe(true);
    expect(record.promotion).toMatchObject({ mode: 'replace', removed: ['agents/rate_limiter_agent_v2.py'], replaced: record.source });

    // The config still names agents/rate_limiter_agent.py: that file now runs on the base and passes.
    const v = await cliInProcess(root, ['validate', 'RateLimiterAgent', '--json'], { timeout: 120_000 });
    const row = JSON.parse(v.stdout).results[0];
    expect(row.output).toBe(configScript(root, 'RateLimiterAgent'));
    expect(row.validation.ok, v.stdout).toBe(true);
    expect(await state(root, 'RateLimiterAgent')).toBe('promoted');

    const r = await cliInProcess(root, ['revert', 'RateLimiterAgent']);
    expect(r.stdout).toMatch(/^reverted RateLimiterAgent: promotion commit [0-9a-f]{12} undone by [0-9a-f]{12}; its migration stays/);
    for (const [f, h] of before) expect([f, sha256(path.join(root, f))]).toEqual([f, h]);
  }, 240_000);

  it('refuses when another module imports a name the _v2 no longer defines, and changes nothing', async () => {
    const root = await fleet();
    writeFileSync(path.join(root, 'tools', 'sidecar_probe.py'), 'from agents.rate_limiter_agent import HealthSidecar\n\nprint(HealthSidecar)\n');
    commitAll(root, 'a probe that reuses the health sidecar');
    const headBefore = head(root);
    const p = await cliInProcess(root, ['promote', 'RateLimiterAgent']);
    expect(p.exitCode).toBe(2);
    expect(p.stderr.trim()).toBe(
      'migrate: cannot promote RateLimiterAgent: tools/sidecar_probe.py:1 imports HealthSidecar from agents.rate_limiter_agent, which agents/rate_limiter_agent_v2.py no longer defines',
    );
    expect(head(root)).toBe(headBefore);
    expect(git(root, ['status', '--porcelain'])).toBe('');
  }, 120_000);
});

describe('promote refuses what is not ready, and --all-validated takes what is', () => {
  it('never migrated, not validated, already promoted, a dirty tree: exit 2, nothing changed', async () => {
    const root = await fleet();
    const start = head(root);
    const never = await cliInProcess(root, ['promote', 'TaskQueueAgent']);
    expect([never.exitCode, never.stderr.trim()]).toEqual([2, 'migrate: TaskQueueAgent was never migrated: promote cuts over a committed migration (migrate run TaskQueueAgent)']);
    const unvalidated = await cliInProcess(root, ['promote', 'TextStatsAgent']);
    expect(unvalidated.exitCode).toBe(2);
    expect(unvalidated.stderr).toMatch(/TextStatsAgent is committed but agents\/text_stats_agent_v2\.py has no passing validation; run migrate validate TextStatsAgent first/);
    expect(head(root)).toBe(start);

    writeFileSync(path.join(root, 'agents', 'kv_cache_agent.py'), readFileSync(path.join(root, 'agents', 'kv_cache_agent.py'), 'utf8') + '\n# hot fix\n');
    const dirty = await cliInProcess(root, ['promote', 'KVCacheAgent']);
    expect(dirty.exitCode).toBe(2);
    expect(dirty.stderr).toMatch(/uncommitted changes to tracked files \(agents\/kv_cache_agent\.py\)/);
    commitAll(root, 'hot fix on the legacy agent');
    const stale = await cliInProcess(root, ['promote', 'KVCacheAgent']);
    expect(stale.stderr).toMatch(/agents\/kv_cache_agent\.py changed since KVCacheAgent was migrated/);
    expect(git(root, ['status', '--porcelain'])).toBe('');

    expect((await cliInProcess(root, ['promote', 'RateLimiterAgent'])).exitCode).toBe(0);
    const again = await cliInProcess(root, ['promote', 'RateLimiterAgent']);
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toMatch(/RateLimiterAgent is already promoted \(commit [0-9a-f]{12}/);
  }, 120_000);

  it('interrupted at any moment, it leaves only whole promotions: a clean tree, each promotion its own commit', async () => {
    const root = await fleet();
    const start = head(root);
    // The branch's ref file is read directly below: a `git rev-parse` per poll was a process
    // start every few ms, competing for the CPU with the run it waits for. Each commit rewrites it.
    const ref = path.join(root, '.git', readFileSync(path.join(root, '.git', 'HEAD'), 'utf8').replace(/^ref: /, '').trim());
    expect(readFileSync(ref, 'utf8').trim(), 'the branch is a loose ref').toBe(start);
    const child = spawnCli(root, ['promote', '--all-validated']);
    // Signalled once the first promotion is committed: mid-way through the second, or after it.
    await waitFor(() => readFileSync(ref, 'utf8').trim() !== start || child.exitCode !== null, 'the first promotion commit', 60_000, 5);
    child.kill('SIGINT');
    const r = await child;
    expect([0, 130]).toContain(r.exitCode);
    expect(git(root, ['status', '--porcelain'])).toBe('');
    const commits = git(root, ['rev-list', `${start}..HEAD`]).split('\n').filter(Boolean);
    for (const c of commits) expect(git(root, ['log', '-1', '--format=%B', c])).toContain('Migrate-Promote: ');
    expect(commits.length).toBeLessThanOrEqual(2);
    if (r.exitCode === 130) expect(String(r.stderr)).toMatch(/interrupted \(SIGINT\)/);
  }, 120_000);

  it('--json with one agent promoted and one refused: both rows as schemas/promote.schema.json says, exit 1', async () => {
    const root = await fleet();
    const start = head(root);
    const p = await cliInProcess(root, ['promote', 'KVCacheAgent', 'TextStatsAgent', '--mode', 'script_path', '--json']);
    expect(p.exitCode, p.stderr).toBe(1);
    const [ok, refused] = promoteJson(p.stdout).results;
    expect(ok).toMatchObject({ agent: 'KVCacheAgent', status: 'promoted', mode: 'script_path', script: 'agents/kv_cache_agent_v2.py', error: null });
    expect((ok!.config_edits as unknown[]).length).toBe(1);
    expect(refused).toMatchObject({ agent: 'TextStatsAgent', status: 'failed', mode: null, commit: null, script: null, config_edits: [], importers: [], warnings: [] });
    expect(refused!.error).toMatch(/has no passing validation/);
    expect(git(root, ['rev-list', '--count', `${start}..HEAD`])).toBe('1');
  }, 120_000);

  it('--all-validated promotes every committed, validated agent, one commit each, and skips the unvalidated', async () => {
    const root = await fleet();
    const start = head(root);
    const p = await cliInProcess(root, ['promote', '--all-validated', '--json']);
    expect(p.exitCode, p.stderr).toBe(0);
    expect(promoteJson(p.stdout).results.map((r: { agent: string; status: string }) => [r.agent, r.status])).toEqual([
      ['KVCacheAgent', 'promoted'],
      ['RateLimiterAgent', 'promoted'],
    ]);
    expect(git(root, ['rev-list', '--count', `${start}..HEAD`])).toBe('2');
    expect(await state(root, 'TextStatsAgent')).toBe('committed');
  }, 120_000);
});
