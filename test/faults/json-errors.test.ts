// `--json` when a command refuses (exit 2), fails in one line (exit 1) or is interrupted: before,
// stdout was empty and a script's JSON.parse failed on "" with no idea why. Now stdout holds
// exactly one JSON document, {"error": {code, message, file, line, exit_code}} (schemas/error.schema.json),
// and the human line stays on stderr. One case per refusal class, each the real CLI process
// (bin/migrate.js spawned: the contract is about its stdout) on a real temporary repository.
import { chmodSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import Ajv from 'ajv';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT, AGENT_FILE, AGENT_V2, BIN, REPO, cleanupAll, commitAll, copyRepo, demoRepo, ensureBuilt, git, runInProcess, slowHook, tag, tempDir, untilHook, waitFor } from './harness.js';

beforeAll(() => ensureBuilt(), 180_000);
afterAll(cleanupAll);

const ajv = new Ajv({ allErrors: true });
const errorSchema = ajv.compile(JSON.parse(readFileSync(path.join(REPO, 'schemas', 'error.schema.json'), 'utf8')));

interface ErrorDoc {
  error: { code: string; message: string; file: string | null; line: number | null; exit_code: number };
}

/** The spawned CLI (`node bin/migrate.js <args> --root <root>`), PATH as given. */
async function migrate(root: string, args: string[], env: Record<string, string> = {}): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const r = await execa(process.execPath, [BIN, ...args, '--root', root], { cwd: root, reject: false, stdin: 'ignore', timeout: 120_000, env: { FORCE_COLOR: '0', NO_COLOR: '1', ...env } });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** stdout is one error document (JSON.parse fails on anything after it) of that code and exit; stderr says the same line. */
function expectErrorDoc(r: { exitCode: number; stdout: string; stderr: string }, code: string, exit: number): ErrorDoc['error'] {
  expect(r.exitCode, r.stderr).toBe(exit);
  const doc = JSON.parse(r.stdout) as ErrorDoc;
  expect(errorSchema(doc), ajv.errorsText(errorSchema.errors)).toBe(true);
  expect(doc.error.code, r.stderr).toBe(code);
  expect(doc.error.exit_code).toBe(exit);
  const lines = r.stderr.trim().split('\n');
  expect(lines.filter((l) => l.includes(doc.error.message)), r.stderr).toHaveLength(1);
  return doc.error;
}

/** The demo repository with AGENT migrated and committed (no validation), made once: tests copy it. */
let migrated: string;
let fresh: string;
beforeAll(async () => {
  fresh = await demoRepo();
  migrated = copyRepo(fresh);
  const r = await runInProcess(migrated, ['run', AGENT, '--no-validate'], tag());
  expect(r.exitCode, r.stderr).toBe(0);
}, 180_000);

