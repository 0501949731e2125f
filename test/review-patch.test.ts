// Patches and diffs for reviewers, on a real repository: `run --dry-run --patch FILE`
// applies with `git apply --check` to a clean checkout and gives exactly the `_v2` files a
// real run writes; `--dry-run --json` carries each agent's diff while other runs' JSON keeps
// its shape; `diff --stat` counts removed lines per concern.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execaSync } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliInProcess, commitAll, ensureBuilt, git, gitRepo, REPO } from './helpers/cli.js';

let root: string;
let scratch: string;
// DESIGN.md's keys, plus removed_detail (the descriptions of removed symbols, issue 14).
const CONTRACT_KEYS = ['agent', 'file', 'output', 'status', 'removed', 'kept_for_review', 'warnings', 'validation', 'commit', 'error', 'removed_detail'];

beforeAll(async () => {
  ensureBuilt();
  root = gitRepo(path.join(REPO, 'fixtures', 'demo-fleet'), 'migrate-patch-');
  expect((await cliInProcess(root, ['init'])).exitCode).toBe(0);
  commitAll(root, 'base class');
  scratch = mkdtempSync(path.join(os.tmpdir(), 'migrate-patch-out-'));
}, 60_000);

afterAll(() => {
  for (const d of [root, scratch]) if (d) rmSync(d, { recursive: true, force: true });
});

describe('run --dry-run --patch', () => {
  it('writes a patch git apply accepts on a clean checkout, the table on stderr, and nothing else', async () => {
    const patch = path.join(scratch, 'fleet.patch');
    const r = await cliInProcess(root, ['run', '--all', '--dry-run', '--patch', patch]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/AGENT\s+STATUS/);
    expect(git(root, ['status', '--porcelain'])).toBe('');
    const text = readFileSync(patch, 'utf8');
    const files = [...text.matchAll(/^diff --git a\/(\S+) b\/\1$/gm)].map((m) => m[1]!);
    expect(files.length).toBeGreaterThanOrEqual(8);
    for (const f of files) expect(f).toMatch(/_v2\.py$/);
    expect(text.match(/^new file mode 100644$/gm)?.length).toBe(files.length);

    const clone = path.join(scratch, 'clone');
    git(scratch, ['clone', '-q', root, clone]);
    expect(execaSync('git', ['apply', '--check', patch], { cwd: clone, reject: false }).exitCode).toBe(0);
    execaSync('git', ['apply', patch], { cwd: clone });

    // The patch holds exactly what a real run writes.
    const written = await cliInProcess(root, ['run', '--all', '--no-commit', '--no-validate', '--json']);
    const outputs = (JSON.parse(written.stdout) as { results: Array<{ output: string | null; status: string }> }).results
      .filter((x) => x.status === 'migrated' || x.status === 'needs-review')
      .map((x) => x.output!);
    expect(outputs.sort()).toEqual([...files].sort());
    for (const f of files) expect(readFileSync(path.join(clone, f), 'utf8'), f).toBe(readFileSync(path.join(root, f), 'utf8'));
    for (const f of files) rmSync(path.join(root, f));
  }, 180_000);

  it('works from a subdirectory root: paths in the patch are from the top of the work tree', async () => {
    const top = gitRepo(undefined, 'migrate-patch-sub-');
    try {
      execaSync('cp', ['-r', path.join(REPO, 'fixtures', 'demo-fleet'), path.join(top, 'fleet')]);
      expect((await cliInProcess(path.join(top, 'fleet'), ['init'])).exitCode).toBe(0);
      commitAll(top, 'fleet in a subdirectory');
      const patch = path.join(scratch, 'sub.patch');
      const r = await cliInProcess(path.join(top, 'fleet'), ['run', 'KVCacheAgent', '--dry-run', '--patch', patch]);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(readFileSync(patch, 'utf8')).toMatch(/^diff --git a\/fleet\/agents\/kv_cache_agent_v2\.py b\/fleet\/agents\/kv_cache_agent_v2\.py$/m);
      expect(execaSync('git', ['apply', '--check', patch], { cwd: top, reject: false }).exitCode).toBe(0);
    } finally {
      rmSync(top, { recursive: true, force: true });
    }
  }, 120_000);

  it('is refused without --dry-run (exit 2, nothing written)', async () => {
    const r = await cliInProcess(root, ['run', 'KVCacheAgent', '--patch', path.join(scratch, 'x.patch')]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/--patch .*--dry-run/);
    expect(existsSync(path.join(scratch, 'x.patch'))).toBe(false);
    expect(git(root, ['status', '--porcelain'])).toBe('');
  });
});

describe('run --json', () => {
  it('--dry-run results carry each diff; other runs keep the contract shape', async () => {
    const r = await cliInProcess(root, ['run', 'KVCacheAgent', 'TextStatsAgent', '--dry-run', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const results = (JSON.parse(r.stdout) as { results: Array<Record<string, unknown>> }).results;
    for (const x of results) {
      expect(Object.keys(x)).toEqual([...CONTRACT_KEYS, 'diff']);
      expect(x.diff).toMatch(new RegExp(`^--- ${x.file}$`, 'm'));
      expect(x.diff).toMatch(/^-[^-]/m);
    }
    const real = await cliInProcess(root, ['run', 'KVCacheAgent', '--no-commit', '--no-validate', '--json']);
    const shape = (JSON.parse(real.stdout) as { results: Array<Record<string, unknown>> }).results;
    expect(Object.keys(shape[0]!)).toEqual(CONTRACT_KEYS);
  }, 120_000);
});

describe('diff --stat', () => {
  it('counts removed lines per concern with the members removed under each', async () => {
    if (!existsSync(path.join(root, 'agents', 'kv_cache_agent_v2.py'))) await cliInProcess(root, ['run', 'KVCacheAgent', '--no-commit', '--no-validate']);
    const r = await cliInProcess(root, ['diff', 'KVCacheAgent', '--stat']);
    expect(r.exitCode, r.stderr).toBe(0);
    const head = /^agents\/kv_cache_agent\.py -> agents\/kv_cache_agent_v2\.py: (\d+) lines removed, (\d+) added$/m.exec(r.stdout);
    expect(head).not.toBeNull();
    const rows = [...r.stdout.matchAll(/^ {2}([a-z-]+)\s+(\d+)\b(.*)$/gm)].map((m) => ({ concern: m[1]!, n: Number(m[2]), symbols: m[3]!.trim() }));
    expect(rows.reduce((s, x) => s + x.n, 0)).toBe(Number(head![1]));
    const health = rows.find((x) => x.concern === 'health');
    expect(health?.n).toBeGreaterThan(10);
    expect(health?.symbols).toContain('_start_health_server');
    expect(rows.find((x) => x.concern === 'signal')?.symbols).toContain('_handle_signal');
    // The same counts as the unified diff's removed lines.
    const diff = (await cliInProcess(root, ['diff', 'KVCacheAgent'])).stdout;
    expect(diff.split('\n').filter((l) => l.startsWith('-') && !l.startsWith('---')).length).toBe(Number(head![1]));
  }, 60_000);
});
