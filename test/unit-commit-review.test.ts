// A base migration unit through the user's loop without run's own commit: `run --no-commit` writes the
// base's _v2 and each agent's _v2, validates each agent and leaves them uncommitted (remembered for
// commit and review); `migrate commit` (named by the base or by one of its agents) commits them as ONE
// commit with the record run writes, refusing what is not validated as it is now; `migrate review` lists
// the unit as one item (each file's diff, each agent's validation) and accepting commits it as one.
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Ajv from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliInProcess, git, gitRepo, REPO } from './helpers/cli.js';
import { listCases, materialize } from './helpers/python-fixtures.js';
import type { BaseUnit } from '../src/core/types.js';

const ajv = new Ajv({ allErrors: true });
for (const f of ['validation', 'run', 'commit', 'status']) ajv.addSchema(JSON.parse(readFileSync(path.join(REPO, 'schemas', `${f}.schema.json`), 'utf8')));
function parsed<T>(name: string, stdout: string): T {
  const data = JSON.parse(stdout);
  const validate = ajv.getSchema(`${name}.schema.json`)!;
  expect(validate(data), `${name}: ${ajv.errorsText(validate.errors)}`).toBe(true);
  return data as T;
}

const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});
function fleet(name: string): string {
  const c = listCases().find((x) => x.name === name)!;
  const staged = materialize(c);
  roots.push(staged);
  const root = gitRepo(staged, 'migrate-unit-commit-');
  roots.push(root);
  return root;
}

/**
 * The unit's repository after `run --all --no-commit` (its files written, each agent validated,
 * nothing committed), made once: each test that starts from there gets a copy with its .git and
 * its files' times (the remembered validations name the files by their place in the work tree and
 * their sha256; the base's _v2 must not look changed since its agents were validated on it), as
 * commit and review find the repository after such a run. The run's own output is checked by the
 * first test.
 */
let written: { root: string; head: string; run: { exitCode: number; stdout: string; stderr: string } };
beforeAll(async () => {
  const root = fleet('home-made-daemon-base-unit-migrates');
  const head = git(root, ['rev-parse', 'HEAD']);
  written = { root, head, run: await cliInProcess(root, ['run', '--all', '--no-commit', '--json']) };
}, 400_000);
function writtenCopy(): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-unit-commit-'));
  roots.push(root);
  cpSync(written.root, root, { recursive: true, preserveTimestamps: true });
  return root;
}

const BASE_V2 = 'agents/daemons/daemon_base_v2.py';
const MEMBERS = ['agents/certs/cert_expiry_watcher.py', 'agents/notify/digest_mailer.py', 'agents/notify/webhook_retry_agent.py'];
const FILES = [BASE_V2, ...MEMBERS.map((f) => f.replace(/\.py$/, '_v2.py'))];

/** A record as a comparison sees it: what was migrated, not when or how long each check took. */
function recordShape(root: string): unknown {
  const r = JSON.parse(readFileSync(path.join(root, 'migration-log', 'DaemonBase.json'), 'utf8'));
  const checks = (v: { ok: boolean; checks: Array<{ name: string; ok: boolean }> }) => ({ ok: v.ok, checks: v.checks.map((c) => [c.name, c.ok]) });
  return {
    agent: r.agent,
    source: r.source,
    output: r.output,
    removed: r.removed,
    kept_for_review: r.kept_for_review,
    warnings: r.warnings,
    validation: r.validation,
    unit: r.unit.members.map((m: { class: string; source: unknown; output: unknown; validation: never }) => ({ class: m.class, source: m.source, output: m.output, validation: checks(m.validation) })),
  };
}