describe('--json refusals print one error document on stdout', () => {
  it('an unknown flag (commander\'s own refusal): bad-flag, exit 2', async () => {
    const r = await migrate(copyRepo(fresh), ['run', AGENT, '--no-such-flag', '--json']);
    const e = expectErrorDoc(r, 'bad-flag', 2);
    expect(e.message).toBe("unknown option '--no-such-flag'");
    expect(r.stderr).toBe("migrate: unknown option '--no-such-flag' (see --help)");
  });

  it('an agent that does not exist: unknown-agent, exit 2 (validate and revert alike)', async () => {
    const root = copyRepo(fresh);
    const e = expectErrorDoc(await migrate(root, ['validate', 'NoSuchAgent', '--json']), 'unknown-agent', 2);
    expect(e.message).toMatch(/^no agent named "NoSuchAgent" under /);
    expectErrorDoc(await migrate(root, ['revert', 'KVCacheAgentt', '--json']), 'unknown-agent', 2);
  });

  it('an agent named in a file that does not parse: the file and line, not "no agent named"', async () => {
    const root = copyRepo(fresh);
    const file = path.join(root, AGENT_FILE);
    const lines = readFileSync(file, 'utf8').split('\n');
    const at = lines.findIndex((l) => /^\s+def /.test(l));
    lines.splice(at + 1, 0, `${lines[at]!.match(/^\s*/)![0]}    if (:`);
    writeFileSync(file, lines.join('\n'));
    git(root, ['commit', '-qam', 'a syntax error']);
    const e = expectErrorDoc(await migrate(root, ['run', AGENT, '--no-validate', '--json']), 'unknown-agent', 2);
    expect(e.message).toMatch(new RegExp(`^${AGENT} is declared in ${AGENT_FILE}, which cannot be migrated: ${AGENT_FILE}:${at + 2}:`));
    // Another name: said, with the file that could not be parsed.
    const other = expectErrorDoc(await migrate(root, ['run', 'NoSuchAgent', '--no-validate', '--json']), 'unknown-agent', 2);
    expect(other.message).toMatch(new RegExp(`^no agent named "NoSuchAgent" under .*; 1 file could not be parsed \\(${AGENT_FILE}:${at + 2}:`));
  });

  it('a dirty tree: dirty-tree, exit 2, nothing written', async () => {
    const root = copyRepo(fresh);
    writeFileSync(path.join(root, 'notes.txt'), 'mine\n');
    const head = git(root, ['rev-parse', 'HEAD']);
    const e = expectErrorDoc(await migrate(root, ['run', AGENT, '--no-validate', '--json']), 'dirty-tree', 2);
    expect(e.message).toMatch(/^refusing to start: untracked files \(notes\.txt\)/);
    expect(git(root, ['rev-parse', 'HEAD'])).toBe(head);
    expect(existsSync(path.join(root, AGENT_V2))).toBe(false);
  });

  it('a git index.lock left by a crashed git: index-lock, exit 2', async () => {
    const root = copyRepo(fresh);
    writeFileSync(path.join(root, '.git', 'index.lock'), '');
    const e = expectErrorDoc(await migrate(root, ['run', AGENT, '--no-validate', '--json']), 'index-lock', 2);
    expect(e.message).toMatch(/^refusing to start: .*index\.lock/);
  });

  it('the run lock held by a live process: run-lock, exit 2, the lock left alone', async () => {
    const root = copyRepo(fresh);
    // This test's own process: alive, and not provably a migrate command (no start time in the lock).
    const lock = path.join(root, '.git', 'migrate-run.lock');
    writeFileSync(lock, JSON.stringify({ pid: process.pid, started: '2026-01-01T00:00:00.000Z', command: 'run --all' }));
    const e = expectErrorDoc(await migrate(root, ['run', AGENT, '--no-validate', '--json']), 'run-lock', 2);
    expect(e.message).toContain(`another migrate run (pid ${process.pid}`);
    expect(existsSync(lock)).toBe(true);
  });

  it('commit.gpgsign without a usable key: signing, exit 2 (run)', async () => {
    const root = copyRepo(fresh);
    git(root, ['config', 'commit.gpgsign', 'true']);
    git(root, ['config', 'gpg.program', failingGpg()]);
    const e = expectErrorDoc(await migrate(root, ['run', AGENT, '--no-validate', '--json']), 'signing', 2);
    expect(e.message).toMatch(/^refusing to start: commit\.gpgsign is true but git cannot sign a commit here/);
  });

  it('outside a git repository: not-git, exit 2; no git on PATH: git-missing, exit 2', async () => {
    const plain = tempDir('migrate-json-plain-');
    mkdirSync(path.join(plain, 'agents'));
    writeFileSync(path.join(plain, AGENT_FILE), readFileSync(path.join(fresh, AGENT_FILE)));
    const e = expectErrorDoc(await migrate(plain, ['run', AGENT, '--no-validate', '--json']), 'not-git', 2);
    expect(e.message).toMatch(/is not inside a git work tree/);
    // python3 only (the scan compiles), no git.
    const bin = tempDir('migrate-json-bin-');
    symlinkSync(execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim(), path.join(bin, 'python3'));
    const g = expectErrorDoc(await migrate(copyRepo(fresh), ['run', AGENT, '--no-validate', '--json'], { PATH: bin }), 'git-missing', 2);
    expect(g.message).toMatch(/^git not found on PATH/);
  });

  it('no python3: not a refusal but the agent\'s failure, still one run document (exit 1), the error naming python3', async () => {
    const root = copyRepo(fresh);
    const bin = tempDir('migrate-json-nopy-');
    symlinkSync(execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim(), path.join(bin, 'git'));
    const r = await migrate(root, ['run', AGENT, '--no-validate', '--no-commit', '--json'], { PATH: bin });
    expect(r.exitCode, r.stderr).toBe(1);
    const doc = JSON.parse(r.stdout) as { results: Array<{ agent: string; status: string; error: string | null }> };
    expect(doc.results.find((x) => x.agent === AGENT)).toMatchObject({ status: 'failed', error: expect.stringMatching(/python3 not found on PATH/) });
  });

  it('a revert that conflicts with a hand edit committed since: failed, exit 1, the repository unchanged', async () => {
    const root = copyRepo(migrated);
    writeFileSync(path.join(root, AGENT_V2), `${readFileSync(path.join(root, AGENT_V2), 'utf8')}\n# tuned by hand after the migration\n`);
    commitAll(root, 'tune the migrated agent');
    const head = git(root, ['rev-parse', 'HEAD']);
    const e = expectErrorDoc(await migrate(root, ['revert', AGENT, '--json']), 'failed', 1);
    expect(e.message).toMatch(new RegExp(`^cannot revert ${AGENT}: ${AGENT_V2.replace(/\./g, '\\.')} changed after [0-9a-f]{12} \\(in [0-9a-f]{12} "tune the migrated agent"\\) and conflicted; the revert was aborted and the repository is unchanged`));
    expect(git(root, ['rev-parse', 'HEAD'])).toBe(head);
    expect(git(root, ['status', '--porcelain', '--untracked-files=all'])).toBe('');
    // An uncommitted hand edit is a refusal of the tree, not a failure of the revert.
    writeFileSync(path.join(root, AGENT_V2), 'edited again\n');
    expectErrorDoc(await migrate(root, ['revert', AGENT, '--json']), 'dirty-tree', 2);
  });

  it('a revert interrupted (SIGINT to the foreground group) while git commits: interrupted, exit 130, nothing half done', async () => {
    const root = copyRepo(migrated);
    const head = git(root, ['rev-parse', 'HEAD']);
    const { child } = await untilHook(root, slowHook(root), ['revert', AGENT, '--json']);
    process.kill(-child.pid!, 'SIGINT');
    const r = await child;
    const e = expectErrorDoc({ exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) }, 'interrupted', 130);
    expect(e.message).toBe(`interrupted: cannot revert ${AGENT}: git commit was killed by SIGINT; the repository is unchanged`);
    expect(git(root, ['rev-parse', 'HEAD'])).toBe(head);
    expect(git(root, ['status', '--porcelain', '--untracked-files=all'])).toBe('');
    expect(existsSync(path.join(root, '.git', 'REVERT_HEAD'))).toBe(false);
  });
});

