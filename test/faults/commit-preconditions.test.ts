// What `migrate commit` and `migrate review` (which commits too) check before an agent's commit,
// and what `migrate status` says of the run lock (probe-fault55's leftovers):
// - the branch: a _v2 validated on main and committed after a checkout of another branch (between
//   run and commit, or while review's editor was open) went onto that branch, built from main's
//   files. Committed only where it was validated (or, unvalidated, where the review began);
// - a hand-written migration-log/<Agent>.json committed at the agent's record path: the migration
//   commit replaced it without a word. Refused without --force, as a _v2 that differs is;
// - the run lock a kill -9 leaves: status named nothing. It says who holds it, alive or dead,
//   and what the next writing command does.
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ajv } from 'ajv';
import { cliInProcess } from '../helpers/cli.js';
import { AGENT, AGENT_V2, REPO, cleanupAll, copyRepo, demoRepo, ensureBuilt, git, migrateCommits, parseRun, resultOf, runInProcess, sha256, slowHook, tag, tempDir, untilHook, validatedDemoRepo, waitFor } from './harness.js';

beforeAll(() => ensureBuilt(), 180_000);
afterAll(cleanupAll);

const RECORD = `migration-log/${AGENT}.json`;

/** The demo repository with AGENT's _v2 written and validated on main by a --no-commit run, once per file; each test takes a copy. */
let validated: string;
beforeAll(async () => {
  validated = await validatedDemoRepo();
}, 180_000);

/** A branch `other` whose fleet_common (which every demo agent imports) differs from main's; HEAD stays where it was. */
function otherBranch(root: string): string {
  const from = git(root, ['rev-parse', '--abbrev-ref', 'HEAD']);
  git(root, ['checkout', '-q', '-b', 'other']);
  const common = path.join(root, 'agents', 'fleet_common.py');
  writeFileSync(common, `${readFileSync(common, 'utf8')}\n# other: a change of its own\n`);
  git(root, ['commit', '-q', '-am', 'other: its own fleet_common']);
  const head = git(root, ['rev-parse', 'HEAD']);
  git(root, ['checkout', '-q', from]);
  return head;
}

/** A copy of the validated repository, HEAD moved to `other` since the validation. */
function checkedOutOther(): { root: string; main: string; other: string; v2: string } {
  const root = copyRepo(validated);
  const main = git(root, ['rev-parse', 'HEAD']);
  const other = otherBranch(root);
  git(root, ['checkout', '-q', 'other']);
  return { root, main, other, v2: sha256(path.join(root, AGENT_V2)) };
}

function expectNothingCommitted(root: string, main: string, other: string, v2: string): void {
  expect(git(root, ['rev-parse', 'main'])).toBe(main);
  expect(git(root, ['rev-parse', 'other'])).toBe(other);
  expect(git(root, ['status', '--porcelain', '--untracked-files=all'])).toBe(`?? ${AGENT_V2}`);
  expect(sha256(path.join(root, AGENT_V2))).toBe(v2);
}

describe('a branch checked out between the run that validated a _v2 and its commit', () => {
  it('`migrate commit` refuses in one line naming both branches, commits nothing on either; back on main it commits once', async () => {
    const { root, main, other, v2 } = checkedOutOther();

    const r = await runInProcess(root, ['commit', AGENT], tag());
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toBe(
      `migrate: cannot commit ${AGENT}: HEAD is on other, not on main where ${AGENT}'s _v2 was validated (a checkout since?); nothing committed there, since the _v2 was validated from main's files: switch back to main, or validate it again on other (\`migrate validate ${AGENT}\`)`,
    );
    expectNothingCommitted(root, main, other, v2);

    git(root, ['checkout', '-q', 'main']);
    const again = await runInProcess(root, ['commit', AGENT], tag());
    expect(again.exitCode, again.stderr).toBe(0);
    expect(migrateCommits(root, main).map((c) => [c.agent, c.files])).toEqual([[AGENT, [AGENT_V2, RECORD]]]);
    expect(git(root, ['rev-parse', 'other'])).toBe(other);
  }, 90_000);

  it("review's accept of a validated _v2 after such a checkout fails with the same line; nothing is committed", async () => {
    const { root, main, other, v2 } = checkedOutOther();

    const said = await runInProcessReview(root, 'a\n');
    expect(said.stdout).toContain(
      `error: ${AGENT}: cannot commit ${AGENT}: HEAD is on other, not on main where ${AGENT}'s _v2 was validated (a checkout since?); nothing committed there, since the _v2 was validated from main's files\n`,
    );
    expect(said.exitCode).toBe(1);
    expectNothingCommitted(root, main, other, v2);
  }, 90_000);
});

/** `migrate review AGENT` in process with these answers (one a line) and `editor` as $EDITOR. */
function runInProcessReview(root: string, input: string, editor?: string) {
  return cliInProcess(root, ['review', AGENT], { input, env: editor ? { EDITOR: editor, VISUAL: '' } : {} });
}

