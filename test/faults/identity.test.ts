// No git identity configured (no user.name / user.email anywhere git looks): the tool commits
// as `migrate <migrate@localhost>` so the run still completes, as README says. Before, `run` and
// `revert` did it without a word: the user found commits in someone else's name in `git log`
// later. Now each says so once on stderr (and how to make them yours); with an identity, or an
// author and committer named by the environment, nothing is said. Real repositories, the built CLI.
import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT, baseline, cleanupAll, cli, demoRepo, ensureBuilt, expectIntact, git, parseRun, resultOf, run, tag, tempDir } from './harness.js';

beforeAll(() => ensureBuilt(), 180_000);
afterAll(cleanupAll);

const LINE = /^migrate: warning: git has no user\.name\/user\.email here: the commits are made as migrate <migrate@localhost>; `git config user\.name NAME` and `git config user\.email EMAIL` make them yours/;

/** A home and config folder with no git configuration, and no system one: git knows no identity but the repository's. */
function noIdentityEnv(): Record<string, string> {
  const home = tempDir('migrate-home-');
  mkdirSync(`${home}/.config`, { recursive: true });
  return { HOME: home, XDG_CONFIG_HOME: `${home}/.config`, GIT_CONFIG_NOSYSTEM: '1' };
}

describe('no git identity configured', () => {
  it('run and revert commit as migrate <migrate@localhost> and say so once each; the commits are whole', async () => {
    const root = await demoRepo();
    // The test repositories carry their own identity: this one has none.
    git(root, ['config', '--local', '--unset', 'user.name']);
    git(root, ['config', '--local', '--unset', 'user.email']);
    const env = noIdentityEnv();
    const before = baseline(root);
    const t = tag();
    const r = await run(root, ['run', AGENT, '--no-validate', '--json'], t, env);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(resultOf(parseRun(r), AGENT).status).toBe('migrated');
    // Before: stderr had no such line.
    expect(r.stderr.split('\n').filter((l) => LINE.test(l)), r.stderr).toHaveLength(1);
    const commits = await expectIntact(root, before, [t]);
    expect(commits.map((c) => c.agent)).toEqual([AGENT]);
    expect(git(root, ['log', '-1', '--format=%an <%ae>|%cn <%ce>'])).toBe('migrate <migrate@localhost>|migrate <migrate@localhost>');

    const rv = await run(root, ['revert', AGENT, '--json'], tag(), env);
    expect(rv.exitCode, rv.stderr).toBe(0);
    expect(JSON.parse(rv.stdout)).toMatchObject({ agent: AGENT, reverted: commits[0]!.sha });
    expect(rv.stderr).toMatch(/^migrate: warning: git has no user\.name\/user\.email here: the revert commit is made as migrate <migrate@localhost>;/m);
    expect(git(root, ['status', '--porcelain'])).toBe('');
  }, 120_000);

  it('an author and committer named by the environment, or an identity in the config: nothing said', async () => {
    const root = await demoRepo();
    git(root, ['config', '--local', '--unset', 'user.name']);
    git(root, ['config', '--local', '--unset', 'user.email']);
    const byEnv = await run(root, ['run', AGENT, '--no-validate', '--json'], tag(), {
      ...noIdentityEnv(),
      GIT_AUTHOR_NAME: 'Ci Bot',
      GIT_AUTHOR_EMAIL: 'ci@example.invalid',
      GIT_COMMITTER_NAME: 'Ci Bot',
      GIT_COMMITTER_EMAIL: 'ci@example.invalid',
    });
    expect(byEnv.exitCode, byEnv.stderr).toBe(0);
    expect(byEnv.stderr).not.toContain('user.name');
    expect(git(root, ['log', '-1', '--format=%an <%ae>'])).toBe('Ci Bot <ci@example.invalid>');

    const configured = await demoRepo();
    const r = await run(configured, ['run', AGENT, '--no-validate', '--json'], tag(), noIdentityEnv());
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('user.name');
  }, 120_000);
});

// Every other command that commits said nothing: `migrate commit`, review's accept and `promote`
// committed as migrate <migrate@localhost> unsaid. Each says it once now, through the one helper
// run and revert use (warnFallbackIdentity), and the commits it made are that identity's.
describe('no git identity: commit, review and promote say it too', () => {
  const said = (stderr: string, made: string) =>
    stderr.split('\n').filter((l) => l.startsWith(`migrate: warning: git has no user.name/user.email here: ${made} as migrate <migrate@localhost>; \`git config user.name NAME\``));

  it('commit, then promote, then review\'s accept: one line each, commits whole', async () => {
    const root = await demoRepo();
    const r0 = await run(root, ['run', AGENT, '--no-commit'], tag());
    expect(r0.exitCode, r0.stderr).toBe(0);
    git(root, ['config', '--local', '--unset', 'user.name']);
    git(root, ['config', '--local', '--unset', 'user.email']);
    const env = noIdentityEnv();

    const c = await run(root, ['commit', AGENT, '--json'], tag(), env);
    expect(c.exitCode, c.stderr).toBe(0);
    // Before: no such line.
    expect(said(c.stderr, 'the commits are made'), c.stderr).toHaveLength(1);
    expect(git(root, ['log', '-1', '--format=%an <%ae>'])).toBe('migrate <migrate@localhost>');

    const p = await run(root, ['promote', AGENT, '--json'], tag(), env);
    expect(p.exitCode, p.stderr).toBe(0);
    expect(said(p.stderr, 'the promotion commits are made'), p.stderr).toHaveLength(1);
    expect(git(root, ['log', '-1', '--format=%an <%ae>|%s'])).toMatch(/^migrate <migrate@localhost>\|/);

    const other = 'RateLimiterAgent';
    const w = await run(root, ['run', other, '--no-commit', '--no-validate'], tag(), env);
    expect(w.exitCode, w.stderr).toBe(0);
    const head = git(root, ['rev-parse', 'HEAD']);
    const rv = await cli(root, ['review', other], { env, input: 'a\n' });
    expect(rv.exitCode, rv.stdout + rv.stderr).toBe(0);
    expect(rv.stdout).toMatch(new RegExp(`accepted ${other}: committed`));
    expect(said(rv.stderr, 'an accept commits'), rv.stderr).toHaveLength(1);
    expect(git(root, ['rev-list', '--count', `${head}..HEAD`])).toBe('1');
    expect(git(root, ['log', '-1', '--format=%an <%ae>'])).toBe('migrate <migrate@localhost>');
    expect(git(root, ['status', '--porcelain'])).toBe('');
  }, 180_000);
});
