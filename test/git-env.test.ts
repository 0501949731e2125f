// Started from a git hook or `git rebase --exec`, the CLI inherits GIT_DIR (and GIT_INDEX_FILE):
// every git command it runs would act on the hook's repository instead of the one it migrates.
// A run there must migrate and commit in its own repository and leave the other one as it was
// (src/record/git-env.ts; the suite drops the same variables in vitest.config.ts).
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { cli, demoFleetRepos, ensureBuilt, git, tempDirsOfThisFile } from './helpers/cli.js';

const temps = tempDirsOfThisFile();
const demoFleet = demoFleetRepos(temps, 'migrate-git-env-');
beforeAll(() => ensureBuilt(), 180_000);

it('a run started with GIT_DIR of a linked worktree migrates its own repository and leaves that one alone', async () => {
  const root = await demoFleet();
  // The hook's repository: a main checkout and a linked worktree sharing its config.
  const hooked = mkdtempSync(path.join(os.tmpdir(), 'migrate-hooked-'));
  temps.push(hooked);
  git(hooked, ['init', '-q', '-b', 'main']);
  git(hooked, ['-c', 'user.email=h@example.invalid', '-c', 'user.name=h', 'commit', '-q', '--allow-empty', '-m', 'hooked']);
  git(hooked, ['worktree', 'add', '-q', path.join(hooked, 'wt')]);
  const config = readFileSync(path.join(hooked, '.git', 'config'), 'utf8');
  const hookedHead = git(hooked, ['rev-parse', 'HEAD']);
  const before = git(root, ['rev-parse', 'HEAD']);

  const gitDir = path.join(hooked, '.git', 'worktrees', 'wt');
  const r = await cli(root, ['run', 'ConfigWatcherAgent', '--json'], {
    env: { GIT_DIR: gitDir, GIT_INDEX_FILE: path.join(gitDir, 'index'), GIT_WORK_TREE: path.join(hooked, 'wt') },
  });
  expect(r.exitCode, r.stderr).toBe(0);
  const result = JSON.parse(r.stdout) as { results: Array<{ agent: string; status: string }> };
  expect(result.results.map((x) => [x.agent, x.status])).toEqual([['ConfigWatcherAgent', 'migrated']]);
  // Its commit is in the migrated repository, on top of the fleet.
  expect(git(root, ['rev-parse', 'HEAD~1'])).toBe(before);
  expect(git(root, ['log', '-1', '--name-only', '--format='])).toContain('_v2.py');
  // The hook's repository: same HEAD, same config (no core.bare, no identity written).
  expect(git(hooked, ['rev-parse', 'HEAD'])).toBe(hookedHead);
  expect(readFileSync(path.join(hooked, '.git', 'config'), 'utf8')).toBe(config);
}, 120_000);