describe("a branch checked out while review's editor is open", () => {
  it('the accept of the edited _v2 fails with one line naming both branches; nothing is committed on either, the edit stays', async () => {
    const root = copyRepo(validated);
    const main = git(root, ['rev-parse', 'HEAD']);
    const other = otherBranch(root);
    // The reviewer, editor open, switches branches in another terminal, then saves.
    const editor = path.join(tempDir('migrate-editor-'), 'editor.sh');
    writeFileSync(editor, `#!/bin/sh\ngit -C '${root}' checkout -q other\nprintf '\\n# reviewed by hand\\n' >> "$1"\n`);
    chmodSync(editor, 0o755);

    const said = await runInProcessReview(root, 'e\na\nq\n', editor);
    expect(said.stdout).toContain('edited; not validated since');
    expect(said.stdout).toContain(
      `error: ${AGENT}: cannot commit ${AGENT}: HEAD is on other, not on main where this review began (a checkout while it ran, or while the editor was open?); nothing committed there, since the _v2 was reviewed from main's files\n`,
    );
    expect(said.exitCode).toBe(1);
    expect(git(root, ['rev-parse', 'HEAD'])).toBe(other);
    expectNothingCommitted(root, main, other, sha256(path.join(root, AGENT_V2)));
    expect(readFileSync(path.join(root, AGENT_V2), 'utf8')).toMatch(/# reviewed by hand\n$/);
  }, 90_000);
});

/** A migration-log/<agent>.json of a person's (notes, unless `text`), committed. */
function handRecord(root: string, agent: string, text = `{ "note": "${agent} was moved by hand in March; see the wiki" }\n`): { sha: string; text: string } {
  mkdirSync(path.join(root, 'migration-log'), { recursive: true });
  writeFileSync(path.join(root, 'migration-log', `${agent}.json`), text);
  git(root, ['add', '--', `migration-log/${agent}.json`]);
  git(root, ['commit', '-q', '-m', `notes on ${agent}`]);
  return { sha: git(root, ['rev-parse', 'HEAD']), text };
}

describe('a hand-written migration-log/<Agent>.json, committed', () => {
  it('run refuses the agent before writing its _v2, naming the file and its commit; --force replaces it with a warning the record keeps', async () => {
    const root = await demoRepo();
    const agent = 'TextStatsAgent';
    const { sha, text } = handRecord(root, agent);
    const rel = `migration-log/${agent}.json`;

    const refused = await runInProcess(root, ['run', agent, '--no-validate', '--json'], tag());
    expect(refused.exitCode, refused.stderr).toBe(1);
    const res = resultOf(parseRun(refused), agent);
    expect([res.status, res.output, res.commit]).toEqual(['failed', null, null]);
    expect(res.error).toBe(
      `${rel} already exists and was committed by hand in ${sha.slice(0, 12)} ("notes on ${agent}"), not by a migration of ${agent}; migrate keeps ${agent}'s record there: pass --force to overwrite it (git keeps the old one), or move it away first`,
    );
    expect(git(root, ['rev-parse', 'HEAD'])).toBe(sha);
    expect(git(root, ['status', '--porcelain', '--untracked-files=all'])).toBe('');
    expect(readFileSync(path.join(root, rel), 'utf8')).toBe(text);

    const forced = await runInProcess(root, ['run', agent, '--no-validate', '--force', '--json'], tag());
    expect(forced.exitCode, forced.stderr).toBe(0);
    const warning = `${rel} was committed by hand in ${sha.slice(0, 12)} ("notes on ${agent}"), not by a migration of ${agent}; --force replaced it with migrate's record; \`git show ${sha.slice(0, 12)}:./${rel}\` has it`;
    expect(resultOf(parseRun(forced), agent).warnings).toContain(warning);
    expect(migrateCommits(root, sha).map((c) => c.agent)).toEqual([agent]);
    expect(JSON.parse(readFileSync(path.join(root, rel), 'utf8')).warnings).toContain(warning);
    expect(git(root, ['show', `${sha}:${rel}`])).toBe(text.trimEnd());
  }, 90_000);

  it('`migrate commit` refuses it (exit 2, one line) and --force commits with a warning; review\'s accept refuses it naming `migrate commit --force`', async () => {
    // A record in migrate's own format, copied by hand from another clone's migration (review reads
    // every record of migration-log/, and stops at one that is not in that format).
    const elsewhere = copyRepo(validated);
    expect((await runInProcess(elsewhere, ['commit', AGENT], tag())).exitCode).toBe(0);
    const root = copyRepo(validated);
    const { sha, text } = handRecord(root, AGENT, readFileSync(path.join(elsewhere, RECORD), 'utf8'));
    const v2 = sha256(path.join(root, AGENT_V2));
    const why = `${RECORD} already exists and was committed by hand in ${sha.slice(0, 12)} ("notes on ${AGENT}"), not by a migration of ${AGENT}; migrate keeps ${AGENT}'s record there:`;

    const refused = await runInProcess(root, ['commit', AGENT], tag());
    expect(refused.exitCode, refused.stderr).toBe(2);
    expect(refused.stderr).toBe(`migrate: ${why} pass --force to overwrite it (git keeps the old one), or move it away first`);

    const review = await runInProcessReview(root, 'a\nq\n');
    expect(review.stdout).toContain(`error: ${AGENT}: ${why} \`migrate commit ${AGENT} --force\` overwrites it (git keeps the old one), or move it away first\n`);
    expect(review.exitCode).toBe(1);
    expect(git(root, ['rev-parse', 'HEAD'])).toBe(sha);
    expect(git(root, ['status', '--porcelain', '--untracked-files=all'])).toBe(`?? ${AGENT_V2}`);
    expect(readFileSync(path.join(root, RECORD), 'utf8')).toBe(text);
    expect(sha256(path.join(root, AGENT_V2))).toBe(v2);

    const forced = await runInProcess(root, ['commit', AGENT, '--force'], tag());
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect(forced.stderr).toContain(`migrate: warning: ${RECORD} was committed by hand in ${sha.slice(0, 12)}`);
    expect(migrateCommits(root, sha).map((c) => [c.agent, c.files])).toEqual([[AGENT, [AGENT_V2, RECORD]]]);
    expect(JSON.parse(readFileSync(path.join(root, RECORD), 'utf8')).warnings.some((w: string) => w.startsWith(`${RECORD} was committed by hand`))).toBe(true);
  }, 90_000);

  it("migrate's own record (its migration commit wrote it) is no hand-written one: a run after the _v2 was removed by hand is not refused", async () => {
    const root = copyRepo(validated);
    const head = git(root, ['rev-parse', 'HEAD']);
    expect((await runInProcess(root, ['commit', AGENT], tag())).exitCode).toBe(0);
    // The migration commit's record stays at its path once the _v2 is removed by hand: still migrate's.
    git(root, ['rm', '-q', '--', AGENT_V2]);
    git(root, ['commit', '-q', '-m', 'drop the _v2 for now']);
    const again = await runInProcess(root, ['run', AGENT, '--no-validate', '--json'], tag());
    expect(again.exitCode, again.stderr).toBe(0);
    expect(resultOf(parseRun(again), AGENT).warnings.join('\n')).not.toMatch(/by hand/);
    expect(migrateCommits(root, head).map((c) => c.agent)).toEqual([AGENT, AGENT]);
  }, 90_000);
});

describe('`migrate status` and the run lock', () => {
  it('names a live holder, then the dead one a kill -9 left and what the next writing command does; that command takes it over', async () => {
    const root = copyRepo(validated);
    const marker = slowHook(root);
    const { child } = await untilHook(root, marker, ['commit', AGENT]);
    // status is read-only: asking it never takes or removes the lock.
    const schema = new Ajv({ allErrors: true }).compile(JSON.parse(readFileSync(path.join(REPO, 'schemas', 'status.schema.json'), 'utf8')));
    const runLock = async () => {
      const out = JSON.parse((await runInProcess(root, ['status', '--json'], tag())).stdout);
      expect(schema(out), JSON.stringify(schema.errors)).toBe(true);
      return out.run_lock;
    };

    const live = await runLock();
    expect(live).toMatchObject({ path: '.git/migrate-run.lock', pid: child.pid, holder: 'alive', next: 'fails-until-it-ends', command: `commit ${AGENT} --root ${root}` });
    expect(live.line).toMatch(new RegExp(`^the run lock \\.git/migrate-run\\.lock is held by pid ${child.pid} \\(alive, started .*: migrate commit ${AGENT} --root .*\\): a migrate command is running; the next writing command \\(run, commit, review, promote or revert\\) fails at once until it ends$`));

    process.kill(-child.pid!, 'SIGKILL');
    await child;
    const dead = await runInProcess(root, ['status'], tag());
    expect(dead.exitCode).toBe(0);
    expect(dead.stderr).toMatch(
      new RegExp(`migrate: note: the run lock \\.git/migrate-run\\.lock is held by pid ${child.pid} \\(dead, started .*: migrate commit ${AGENT} --root .*\\), left by a command killed outright; the next writing command \\(run, commit, review, promote or revert\\) removes it with a warning and goes on$`),
    );
    expect(await runLock()).toMatchObject({ pid: child.pid, holder: 'dead', next: 'takes-over' });

    rmSync(path.join(root, '.git', 'hooks', 'pre-commit'));
    const next = await runInProcess(root, ['commit', AGENT], tag());
    expect(next.exitCode, next.stderr).toBe(0);
    expect(next.stderr).toContain(`removed .git/migrate-run.lock left by a migrate command that is no longer running (pid ${child.pid}`);
    await waitFor(() => !existsSync(path.join(root, '.git', 'migrate-run.lock')), 'the lock released');
    expect(await runLock()).toBeUndefined();
  }, 120_000);
});
