// `migrate status` shows an uncommitted `_v2` that passed validation as `validated`, and
// falls back to `migrated` as soon as the file changes; the memory of it lives in .git/,
// so the work tree stays clean.
import { appendFileSync, cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, expect, it } from 'vitest';

const REPO = path.resolve(import.meta.dirname, '..');
const CLI = path.join(REPO, 'bin', 'migrate.js');
const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-validated-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const migrate = (...args: string[]) => execa(process.execPath, [CLI, ...args, '--root', root], { reject: false });
const state = async (agent: string) =>
  (JSON.parse((await migrate('status', '--json')).stdout) as { agents: Array<{ name: string; state: string }> }).agents.find((a) => a.name === agent)?.state;

it('reports validated for a passing uncommitted _v2, migrated once it changes', async () => {
  if (!existsSync(path.join(REPO, 'dist', 'src', 'cli.js'))) await execa('npm', ['run', 'build'], { cwd: REPO });
  cpSync(path.join(REPO, 'fixtures', 'demo-fleet'), root, { recursive: true });
  await execa('git', ['init', '-q', '-b', 'main'], { cwd: root });
  expect((await migrate('init')).exitCode).toBe(0);
  await execa('git', ['add', '-A'], { cwd: root });
  await execa('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', 'commit', '-q', '-m', 'fleet'], { cwd: root });
  const run = await migrate('run', 'KVCacheAgent', '--no-commit', '--json');
  expect(run.exitCode, run.stderr).toBe(0);
  expect(await state('KVCacheAgent')).toBe('validated');
  expect(await state('RateLimiterAgent')).toBe('legacy');
  const porcelain = (await execa('git', ['status', '--porcelain'], { cwd: root })).stdout;
  expect(porcelain.trim()).toBe('?? agents/kv_cache_agent_v2.py');
  appendFileSync(path.join(root, 'agents', 'kv_cache_agent_v2.py'), '\n# edited by hand\n');
  expect(await state('KVCacheAgent')).toBe('migrated');
}, 90_000);
