// Issue 4 end to end: the built CLI on real temporary git repositories made from
// fixtures/demo-fleet (+ `migrate init`, committed) — one commit per agent, records
// matching commits, revert, status, dirty trees, Ctrl-C and crashes mid-run, shards, and
// what goes to stderr.
import { chmodSync, copyFileSync, cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Ajv } from 'ajv';
import { execaSync } from 'execa';
import { agentProcessesUnder, cliInProcess, commitAll, DEMO_AGENTS, DEMO_FLEET, demoFleetRepos, ensureBuilt, git, listFiles, migrateCommits, REPO, spawnCli, tempDirsOfThisFile, waitFor, type MigrateCommit } from './helpers/cli.js';

const DEMO = DEMO_FLEET;
const AGENTS = DEMO_AGENTS;
const temps = tempDirsOfThisFile();

beforeAll(() => ensureBuilt(), 180_000);

const demoRepo = demoFleetRepos(temps, 'migrate-batch-');

interface RunJson {
  results: Array<{ agent: string; file: string; output: string | null; status: string; commit: string | null; error: string | null; validation: unknown }>;
  summary: Record<string, number>;
}

const v2Of = (file: string) => file.replace(/\.py$/, '_v2.py');
const sha256 = (buf: Buffer | string) => createHash('sha256').update(buf).digest('hex');

/**
 * The invariants an interrupted or finished run must leave: a clean tree (no __pycache__
 * either), every `_v2` and record committed, every migration commit holding exactly its
 * agent's `_v2` and record, and no agent process of this repository still running.
 */
function expectConsistent(root: string, since: string): MigrateCommit[] {
  // Clean, ignored files included, except state/ that the demo agents save when validated.
  const dirt = git(root, ['status', '--porcelain', '--ignored', '--untracked-files=all'])
    .split('\n')
    .filter((l) => l && !l.startsWith('!! state/'));
  expect(dirt, 'work tree must be clean').toEqual([]);
  const commits = migrateCommits(root, since);
  const files = listFiles(root);
  expect(files.filter((f) => f.includes('__pycache__'))).toEqual([]);
  const tracked = new Set(git(root, ['ls-files']).split('\n'));
  for (const f of files.filter((x) => /_v2\.py$/.test(x) || x.startsWith('migration-log/'))) expect(tracked.has(f), `${f} is not committed`).toBe(true);
  for (const c of commits) {
    expect(c.subject).toBe(`migrate(${c.agent}): move onto BaseAgent`);
    expect(c.profile).toBe('base-agent');
    expect(c.files, `${c.agent}'s commit`).toEqual([`agents/${snake(c.agent)}_v2.py`, `migration-log/${c.agent}.json`].sort());
  }
  const records = files.filter((f) => /^migration-log\/[^/]+\.json$/.test(f)).map((f) => path.basename(f, '.json'));
  expect(records.sort()).toEqual(commits.map((c) => c.agent).sort());
  expect(agentProcessesUnder(root), 'orphan agent processes').toEqual([]);
  return commits;
}

/** KVCacheAgent -> kv_cache_agent (the demo fleet's file naming). */
function snake(agent: string): string {
  const known: Record<string, string> = {
    KVCacheAgent: 'kv_cache_agent',
    FleetHealthMonitor: 'fleet_health_monitor',
  };
  return known[agent] ?? agent.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
}

