// commit.gpgsign=true where signing cannot work (no key, no gpg agent): before, each agent was
// rewritten and validated (about 40 s of runtime checks) and only then failed at its commit with
// git's "gpg failed to sign the data", once per agent of the batch. Now one signed commit object
// proves signing before anything is written: refused in one line, exit 2; where signing works the
// run commits as usual, and its commit is signed.
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliInProcess } from '../helpers/cli.js';
import { AGENT, AGENT_V2, cleanupAll, copyRepo, demoRepo, ensureBuilt, git, parseRun, resultOf, runInProcess, sha256, tag, tempDir, validatedDemoRepo } from './harness.js';

beforeAll(() => ensureBuilt(), 180_000);
afterAll(cleanupAll);

/** A gpg.program git runs as `PROG --status-fd=2 -bsau KEY`: `ok` signs (git needs SIG_CREATED on the status fd), otherwise it fails as gpg does without a key. */
function gpgProgram(ok: boolean): string {
  const f = path.join(tempDir('migrate-gpg-'), 'gpg');
  writeFileSync(
    f,
    ok
      ? '#!/bin/sh\ncat >/dev/null\necho "[GNUPG:] SIG_CREATED D 1 8 00 0 0" >&2\nprintf -- "-----BEGIN PGP SIGNATURE-----\\n\\nc2lnbmVk\\n-----END PGP SIGNATURE-----\\n"\n'
      : '#!/bin/sh\ncat >/dev/null\necho "gpg: signing failed: No secret key" >&2\nexit 2\n',
  );
  chmodSync(f, 0o755);
  return f;
}

describe('commit.gpgsign', () => {
  it('signing cannot work: run refuses before writing anything, in one line naming the setting; nothing written, HEAD unmoved', async () => {
    const root = await demoRepo();
    git(root, ['config', 'commit.gpgsign', 'true']);
    git(root, ['config', 'gpg.program', gpgProgram(false)]);
    const head = git(root, ['rev-parse', 'HEAD']);
    const r = await runInProcess(root, ['run', AGENT, '--no-validate', '--json'], tag());
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
    expect(r.stderr).toMatch(/refusing to start: commit\.gpgsign is true but git cannot sign a commit here \(.*failed to sign the data\); .*--no-commit/);
    expect(git(root, ['rev-parse', 'HEAD'])).toBe(head);
    expect(git(root, ['status', '--porcelain', '--untracked-files=all'])).toBe('');
    expect(existsSync(path.join(root, AGENT_V2))).toBe(false);
    // --no-commit signs nothing: not refused.
    const nc = await runInProcess(root, ['run', AGENT, '--no-validate', '--no-commit', '--json'], tag());
    expect(nc.exitCode, nc.stderr).toBe(0);
    expect(resultOf(parseRun(nc), AGENT).status).toBe('migrated');
  });

  it('signing works: the run commits once, and the migration commit is signed', async () => {
    const root = await demoRepo();
    git(root, ['config', 'commit.gpgsign', 'true']);
    git(root, ['config', 'gpg.program', gpgProgram(true)]);
    const head = git(root, ['rev-parse', 'HEAD']);
    const r = await runInProcess(root, ['run', AGENT, '--no-validate', '--json'], tag());
    expect(r.exitCode, r.stderr).toBe(0);
    const kv = resultOf(parseRun(r), AGENT);
    expect(kv.status).toBe('migrated');
    expect(git(root, ['rev-parse', 'HEAD~1'])).toBe(head);
    expect(git(root, ['cat-file', 'commit', 'HEAD'])).toMatch(/^gpgsig -----BEGIN PGP SIGNATURE-----/m);
    expect(git(root, ['status', '--porcelain', '--untracked-files=all'])).toBe('');
  });
});