describe('a revert signalled alone (not its group) while git commits', () => {
  it('git finishes the revert: it stays, its document is printed, one line says so, exit 130 (was exit 0, not a word)', async () => {
    const root = copyRepo(migrated);
    const head = git(root, ['rev-parse', 'HEAD']);
    const marker = path.join(root, '.git', 'hook-started');
    const hook = path.join(root, '.git', 'hooks', 'pre-commit');
    writeFileSync(hook, `#!/bin/sh\ntouch "${marker}"\nsleep 2\n`);
    chmodSync(hook, 0o755);
    const child = execa(process.execPath, [BIN, 'revert', AGENT, '--json', '--root', root], { cwd: root, reject: false, stdin: 'ignore', env: { FORCE_COLOR: '0', NO_COLOR: '1' } });
    await waitFor(() => existsSync(marker) || child.exitCode !== null, 'the pre-commit hook', 60_000);
    child.kill('SIGINT');
    const r = await child;
    expect(r.exitCode, String(r.stderr)).toBe(130);
    const doc = JSON.parse(String(r.stdout)) as { agent: string; revert_commit: string };
    expect(doc.agent).toBe(AGENT);
    expect(git(root, ['rev-parse', 'HEAD'])).toBe(doc.revert_commit);
    expect(git(root, ['rev-parse', 'HEAD~1'])).toBe(head);
    expect(git(root, ['status', '--porcelain', '--untracked-files=all'])).toBe('');
    expect(String(r.stderr)).toBe(`migrate: interrupted (SIGINT) while git committed the revert; it completed and stays (${doc.revert_commit.slice(0, 12)})`);
  });
});

