// Repository shapes probed clean by hand in faults69 and never tested: a linked git worktree, a
// repository with a submodule, a detached HEAD, agents with CRLF line ends, a UTF-8 BOM or tab
// indentation, and paths with spaces and non-ASCII letters. For each, on a real repository of
// its own: `run` commits once per agent (its _v2 and record only), `status` says committed, each
// `revert` restores every file byte for byte and status says reverted, the tree clean.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseline, cleanupAll, commitAll, demoRepo, ensureBuilt, git, migrateCommits, parseRun, resultOf, run, runInProcess, sha256, tag, tempDir, type Baseline } from './harness.js';

beforeAll(() => ensureBuilt(), 180_000);
afterAll(cleanupAll);

const states = async (root: string): Promise<Map<string, string>> => {
  const r = await runInProcess(root, ['status', '--json'], tag());
  expect(r.exitCode, r.stderr).toBe(0);
  return new Map((JSON.parse(r.stdout) as { agents: Array<{ name: string; state: string }> }).agents.map((a) => [a.name, a.state]));
};

/** baseline() without a submodule's gitlink (a folder, not a file of this repository). */
function filesOnly(root: string): Baseline {
  const b = baseline(root, (f) => statSync(path.join(root, f)).isFile());
  return b;
}

/** Every file of `before` byte-identical, and nothing else in the work tree but what git ignores. */
function sameFiles(root: string, before: Baseline): void {
  for (const [f, h] of before.files) expect(sha256(path.join(root, f)), `${f} must be byte-identical`).toBe(h);
  expect(git(root, ['status', '--porcelain', '--untracked-files=all'])).toBe('');
}

/** run (commits once per agent), status, revert each (files back byte for byte), status again. */
async function cycle(root: string, agents: string[], extra: string[] = ['--no-validate']): Promise<{ stderr: string }> {
  const before = filesOnly(root);
  const r = await run(root, ['run', ...agents, ...extra, '--json'], tag());
  expect(r.exitCode, r.stderr).toBe(0);
  const out = parseRun(r);
  for (const a of agents) expect(resultOf(out, a).status, `${a}: ${JSON.stringify(resultOf(out, a))}`).toBe('migrated');
  const commits = migrateCommits(root, before.head);
  expect(commits.map((c) => c.agent).sort()).toEqual([...agents].sort());
  for (const c of commits) {
    expect(c.files).toHaveLength(2);
    expect(c.files).toContain(`migration-log/${c.agent}.json`);
    expect(c.files.filter((f) => /_v2\.py$/.test(f))).toHaveLength(1);
  }
  for (const [f, h] of before.files) expect(sha256(path.join(root, f)), `${f} untouched by the run`).toBe(h);
  let s = await states(root);
  for (const a of agents) expect(s.get(a), a).toBe('committed');
  for (const a of [...agents].reverse()) {
    const rv = await runInProcess(root, ['revert', a, '--json'], tag());
    expect(rv.exitCode, rv.stderr).toBe(0);
  }
  sameFiles(root, before);
  for (const c of commits) expect(existsSync(path.join(root, c.files.find((f) => f.endsWith('_v2.py'))!))).toBe(false);
  s = await states(root);
  for (const a of agents) expect(s.get(a), a).toBe('reverted');
  return { stderr: r.stderr };
}