// `migrate commit` (the _v2 a --no-commit run left, validated) had no such check: each agent failed
// only at its own commit with git's "gpg failed to sign the data", one line per agent.
describe('commit.gpgsign and `migrate commit`, `migrate promote`', () => {
  let validated: string;
  beforeAll(async () => {
    validated = await validatedDemoRepo();
  }, 180_000);

  it('signing cannot work: refused before the first commit in one line (exit 2, code signing with --json); the _v2 stays untracked, byte for byte; once signing works it commits, signed; promote is refused the same way', async () => {
    const root = copyRepo(validated);
    const head = git(root, ['rev-parse', 'HEAD']);
    const v2 = sha256(path.join(root, AGENT_V2));
    git(root, ['config', 'commit.gpgsign', 'true']);
    git(root, ['config', 'gpg.program', gpgProgram(false)]);
    const r = await runInProcess(root, ['commit', AGENT, '--json'], tag());
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
    expect(r.stderr).toMatch(/^migrate: refusing to start: commit\.gpgsign is true but git cannot sign a commit here \(.*failed to sign the data\); set up signing \(user\.signingkey, gpg\.program\), then run `migrate commit` again/);
    expect(JSON.parse(r.stdout)).toMatchObject({ error: { code: 'signing', exit_code: 2 } });
    expect(git(root, ['rev-parse', 'HEAD'])).toBe(head);
    expect(git(root, ['status', '--porcelain', '--untracked-files=all'])).toBe(`?? ${AGENT_V2}`);
    expect(sha256(path.join(root, AGENT_V2))).toBe(v2);
    // Signing fixed: the same command commits once, signed.
    git(root, ['config', 'gpg.program', gpgProgram(true)]);
    const ok = await runInProcess(root, ['commit', AGENT], tag());
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(git(root, ['rev-parse', 'HEAD~1'])).toBe(head);
    expect(git(root, ['cat-file', 'commit', 'HEAD'])).toMatch(/^gpgsig -----BEGIN PGP SIGNATURE-----/m);
    expect(git(root, ['status', '--porcelain', '--untracked-files=all'])).toBe('');
    // promote commits too: refused the same way before its first commit, nothing promoted.
    git(root, ['config', 'gpg.program', gpgProgram(false)]);
    const committed = git(root, ['rev-parse', 'HEAD']);
    const p = await runInProcess(root, ['promote', AGENT, '--json'], tag());
    expect(p.exitCode, p.stderr).toBe(2);
    expect(p.stderr).toMatch(/^migrate: refusing to start: commit\.gpgsign is true but git cannot sign a commit here .*then run `migrate promote` again$/);
    expect(JSON.parse(p.stdout)).toMatchObject({ error: { code: 'signing', exit_code: 2 } });
    expect(git(root, ['rev-parse', 'HEAD'])).toBe(committed);
    expect(git(root, ['status', '--porcelain', '--untracked-files=all'])).toBe('');
  });
});

// `migrate review`'s accept commits too, and had no such check: the reviewer read the diff, pressed
// a, and met git's "gpg failed to sign the data" then. It is refused through the same checkSigning.
describe('commit.gpgsign and `migrate review`', () => {
  let validated: string;
  beforeAll(async () => {
    validated = await validatedDemoRepo();
  }, 180_000);

  it('signing cannot work: refused before the first diff in one line (exit 2), nothing committed, the _v2 untouched; once signing works the accept commits, signed', async () => {
    const root = copyRepo(validated);
    const head = git(root, ['rev-parse', 'HEAD']);
    const v2 = sha256(path.join(root, AGENT_V2));
    git(root, ['config', 'commit.gpgsign', 'true']);
    git(root, ['config', 'gpg.program', gpgProgram(false)]);
    const r = await cliInProcess(root, ['review', AGENT], { input: 'a\n' });
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
    expect(r.stderr).toMatch(/^migrate: refusing to start: commit\.gpgsign is true but git cannot sign a commit here \(.*failed to sign the data\); set up signing \(user\.signingkey, gpg\.program\), then run `migrate review` again/);
    expect(r.stdout, 'no diff shown, no key read').not.toMatch(/\[a\]ccept/);
    expect(git(root, ['rev-parse', 'HEAD'])).toBe(head);
    expect(git(root, ['status', '--porcelain', '--untracked-files=all'])).toBe(`?? ${AGENT_V2}`);
    expect(sha256(path.join(root, AGENT_V2))).toBe(v2);
    expect(existsSync(path.join(root, '.git', 'migrate-run.json')), 'no journal left').toBe(false);
    // Signing fixed: the same answer commits once, signed.
    git(root, ['config', 'gpg.program', gpgProgram(true)]);
    const ok = await cliInProcess(root, ['review', AGENT], { input: 'a\n' });
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(new RegExp(`accepted ${AGENT}: committed`));
    expect(git(root, ['rev-parse', 'HEAD~1'])).toBe(head);
    expect(git(root, ['cat-file', 'commit', 'HEAD'])).toMatch(/^gpgsig -----BEGIN PGP SIGNATURE-----/m);
    expect(git(root, ['status', '--porcelain', '--untracked-files=all'])).toBe('');
  }, 120_000);
});