describe('status with a broken record', () => {
  it('a record cut short: status still lists every agent (exit 0, its schema), names the file and why, and says how to restore it', async () => {
    const root = copyRepo(migrated);
    const rec = path.join(root, 'migration-log', `${AGENT}.json`);
    writeFileSync(rec, readFileSync(rec, 'utf8').slice(0, 200));
    const r = await migrate(root, ['status', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const statusSchema = new Ajv({ allErrors: true }).compile(JSON.parse(readFileSync(path.join(REPO, 'schemas', 'status.schema.json'), 'utf8')));
    const doc = JSON.parse(r.stdout) as { agents: Array<{ name: string; state: string }>; unreadable_records?: Array<{ file: string; error: string }> };
    expect(statusSchema(doc), JSON.stringify(statusSchema.errors)).toBe(true);
    // The agent's commit is read from git: still committed; the other agents as before.
    expect(doc.agents.find((a) => a.name === AGENT)?.state).toBe('committed');
    expect(doc.agents.filter((a) => a.state === 'legacy').length).toBeGreaterThan(5);
    expect(doc.unreadable_records).toEqual([{ file: `migration-log/${AGENT}.json`, error: expect.stringMatching(/^not valid JSON: /) }]);
    expect(r.stderr).toContain(`migrate: note: migration-log/${AGENT}.json: not valid JSON: `);
    expect(r.stderr).toContain(`\`git checkout -- migration-log/${AGENT}.json\` restores the committed one`);
  });

  // A broken record committed (a hand edit gone wrong, then `git commit -a`). Before: every
  // `revert`/`promote`/`diff` naming any agent read all records and failed on that one ("not
  // valid JSON"), so no agent of the fleet could be reverted; and status advised
  // `git checkout -- FILE`, which gives back the same broken file.
  it('committed broken: another agent still reverts, status names the commit that broke it, its own revert says why and changes nothing', async () => {
    const root = copyRepo(migrated);
    const other = 'TextStatsAgent';
    const ran = await runInProcess(root, ['run', other, '--no-validate'], tag());
    expect(ran.exitCode, ran.stderr).toBe(0);
    const rec = path.join(root, 'migration-log', `${AGENT}.json`);
    writeFileSync(rec, readFileSync(rec, 'utf8').replace('"agent"', 'agent'));
    commitAll(root, 'tweak the record by hand');
    const broke = git(root, ['rev-parse', '--short', 'HEAD']);
    const st = await migrate(root, ['status']);
    expect(st.exitCode, st.stderr).toBe(0);
    expect(st.stderr).toContain(`: the agents are shown without it; it is committed so (last changed in ${broke} "tweak the record by hand"): \`git checkout ${broke}~1 -- migration-log/${AGENT}.json\` restores the one before`);
    expect(st.stderr).not.toContain('restores the committed one');
    // report and review failed whole on it ("not valid JSON", exit 1): the fleet now, the file named.
    const note = `migrate: note: migration-log/${AGENT}.json: not valid JSON: `;
    const html = path.join(tempDir('migrate-report-'), 'report.html');
    const rep = await migrate(root, ['report', '--out', html]);
    expect(rep.exitCode, rep.stderr).toBe(0);
    expect(rep.stderr).toContain(note);
    // The same words as status, restore advice included (before, report and review said the agent was
    // "shown from the record its commit holds", untrue of an agent with no commit, and gave no advice).
    const advice = `\`git checkout ${broke}~1 -- migration-log/${AGENT}.json\` restores the one before`;
    expect(rep.stderr).toContain(advice);
    expect(readFileSync(html, 'utf8')).toContain(AGENT);
    const rev = await migrate(root, ['review']);
    expect(rev.exitCode, rev.stderr).toBe(0);
    expect(rev.stderr).toContain(note);
    expect(rev.stderr).toContain(advice);

    const rv = await migrate(root, ['revert', other, '--json']);
    expect(rv.exitCode, rv.stderr).toBe(0);
    expect(JSON.parse(rv.stdout)).toMatchObject({ agent: other });
    expect(existsSync(path.join(root, 'agents', 'text_stats_agent_v2.py'))).toBe(false);

    const head = git(root, ['rev-parse', 'HEAD']);
    const own = await migrate(root, ['revert', AGENT]);
    expect(own.exitCode).toBe(1);
    expect(own.stderr.trim().split('\n'), own.stderr).toHaveLength(1);
    expect(own.stderr).toMatch(new RegExp(`^migrate: cannot revert ${AGENT}: migration-log/${AGENT}\\.json changed after \\w+ \\(in ${broke}\\w* "tweak the record by hand"\\) and conflicted; the revert was aborted and the repository is unchanged`));
    expect(git(root, ['rev-parse', 'HEAD'])).toBe(head);
    expect(git(root, ['status', '--porcelain', '--untracked-files=all'])).toBe('');
  });
});

/** A gpg.program that fails as gpg does without a secret key. */
function failingGpg(): string {
  const f = path.join(tempDir('migrate-gpg-'), 'gpg');
  writeFileSync(f, '#!/bin/sh\ncat >/dev/null\necho "gpg: signing failed: No secret key" >&2\nexit 2\n');
  chmodSync(f, 0o755);
  return f;
}

describe('the error document names the file and line a refusal names', () => {
  it('a broken .migrate/config.yaml: usage, exit 2, file and line apart from the message', async () => {
    const root = copyRepo(fresh);
    mkdirSync(path.join(root, '.migrate'), { recursive: true });
    writeFileSync(path.join(root, '.migrate', 'config.yaml'), 'ignore:\n  - vendor/\npromote:\n  mode: sideways\n');
    commitAll(root, 'a config with a typo');
    const e = expectErrorDoc(await migrate(root, ['scan', '--json']), 'usage', 2);
    const config = path.join(root, '.migrate', 'config.yaml');
    expect(e).toMatchObject({ file: config, line: 4, message: `${config}:4: promote.mode must be one of replace, script_path` });
  });
});