describe('repository shapes: run, status, revert', () => {
  it('a linked worktree: the commits are on its branch, the main worktree untouched', async () => {
    const main = await demoRepo();
    const wt = path.join(tempDir('migrate-linked-'), 'side tree');
    git(main, ['worktree', 'add', '-q', '-b', 'side', wt]);
    const mainBefore = filesOnly(main);
    await cycle(wt, ['KVCacheAgent', 'TextStatsAgent']);
    expect(git(main, ['rev-parse', 'HEAD'])).toBe(mainBefore.head);
    sameFiles(main, mainBefore);
    expect(git(wt, ['rev-parse', '--abbrev-ref', 'HEAD'])).toBe('side');
    expect(git(main, ['log', '--format=%s', 'main..side'])).toMatch(/^migrate\(KVCacheAgent\): revert/m);
  }, 150_000);

  it('a repository with a submodule: the submodule is neither scanned into a commit nor changed', async () => {
    const lib = tempDir('migrate-lib-');
    git(lib, ['init', '-q', '-b', 'main']);
    writeFileSync(path.join(lib, 'helper.py'), 'def helper():\n    return 1\n');
    git(lib, ['add', '-A']);
    git(lib, ['-c', 'user.name=l', '-c', 'user.email=l@l', 'commit', '-q', '-m', 'lib']);
    const root = await demoRepo();
    git(root, ['-c', 'protocol.file.allow=always', 'submodule', 'add', '-q', lib, 'vendor/lib']);
    commitAll(root, 'a submodule');
    const sub = git(path.join(root, 'vendor', 'lib'), ['rev-parse', 'HEAD']);
    await cycle(root, ['KVCacheAgent', 'ReminderAgent']);
    expect(git(path.join(root, 'vendor', 'lib'), ['rev-parse', 'HEAD'])).toBe(sub);
    expect(git(path.join(root, 'vendor', 'lib'), ['status', '--porcelain'])).toBe('');
  }, 150_000);

  it('a detached HEAD: the run says so once and commits; revert restores', async () => {
    const root = await demoRepo();
    git(root, ['checkout', '-q', '--detach']);
    const { stderr } = await cycle(root, ['KVCacheAgent', 'TextStatsAgent']);
    expect(stderr.match(/HEAD is detached/g), stderr).toHaveLength(1);
  }, 150_000);

  it('CRLF, a UTF-8 BOM and tab indentation: each _v2 keeps its original\'s line ends, BOM and indentation', async () => {
    const root = await demoRepo();
    const file = (n: string) => path.join(root, 'agents', n);
    writeFileSync(file('kv_cache_agent.py'), readFileSync(file('kv_cache_agent.py'), 'utf8').replace(/\n/g, '\r\n'));
    writeFileSync(file('text_stats_agent.py'), `\ufeff${readFileSync(file('text_stats_agent.py'), 'utf8')}`);
    writeFileSync(file('reminder_agent.py'), readFileSync(file('reminder_agent.py'), 'utf8').replace(/^((?: {4})+)/gm, (m) => '\t'.repeat(m.length / 4)));
    // Still Python, each of them.
    execFileSync('python3', ['-c', 'import ast,sys\nfor f in sys.argv[1:]: ast.parse(open(f, encoding="utf-8-sig").read())', ...['kv_cache_agent.py', 'text_stats_agent.py', 'reminder_agent.py'].map(file)]);
    commitAll(root, 'line ends, a BOM and tabs');
    const head = git(root, ['rev-parse', 'HEAD']);
    await cycle(root, ['KVCacheAgent', 'TextStatsAgent', 'ReminderAgent']);
    // What the migration commits held (reverted since): read from git.
    const v2 = (n: string) => execFileSync('git', ['-C', root, 'show', `${migrateCommits(root, head).find((c) => c.files.includes(`agents/${n}`))!.sha}:agents/${n}`]);
    const crlf = v2('kv_cache_agent_v2.py').toString('utf8');
    expect(crlf.split('\n').slice(0, -1).every((l) => l.endsWith('\r')), 'every line of the CRLF agent\'s _v2 ends CRLF').toBe(true);
    expect(v2('text_stats_agent_v2.py').subarray(0, 3).equals(Buffer.from([0xef, 0xbb, 0xbf]))).toBe(true);
    const tabs = v2('reminder_agent_v2.py').toString('utf8');
    expect(tabs).toMatch(/^\t/m);
    expect(tabs).not.toMatch(/^ {4}/m);
  }, 150_000);

  it('a path with spaces and non-ASCII letters, validated: the agent starts from it, commits and reverts', async () => {
    const root = await demoRepo();
    const dir = 'agents/équipe de nuit';
    mkdirSync(path.join(root, dir));
    git(root, ['mv', 'agents/kv_cache_agent.py', `${dir}/kv cache agent.py`]);
    writeFileSync(path.join(root, dir, 'fleet_common.py'), readFileSync(path.join(root, 'agents', 'fleet_common.py')));
    const cfg = path.join(root, 'config', 'startup_config.yaml');
    writeFileSync(cfg, readFileSync(cfg, 'utf8').replace('agents/kv_cache_agent.py', `"${dir}/kv cache agent.py"`));
    commitAll(root, 'the night shift\'s folder');
    // The commits' file lists read unquoted (git quotes a non-ASCII path by default).
    git(root, ['config', 'core.quotePath', 'false']);
    await cycle(root, ['KVCacheAgent'], []);
  }, 150_000);
});