describe('migrate run --all with validation (embedded registry and sink)', () => {
  let root: string;
  let base: string;
  let run: { exitCode: number; stdout: string; stderr: string };
  let out: RunJson;

  beforeAll(async () => {
    root = await demoRepo();
    base = git(root, ['rev-parse', 'HEAD']);
    run = await cliInProcess(root, ['run', '--all', '--json', '--concurrency', '4']);
    out = JSON.parse(run.stdout) as RunJson;
  }, 120_000);

  it('migrates and validates the agents that pass, and reports the others as failed (exit 1)', () => {
    expect(out.results.map((r) => r.agent).sort()).toEqual(AGENTS);
    const ok = out.results.filter((r) => r.status === 'migrated' || r.status === 'needs-review');
    const failed = out.results.filter((r) => r.status === 'failed');
    expect(ok.length + failed.length).toBe(AGENTS.length);
    expect(ok.length, JSON.stringify(failed.map((f) => f.error))).toBeGreaterThanOrEqual(3);
    expect(run.exitCode).toBe(failed.length ? 1 : 0);
    for (const r of ok) {
      expect(r.commit, r.agent).toMatch(/^[0-9a-f]{40}$/);
      expect((r.validation as { ok: boolean }).ok, r.agent).toBe(true);
    }
    for (const r of failed) {
      expect(r.commit, r.agent).toBeNull();
      expect(r.output, r.agent).toBeNull();
      expect(r.error, r.agent).toMatch(/^validation: [^\n]+$/);
    }
  });

  it('--json keeps stderr free of progress output', () => {
    expect(run.stderr).not.toMatch(/agents done|migrate \[/);
    expect(run.stderr).toBe('');
  });

  it('makes one commit per successful agent holding exactly its _v2 and record, with message and trailers', () => {
    const commits = expectConsistent(root, base);
    const ok = out.results.filter((r) => r.commit);
    expect(commits.map((c) => c.agent).sort()).toEqual(ok.map((r) => r.agent).sort());
    // Commits in a stable order: by file.
    expect(commits.map((c) => c.agent)).toEqual([...ok].sort((a, b) => a.file.localeCompare(b.file)).map((r) => r.agent));
    for (const r of ok) expect(commits.find((c) => c.agent === r.agent)!.sha).toBe(r.commit);
  });

  it('leaves no _v2, record or commit for failed agents', () => {
    for (const r of out.results.filter((x) => x.status === 'failed')) {
      expect(existsSync(path.join(root, v2Of(r.file))), `${r.file}: _v2`).toBe(false);
      expect(existsSync(path.join(root, 'migration-log', `${r.agent}.json`)), `${r.agent}: record`).toBe(false);
      expect(git(root, ['log', '--format=%H', `--grep=Migrate-Agent: ${r.agent}$`, `${base}..HEAD`])).toBe('');
    }
  });

  it('records validate against migration-log/record.schema.json and their hashes match the committed files', () => {
    const schema = JSON.parse(readFileSync(path.join(REPO, 'migration-log', 'record.schema.json'), 'utf8'));
    const validate = new Ajv({ allErrors: true }).compile(schema);
    for (const r of out.results.filter((x) => x.commit)) {
      const recordText = git(root, ['show', `${r.commit}:migration-log/${r.agent}.json`]);
      const record = JSON.parse(recordText);
      expect(validate(record), `${r.agent}: ${JSON.stringify(validate.errors)}`).toBe(true);
      expect(record.agent).toBe(r.agent);
      expect(record.source.path).toBe(r.file);
      expect(record.output.path).toBe(v2Of(r.file));
      const committed = (p: string) => execaSync('git', ['show', `${r.commit}:${p}`], { cwd: root, encoding: 'buffer', stripFinalNewline: false }).stdout as Uint8Array;
      expect(record.output.sha256, `${r.agent}: output sha256`).toBe(sha256(Buffer.from(committed(record.output.path))));
      expect(record.source.sha256, `${r.agent}: source sha256`).toBe(sha256(Buffer.from(committed(record.source.path))));
      expect(record.validation.ok).toBe(true);
      expect(record.validation.checks.map((c: { name: string }) => c.name).sort()).toEqual(['deregister', 'health', 'log', 'metrics', 'ports', 'registry', 'shutdown', 'survival']);
    }
  });

  it('migrate revert of the first of three migrated agents leaves the other two intact; status shows it', async () => {
    const commits = migrateCommits(root, base);
    expect(commits.length).toBeGreaterThanOrEqual(3);
    const [first, second, third] = commits as [MigrateCommit, MigrateCommit, MigrateCommit];
    const othersBefore = new Map([...second.files, ...third.files].map((f) => [f, sha256(readFileSync(path.join(root, f)))]));

    const r = await cliInProcess(root, ['revert', first.agent]);
    expect(r.exitCode, r.stderr).toBe(0);
    for (const f of first.files) expect(existsSync(path.join(root, f)), `${f} must be gone`).toBe(false);
    for (const [f, h] of othersBefore) expect(sha256(readFileSync(path.join(root, f))), `${f} must be intact`).toBe(h);
    for (const c of [second, third]) execaSync('git', ['merge-base', '--is-ancestor', c.sha, 'HEAD'], { cwd: root });
    expect(git(root, ['status', '--porcelain'])).toBe('');
    // The revert commit names the agent and the reverted commit.
    expect(git(root, ['log', '-1', '--format=%(trailers:key=Migrate-Revert,valueonly,separator=)']).trim()).toBe(first.sha);

    const again = await cliInProcess(root, ['revert', first.agent]);
    expect(again.exitCode).toBe(2);
    expect(again.stderr.trim().split('\n')).toHaveLength(1);
    expect(again.stderr).toContain('already reverted');

    const status = await cliInProcess(root, ['status', '--json']);
    expect(status.exitCode, status.stderr).toBe(0);
    const rows = (JSON.parse(status.stdout) as { agents: Array<{ name: string; state: string; commit: string | null }> }).agents;
    const state = Object.fromEntries(rows.map((x) => [x.name, x.state]));
    expect(state[first.agent]).toBe('reverted');
    for (const c of commits.slice(1)) {
      expect(state[c.agent], c.agent).toBe('committed');
      expect(rows.find((x) => x.name === c.agent)!.commit).toBe(c.sha);
    }
    for (const r2 of out.results.filter((x) => x.status === 'failed')) expect(state[r2.agent], r2.agent).toBe('legacy');
  });
});

describe('a dirty tree is refused with nothing changed', () => {
  for (const kind of ['modified tracked file', 'staged change'] as const) {
    it(`${kind}: exit 2, one line, HEAD/status/files unchanged`, async () => {
      const root = await demoRepo();
      const target = path.join(root, 'agents', 'kv_cache_agent.py');
      if (kind === 'modified tracked file') {
        execaSync('sh', ['-c', `printf '\\n# local edit\\n' >> "${target}"`]);
      } else {
        execaSync('sh', ['-c', `printf 'notes\\n' > "${path.join(root, 'NOTES.txt')}"`]);
        git(root, ['add', 'NOTES.txt']);
      }
      const head = git(root, ['rev-parse', 'HEAD']);
      const status = git(root, ['status', '--porcelain']);
      const files = listFiles(root);
      const r = await cliInProcess(root, ['run', '--all', '--no-validate']);
      expect(r.exitCode).toBe(2);
      expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
      expect(r.stderr).toMatch(kind === 'staged change' ? /staged changes.*NOTES\.txt/ : /uncommitted changes.*agents\/kv_cache_agent\.py/);
      expect(git(root, ['rev-parse', 'HEAD'])).toBe(head);
      expect(git(root, ['status', '--porcelain'])).toBe(status);
      expect(listFiles(root)).toEqual(files);
      expect(existsSync(path.join(root, '.git', 'migrate-run.json'))).toBe(false);
    });
  }
});

describe('untracked files', () => {
  it('are refused unless --allow-dirty, which never commits them', async () => {
    const root = await demoRepo();
    const head = git(root, ['rev-parse', 'HEAD']);
    writeFileSync(path.join(root, 'NOTES.txt'), 'unrelated\n');
    const refused = await cliInProcess(root, ['run', 'KVCacheAgent', 'TextStatsAgent', '--no-validate']);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(/untracked files \(NOTES\.txt\).*--allow-dirty/);
    expect(git(root, ['rev-parse', 'HEAD'])).toBe(head);

    const r = await cliInProcess(root, ['run', 'KVCacheAgent', 'TextStatsAgent', '--no-validate', '--allow-dirty']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(git(root, ['status', '--porcelain'])).toBe('?? NOTES.txt');
    const commits = migrateCommits(root, head);
    expect(commits.map((c) => c.agent)).toEqual(['KVCacheAgent', 'TextStatsAgent']);
    for (const c of commits) expect(c.files).toEqual([`agents/${snake(c.agent)}_v2.py`, `migration-log/${c.agent}.json`]);

    // A leftover _v2 the run would write is refused even with --allow-dirty.
    git(root, ['rm', '-q', 'agents/kv_cache_agent_v2.py', 'migration-log/KVCacheAgent.json']);
    git(root, ['commit', '-q', '-m', 'drop the KVCacheAgent migration by hand']);
    writeFileSync(path.join(root, 'agents', 'kv_cache_agent_v2.py'), '# half-done by hand\n');
    const leftover = await cliInProcess(root, ['run', 'KVCacheAgent', '--no-validate', '--allow-dirty']);
    expect(leftover.exitCode).toBe(2);
    expect(leftover.stderr).toContain('agents/kv_cache_agent_v2.py (untracked) would be written by this run');
    expect(readFileSync(path.join(root, 'agents', 'kv_cache_agent_v2.py'), 'utf8')).toBe('# half-done by hand\n');
  }, 60_000);
});

describe('outside a git repository', () => {
  it('a committing run is refused with one line, exit 2, and writes nothing', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-batch-nogit-'));
    temps.push(root);
    cpSync(DEMO, root, { recursive: true });
    const files = listFiles(root);
    const r = await cliInProcess(root, ['run', '--all', '--no-validate']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
    expect(r.stderr).toContain('is not inside a git work tree');
    expect(listFiles(root)).toEqual(files);
  });
});

describe('a commit that fails', () => {
  it('a pre-commit hook rejecting one agent fails only that agent and leaves nothing of it (index included)', async () => {
    const root = await demoRepo();
    const head = git(root, ['rev-parse', 'HEAD']);
    const hook = path.join(root, '.git', 'hooks', 'pre-commit');
    writeFileSync(hook, '#!/bin/sh\ngit diff --cached --name-only | grep -q rate_limiter && { echo "hook: rate limiter frozen" >&2; exit 1; }\nexit 0\n');
    chmodSync(hook, 0o755);
    // Three agents, in file order one before and one after the rejected one: every agent's
    // commit under --all is checked by the interruption tests (their reruns commit all thirteen).
    const r = await cliInProcess(root, ['run', 'KVCacheAgent', 'RateLimiterAgent', 'TextStatsAgent', '--no-validate', '--json']);
    expect(r.exitCode).toBe(1);
    const out = JSON.parse(r.stdout) as RunJson;
    expect(out.results.map((x) => x.agent).sort()).toEqual(['KVCacheAgent', 'RateLimiterAgent', 'TextStatsAgent']);
    const rl = out.results.find((x) => x.agent === 'RateLimiterAgent')!;
    expect({ status: rl.status, output: rl.output, commit: rl.commit }).toEqual({ status: 'failed', output: null, commit: null });
    expect(rl.error).toMatch(/^commit: [^\n]*hook: rate limiter frozen$/);
    expect(existsSync(path.join(root, 'agents', 'rate_limiter_agent_v2.py'))).toBe(false);
    const commits = expectConsistent(root, head);
    expect(commits.map((c) => c.agent)).toEqual(['KVCacheAgent', 'TextStatsAgent']);
  }, 60_000);
});

describe('interruption', () => {
  /** Start `run --all`, wait until the first migration commit lands, then send `signal`. */
  async function killAfterFirstCommit(root: string, signal: 'SIGINT' | 'SIGKILL') {
    const head = git(root, ['rev-parse', 'HEAD']);
    const ref = path.join(root, '.git', 'refs', 'heads', 'main');
    const child = spawnCli(root, ['run', '--all', '--no-validate', '--json']);
    try {
      await waitFor(() => readFileSync(ref, 'utf8').trim() !== head || child.exitCode !== null, 'the first migration commit');
      child.kill(signal);
    } finally {
      // Never leave the CLI itself behind, whatever happened above.
      setTimeout(() => child.kill('SIGKILL'), 30_000).unref();
    }
    const res = await child;
    return { head, res };
  }

  for (const signal of ['SIGINT', 'SIGKILL'] as const) {
    it(`${signal} after the first commit leaves a consistent repository and a rerun completes it`, async () => {
      const root = await demoRepo();
      const { head, res } = await killAfterFirstCommit(root, signal);
      if (signal === 'SIGINT') {
        expect(res.exitCode, String(res.stderr)).toBe(130);
        // Ctrl-C cleans up itself: consistent right away, no journal left.
        expectConsistent(root, head);
        expect(existsSync(path.join(root, '.git', 'migrate-run.json'))).toBe(false);
        // It still reports, in the contract: committed agents with their commit, the rest interrupted.
        const report = JSON.parse(String(res.stdout)) as RunJson;
        const shas = new Map(migrateCommits(root, head).map((c) => [c.agent, c.sha]));
        expect(report.results.map((r) => r.agent).sort()).toEqual(AGENTS);
        for (const r of report.results) {
          if (shas.has(r.agent)) expect(r.commit, r.agent).toBe(shas.get(r.agent));
          else expect({ status: r.status, commit: r.commit, output: r.output, error: r.error }, r.agent).toEqual({ status: 'failed', commit: null, output: null, error: 'interrupted before commit' });
        }
      } else {
        expect(res.signal).toBe('SIGKILL');
        // A crash leaves its journal for the next run; no half commit in any case.
        for (const c of migrateCommits(root, head)) expect(c.files).toEqual([`agents/${snake(c.agent)}_v2.py`, `migration-log/${c.agent}.json`].sort());
        // ... but the _v2 files written for the agents not yet committed are still there.
        const untracked = git(root, ['ls-files', '--others', '--exclude-standard']).split('\n').filter((f) => /_v2\.py$/.test(f));
        expect(untracked.length, 'leftovers of the crash').toBeGreaterThan(0);
      }
      const done = migrateCommits(root, head).map((c) => c.agent);
      expect(done.length, 'killed after the first commit').toBeGreaterThanOrEqual(1);
      expect(done.length, 'killed before the last commit').toBeLessThan(AGENTS.length);

      const rerun = await cliInProcess(root, ['run', '--all', '--no-validate', '--json']);
      expect(rerun.exitCode, rerun.stderr).toBe(0);
      const out = JSON.parse(rerun.stdout) as RunJson;
      for (const r of out.results) {
        if (done.includes(r.agent)) expect(r.status, r.agent).toBe('unchanged');
        else expect(['migrated', 'needs-review'], `${r.agent}: ${r.error}`).toContain(r.status);
      }
      const commits = expectConsistent(root, head);
      expect(commits.map((c) => c.agent).sort()).toEqual(AGENTS);
      expect(existsSync(path.join(root, '.git', 'migrate-run.json'))).toBe(false);
    }, 90_000);
  }

  /** Start `run --all` with validation and wait until an agent process of this repository runs. */
  async function killDuringValidation(root: string, signal: 'SIGINT' | 'SIGKILL', whileRunning?: (pid: number) => Promise<void>) {
    const head = git(root, ['rev-parse', 'HEAD']);
    const child = spawnCli(root, ['run', '--all', '--json', '--concurrency', '4']);
    setTimeout(() => child.kill('SIGKILL'), 60_000).unref();
    await waitFor(() => agentProcessesUnder(root).some((p) => /_v2\.py/.test(p.cmdline)) || child.exitCode !== null, 'a _v2 agent process', 60_000);
    expect(child.exitCode, 'the run ended before validation started').toBeNull();
    await whileRunning?.(child.pid!);
    child.kill(signal);
    const res = await child;
    return { head, res };
  }

  it('SIGINT during validation stops every agent and leaves nothing behind (a concurrent second run is refused)', async () => {
    const root = await demoRepo();
    // Meanwhile a second run in the same repository is refused and changes nothing.
    // The first run is paused (SIGSTOP) meanwhile, so it is surely still in progress.
    const { head, res } = await killDuringValidation(root, 'SIGINT', async (pid) => {
      process.kill(pid, 'SIGSTOP');
      try {
        const second = await cliInProcess(root, ['run', '--all', '--no-validate']);
        expect(second.exitCode).toBe(2);
        expect(second.stderr.trim().split('\n')).toHaveLength(1);
        expect(second.stderr).toMatch(new RegExp(`another migrate run \\(pid ${pid}, started [^)]+\\) is in progress in this repository`));
      } finally {
        process.kill(pid, 'SIGCONT');
      }
    });
    expect(res.exitCode, String(res.stderr)).toBe(130);
    expect(git(root, ['rev-parse', 'HEAD'])).toBe(head);
    expect(listFiles(root).filter((f) => /_v2\.py$/.test(f) || f.startsWith('migration-log/'))).toEqual([]);
    expectConsistent(root, head);
  }, 90_000);

  it('SIGKILL during validation: the watchdog ends the agents; the next run removes the partial _v2 files', async () => {
    const root = await demoRepo();
    const { head, res } = await killDuringValidation(root, 'SIGKILL');
    expect(res.signal).toBe('SIGKILL');
    expect(git(root, ['rev-parse', 'HEAD'])).toBe(head);
    expect(existsSync(path.join(root, '.git', 'migrate-run.json')), 'the crash leaves its journal').toBe(true);
    // The tool's watchdog outlives it and ends the agents it was validating.
    await waitFor(() => agentProcessesUnder(root).length === 0, 'the watchdog to end the orphaned agents', 10_000).catch((err) => {
      throw new Error(`${(err as Error).message}: ${JSON.stringify(agentProcessesUnder(root))}`);
    });
    expect(listFiles(root).filter((f) => /_v2\.py$/.test(f)).length, 'and leaves its _v2 files').toBeGreaterThan(0);
    // --dry-run does not record, so it neither recovers nor commits; a real run does.
    const rerun = await cliInProcess(root, ['run', 'KVCacheAgent', '--no-validate', '--json']);
    expect(rerun.exitCode, rerun.stderr).toBe(0);
    const commits = expectConsistent(root, head);
    expect(commits.map((c) => c.agent)).toEqual(['KVCacheAgent']);
    expect(listFiles(root).filter((f) => /_v2\.py$/.test(f))).toEqual(['agents/kv_cache_agent_v2.py']);
  }, 90_000);
});

describe('--shard i/n', () => {
  it('shards 1/2 and 2/2 cover every agent (and refused file) exactly once, deterministically, each on its own branch, one stderr line per finished agent', async () => {
    const root = await demoRepo();
    // Four of the demo agents, two falling in each shard (a file's shard is its path's hash,
    // whatever else the fleet holds): the split is what is checked, not the fleet's size.
    const KEEP = ['KVCacheAgent', 'RateLimiterAgent', 'ReminderAgent', 'TextStatsAgent'];
    git(root, ['rm', '-q', ...AGENTS.filter((a) => !KEEP.includes(a)).map((a) => `agents/${snake(a)}.py`)]);
    // A refused (syntax-broken) file must fall in one shard as well, not fail every shard.
    copyFileSync(path.join(REPO, 'fixtures', 'python', 'syntax-broken-self-paste', 'input.py'), path.join(root, 'agents', 'broken_agent.py'));
    commitAll(root, 'four agents and a broken one');
    const BROKEN = 'broken_agent.py';
    const main = git(root, ['rev-parse', 'HEAD']);
    // Shard 1: planned by a dry run, then run for real with --json by another process.
    const planned = await cliInProcess(root, ['run', '--all', '--dry-run', '--json', '--shard', '1/2']);
    const plan = (JSON.parse(planned.stdout) as RunJson).results.map((x) => x.agent).sort();
    const r1 = await cliInProcess(root, ['run', '--all', '--no-validate', '--json', '--shard', '1/2']);
    const one = (JSON.parse(r1.stdout) as RunJson).results.map((x) => x.agent).sort();
    expect(one, 'the same split every time').toEqual(plan);
    expect(r1.exitCode, r1.stderr).toBe(one.includes(BROKEN) ? 1 : 0);
    expect(r1.stderr, '--json: nothing on stderr').toBe('');
    expect(git(root, ['rev-parse', '--abbrev-ref', 'HEAD'])).toBe('migrate/shard-1-of-2');
    expect(migrateCommits(root, main).map((c) => c.agent).sort()).toEqual(one.filter((a) => a !== BROKEN));

    // Shard 2, from main again as a CI job would, without --json on a non-TTY stderr.
    git(root, ['checkout', '-q', 'main']);
    const r2 = await cliInProcess(root, ['run', '--all', '--no-validate', '--shard', '2/2']);
    expect(git(root, ['rev-parse', '--abbrev-ref', 'HEAD'])).toBe('migrate/shard-2-of-2');
    const agents2 = migrateCommits(root, main).map((c) => c.agent).sort();
    const brokenIn2 = r2.stdout.includes(`failed ${BROKEN}: agents/${BROKEN}:`);
    expect(r2.exitCode, r2.stderr).toBe(brokenIn2 ? 1 : 0);
    const two = [...agents2, ...(brokenIn2 ? [BROKEN] : [])].sort();
    expect([...one, ...two].sort(), 'every agent and the refused file exactly once').toEqual([...KEEP, BROKEN].sort());
    expect(one.length).toBeGreaterThan(0);
    expect(agents2.length).toBeGreaterThan(0);
    // One line per finished agent (and one per stage), no bar.
    const lines = r2.stderr.split('\n').filter(Boolean);
    const total = two.length;
    for (let n = 1; n <= total; n++) {
      expect(lines.filter((l) => l.startsWith(`migrate: [${n}/${total} done, `)), `line for agent ${n}`).toHaveLength(1);
    }
    for (const agent of two) expect(lines.filter((l) => new RegExp(`^migrate: \\[\\d+/${total} done, \\d+ failed\\] ${agent}: `).test(l)), agent).toHaveLength(1);
    expect(lines.every((l) => /^migrate: (\[\d+\/\d+ done, \d+ failed\] \S+: \S.*|(rewrite|verify|write|validate|commit) \d+ agents?)$/.test(l)), r2.stderr).toBe(true);
    expect(git(root, ['rev-parse', 'main'])).toBe(main);
  }, 90_000);
});

// Keep the helpers honest: the snake-case mapping must name the demo fleet's real files.
it('the demo fleet has a file for every agent name used above', () => {
  const files = readdirSync(path.join(DEMO, 'agents'));
  for (const a of AGENTS) expect(files, a).toContain(`${snake(a)}.py`);
});