describe('a base migration unit committed after run --no-commit', () => {
  it('run --no-commit leaves the unit validated and uncommitted; commit (by an agent of it) makes the one commit run makes, refusing what is not validated as it is', async () => {
    const root = writtenCopy();
    const { head, run } = written;
    expect(run.exitCode, run.stderr + run.stdout.slice(0, 3000)).toBe(0);
    const unit = parsed<{ units: BaseUnit[] }>('run', run.stdout).units[0]!;
    expect([unit.status, unit.commit, unit.error], unit.error ?? '').toEqual(['migrated', null, null]);
    expect(unit.files).toEqual(FILES);
    for (const [cls, report] of Object.entries(unit.validation!)) expect(report.ok, cls).toBe(true);
    expect(git(root, ['rev-parse', 'HEAD'])).toBe(head);
    expect(git(root, ['status', '--porcelain', '--untracked-files=all']).split('\n').map((l) => l.slice(3)).sort()).toEqual([...FILES].sort());

    // status: still ready (not migrated until committed), with its files and what commits them.
    const status = parsed<{ units: BaseUnit[] }>('status', (await cliInProcess(root, ['status', '--json'])).stdout).units[0]!;
    expect([status.status, status.files]).toEqual(['ready', FILES]);
    expect(status.reason).toContain('its _v2 files are written and not committed');
    expect((await cliInProcess(root, ['status'])).stdout).toContain('unit DaemonBase (agents/daemons/daemon_base.py:16): ready, its 3 agents written with it (CertExpiryWatcher, DigestMailer, WebhookRetryAgent); written, not committed (4 _v2 files); migrate commit DaemonBase (or migrate review) commits it');

    // run again: the unit is written already, uncommitted; run refuses (committing) or says how to commit it
    // (--no-commit) and leaves it as it is.
    const rerun = await cliInProcess(root, ['run', 'DaemonBase']);
    expect([rerun.exitCode, rerun.stderr]).toEqual([2, expect.stringContaining('would be written by this run but already have uncommitted content; commit or remove them first')]);
    const rewrite = await cliInProcess(root, ['run', 'DaemonBase', '--no-commit', '--json']);
    expect(rewrite.exitCode).toBe(1);
    expect(parsed<{ units: BaseUnit[] }>('run', rewrite.stdout).units[0]!.error).toContain('already written and not committed (a --no-commit run): `migrate commit DaemonBase` or `migrate review` commits them');
    expect(git(root, ['status', '--porcelain', '--untracked-files=all']).split('\n').map((l) => l.slice(3)).sort()).toEqual([...FILES].sort());
    expect(git(root, ['rev-parse', 'HEAD'])).toBe(head);

    // An agent's _v2 edited since its validation: refused (exit 2), nothing committed; its bytes back: accepted again.
    const mailer = path.join(root, FILES[2]!);
    const bytes = readFileSync(mailer);
    writeFileSync(mailer, `${bytes}\n# tweak\n`);
    const edited = await cliInProcess(root, ['commit', 'DaemonBase']);
    expect(edited.exitCode).toBe(2);
    expect(edited.stderr.trim()).toBe(
      `migrate: ${FILES[2]} (DigestMailer of base migration unit DaemonBase): it was not validated as it is now; run \`migrate validate DaemonBase\` first (only validated files are committed)`,
    );
    writeFileSync(mailer, bytes);
    // The base's _v2 changed after the agents were validated on it: their validation says nothing of it.
    const base = path.join(root, BASE_V2);
    const { atime, mtime } = statSync(base);
    utimesSync(base, new Date(), new Date(Date.now() + 5_000));
    const stale = await cliInProcess(root, ['commit', 'DaemonBase']);
    expect(stale.exitCode).toBe(2);
    expect(stale.stderr).toContain(`(CertExpiryWatcher of base migration unit DaemonBase): it was validated before ${BASE_V2} last changed`);
    utimesSync(base, atime, mtime);
    expect(git(root, ['rev-parse', 'HEAD'])).toBe(head);

    // Named by one of its agents: the whole unit, one commit of every _v2 and the record.
    const commit = await cliInProcess(root, ['commit', 'DigestMailer', '--json']);
    expect(commit.exitCode, commit.stderr).toBe(0);
    const rows = parsed<{ results: Array<{ agent: string; file: string; output: string; files?: string[]; commit: string | null; error: string | null }> }>('commit', commit.stdout).results;
    expect(rows).toEqual([{ agent: 'DaemonBase', file: 'agents/daemons/daemon_base.py', output: BASE_V2, files: FILES, commit: git(root, ['rev-parse', 'HEAD']), error: null }]);
    expect(git(root, ['rev-list', '--count', `${head}..HEAD`])).toBe('1');
    expect(git(root, ['show', '--name-only', '--format=', 'HEAD']).split('\n').filter(Boolean).sort()).toEqual([...FILES, 'migration-log/DaemonBase.json'].sort());
    expect(git(root, ['log', '-1', '--format=%s'])).toBe('migrate(DaemonBase): move base migration unit DaemonBase (CertExpiryWatcher, DigestMailer, WebhookRetryAgent) onto BaseAgent');
    expect(git(root, ['log', '-1', '--format=%(trailers:key=Migrate-Agent,valueonly)']).trim()).toBe('DaemonBase');
    expect(git(root, ['status', '--porcelain'])).toBe('');
    const committed = recordShape(root);
    // Committing again: already committed (exit 2).
    const again = await cliInProcess(root, ['commit', 'DaemonBase']);
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toContain(`${BASE_V2} is already committed`);
    // The same record as run's own commit of the unit (reverted, then run again).
    expect((await cliInProcess(root, ['revert', 'DaemonBase'])).exitCode).toBe(0);
    const direct = await cliInProcess(root, ['run', '--all', '--json']);
    expect(direct.exitCode, direct.stderr).toBe(0);
    expect(parsed<{ units: BaseUnit[] }>('run', direct.stdout).units[0]!.status).toBe('migrated');
    expect(recordShape(root)).toEqual(committed);
  }, 400_000);

  it('review lists the unit as one item (each file, each agent\'s validation); skip, reject and accept act on the whole unit', async () => {
    // Written and validated by the shared run (checked in the first test).
    expect(written.run.exitCode, written.run.stderr).toBe(0);
    const root = writtenCopy();
    const { head } = written;
    // In process, the answers on its standard input (test/cli-in-process.test.ts compares review so run with the spawned CLI's).
    const review = (input: string, ...names: string[]) => cliInProcess(root, ['review', ...names], { input });
    const writeAgain = async () => {
      const run = await cliInProcess(root, ['run', '--all', '--no-commit', '--json']);
      expect(run.exitCode, run.stderr).toBe(0);
      expect(parsed<{ units: BaseUnit[] }>('run', run.stdout).units[0]!.status).toBe('migrated');
    };

    // Skip: the item shows the unit, every file's diff, what the base's rewrite removed and each agent's validation.
    const skip = await review('s\n');
    expect(skip.exitCode, skip.stderr).toBe(0);
    const shown = String(skip.stdout);
    expect(shown).toContain('── 1/1 base migration unit DaemonBase (3 agents: CertExpiryWatcher, DigestMailer, WebhookRetryAgent) agents/daemons/daemon_base.py:16');
    for (const f of FILES) expect(shown).toContain(`+++ ${f}`);
    expect(shown).toContain('+from agents.daemons.daemon_base_v2 import DaemonBase');
    expect(shown).toMatch(/\nremoved from DaemonBase: \S/);
    for (const cls of ['CertExpiryWatcher', 'DigestMailer', 'WebhookRetryAgent']) expect(shown).toMatch(new RegExp(`\\n${cls} validation passed: health ok`));
    expect(shown).toContain('0 accepted, 0 rejected, 1 skipped, 0 edit(s); 0 left to review');
    expect(git(root, ['rev-parse', 'HEAD'])).toBe(head);

    // Reject (named by one of its agents): every _v2 of the unit goes, nothing committed.
    const reject = await review('r\n', 'WebhookRetryAgent');
    expect(reject.exitCode, reject.stderr).toBe(0);
    expect(String(reject.stdout)).toContain(`rejected base migration unit DaemonBase: ${FILES.join(', ')} deleted, nothing committed`);
    expect(git(root, ['status', '--porcelain', '--untracked-files=all'])).toBe('');
    expect(git(root, ['rev-parse', 'HEAD'])).toBe(head);

    // Accept: one commit of the unit with the record run writes, the review's answers inside.
    await writeAgain();
    const accept = await review('a\n', 'DaemonBase');
    expect(accept.exitCode, accept.stderr).toBe(0);
    expect(String(accept.stdout)).toMatch(/accepted base migration unit DaemonBase: committed [0-9a-f]{10} /);
    expect(git(root, ['rev-list', '--count', `${head}..HEAD`])).toBe('1');
    expect(git(root, ['show', '--name-only', '--format=', 'HEAD']).split('\n').filter(Boolean).sort()).toEqual([...FILES, 'migration-log/DaemonBase.json'].sort());
    expect(git(root, ['status', '--porcelain'])).toBe('');
    const record = JSON.parse(readFileSync(path.join(root, 'migration-log', 'DaemonBase.json'), 'utf8'));
    expect(record.review.map((a: { answer: string }) => a.answer)).toEqual(['skip', 'reject', 'accept']);
    expect(record.unit.members.map((m: { class: string; validation: { ok: boolean } }) => [m.class, m.validation.ok])).toEqual([
      ['CertExpiryWatcher', true],
      ['DigestMailer', true],
      ['WebhookRetryAgent', true],
    ]);
    // Nothing left: the unit is committed.
    expect(String((await review('')).stdout)).toContain('nothing to review');
  }, 400_000);
  it('review edits a unit\'s base _v2 in $EDITOR, checks it, and accepts it once its agents are validated on the edited bytes: one commit', async () => {
    // Written and validated by the shared run (checked in the first test).
    expect(written.run.exitCode, written.run.stderr).toBe(0);
    const root = writtenCopy();
    const { head } = written;
    // The reviewer's editor: first a line that does not compile, then (called again) that line out and a comment in.
    const state = path.join(root, '.git', 'editor-called');
    const editor = path.join(root, '.git', 'reviewer-editor.sh');
    writeFileSync(editor, `if [ -f ${state} ]; then sed -i '/^def broken/d' "$1"; printf '# reviewed: the health payload is what our monitor reads\\n' >> "$1"; else printf 'def broken(:\\n' >> "$1"; touch ${state}; fi\n`);
    const review = (input: string, ...names: string[]) => cliInProcess(root, ['review', ...names], { input, env: { EDITOR: `sh ${editor}` } });

    const edit = await review('e\ne\na\nq\n');
    expect(edit.exitCode, edit.stderr).toBe(0);
    const said = String(edit.stdout);
    expect(said).toContain(`[e]dit ${BASE_V2} in $EDITOR`);
    expect(said).toMatch(new RegExp(`the edited unit does not pass: ${BASE_V2}:\\d+: `));
    expect(said).toContain(`edited ${BASE_V2}; its agents ran on the old bytes: \`migrate validate DaemonBase\` validates them on it`);
    // Shown again after the edit: each agent's validation is of the old base, and accept is refused.
    expect(said).toContain(`CertExpiryWatcher validation passed (it was validated before ${BASE_V2} last changed)`);
    expect(said).toContain(`cannot accept: ${FILES[1]} (CertExpiryWatcher of base migration unit DaemonBase): it was validated before ${BASE_V2} last changed; run \`migrate validate DaemonBase\` first`);
    expect(said).toContain('0 accepted, 0 rejected, 0 skipped, 2 edit(s); 1 left to review');
    expect(readFileSync(path.join(root, BASE_V2), 'utf8')).toMatch(/# reviewed: the health payload is what our monitor reads\n$/);
    expect(readFileSync(path.join(root, BASE_V2), 'utf8')).not.toContain('def broken');
    expect(git(root, ['rev-parse', 'HEAD'])).toBe(head);

    // Validated on the edited base, the unit is accepted as one commit: the edit in it, the answers and a warning in its record.
    const validate = await cliInProcess(root, ['validate', 'DaemonBase']);
    expect(validate.exitCode, validate.stdout + validate.stderr).toBe(0);
    const accept = await review('a\n', 'DaemonBase');
    expect(accept.exitCode, accept.stderr).toBe(0);
    expect(String(accept.stdout)).toMatch(/accepted base migration unit DaemonBase: committed [0-9a-f]{10} /);
    expect(git(root, ['rev-list', '--count', `${head}..HEAD`])).toBe('1');
    expect(git(root, ['show', '--name-only', '--format=', 'HEAD']).split('\n').filter(Boolean).sort()).toEqual([...FILES, 'migration-log/DaemonBase.json'].sort());
    expect(git(root, ['show', `HEAD:${BASE_V2}`])).toContain('# reviewed: the health payload');
    expect(git(root, ['status', '--porcelain'])).toBe('');
    const record = JSON.parse(readFileSync(path.join(root, 'migration-log', 'DaemonBase.json'), 'utf8'));
    expect(record.review.map((a: { answer: string }) => a.answer)).toEqual(['edit', 'edit', 'accept']);
    expect(record.review[1].edited_sha256).not.toBe(record.review[1].output_sha256);
    expect(record.warnings).toContain(`${BASE_V2} differs from migrate's rewrite (edited after \`migrate run\`); removed and kept_for_review describe the rewrite`);
  }, 400_000);
});

describe('a base migration unit validated on main, committed after a checkout of another branch', () => {
  it('commit and review refuse it in one line naming both branches; nothing is committed on either; back on main it commits', async () => {
    const root = writtenCopy();
    const main = git(root, ['rev-parse', 'HEAD']);
    git(root, ['checkout', '-q', '-b', 'other']);
    writeFileSync(path.join(root, 'OTHER.md'), 'a change of the other branch\n');
    git(root, ['add', 'OTHER.md']);
    git(root, ['commit', '-q', '-m', 'other: its own change']);
    const other = git(root, ['rev-parse', 'HEAD']);
    const line = /^cannot commit DaemonBase: HEAD is on other, not on main where agents\/\w+\/\w+_v2\.py \(\w+\) was validated \(a checkout since\?\); nothing committed there, since the _v2 was validated from main's files: switch back to main, or validate it again on other \(`migrate validate DaemonBase`\)$/;

    const commit = await cliInProcess(root, ['commit', 'DaemonBase']);
    expect(commit.exitCode, commit.stderr).toBe(2);
    expect(commit.stderr.replace(/^migrate: /, '')).toMatch(line);
    const review = await cliInProcess(root, ['review', 'DaemonBase'], { input: 'a\nq\n' });
    const refused = review.stdout.split('\n').find((l) => l.startsWith('cannot accept: '));
    expect(refused?.slice('cannot accept: '.length), review.stdout).toMatch(line);
    expect([git(root, ['rev-parse', 'main']), git(root, ['rev-parse', 'other'])]).toEqual([main, other]);
    expect(git(root, ['status', '--porcelain', '--untracked-files=all']).split('\n').map((l) => l.slice(3)).sort()).toEqual([...FILES].sort());

    git(root, ['checkout', '-q', 'main']);
    const back = await cliInProcess(root, ['commit', 'DaemonBase']);
    expect(back.exitCode, back.stderr).toBe(0);
    expect(git(root, ['log', '-1', '--format=%(trailers:key=Migrate-Agent,valueonly)']).trim()).toBe('DaemonBase');
    expect(git(root, ['rev-parse', 'HEAD~1'])).toBe(main);
  }, 400_000);
});
