// Faults of git and of the files a run replaces (issue 11, items 4, 5, 7 and 10): a
// commit that fails without a word or is killed, a git killed mid-commit together with
// the tool (index.lock left behind), a stray lock, --force over a tracked or ignored
// _v2 followed by a failure, and an agent whose name no record can carry.
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AGENT,
  AGENT_V2,
  baseline,
  cleanupAll,
  commitAll,
  demoRepo,
  ensureBuilt,
  expectIntact,
  git,
  kill,
  tag,
  parseRun,
  patchFleetCommon,
  resultOf,
  REPO,
  run,
  runInProcess,
  sha256,
  slowHook,
  spawnRun,
  tagged,
  untilHook,
  waitFor,
} from './harness.js';
import { Ajv } from 'ajv';

beforeAll(() => ensureBuilt(), 180_000);
afterAll(cleanupAll);

function hook(root: string, body: string): void {
  const f = path.join(root, '.git', 'hooks', 'pre-commit');
  writeFileSync(f, `#!/bin/sh\n${body}\n`);
  chmodSync(f, 0o755);
}
const dropHook = (root: string) => writeFileSync(path.join(root, '.git', 'hooks', 'pre-commit'), '#!/bin/sh\nexit 0\n');
/** Only when the commit is the KVCacheAgent's. */
const forKv = (action: string) => `git diff --cached --name-only | grep -q kv_cache_agent_v2 && { ${action}; }\nexit 0`;

describe('4. a commit counts only when HEAD moved to exactly the agent\'s commit', () => {
  it('a hook that exits 1 silently: that agent fails with the exit code, nothing of it stays staged; the rerun commits it once', async () => {
    const root = await demoRepo();
    hook(root, forKv('exit 1'));
    const before = baseline(root);
    const t = tag();
    const r = await runInProcess(root, ['run', AGENT, 'TextStatsAgent', '--no-validate', '--json'], t);
    expect(r.exitCode, r.stderr).toBe(1);
    const out = parseRun(r);
    const kv = resultOf(out, AGENT);
    expect({ status: kv.status, commit: kv.commit, output: kv.output }).toEqual({ status: 'failed', commit: null, output: null });
    expect(kv.error).toBe('commit: cannot commit KVCacheAgent: git commit exited with code 1 and said nothing (a hook that refused it silently?)');
    expect(resultOf(out, 'TextStatsAgent').commit).toMatch(/^[0-9a-f]{40}$/);
    expect((await expectIntact(root, before, [t])).map((c) => c.agent)).toEqual(['TextStatsAgent']);

    dropHook(root);
    const again = await runInProcess(root, ['run', AGENT, 'TextStatsAgent', '--no-validate', '--json'], t);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(resultOf(parseRun(again), 'TextStatsAgent').status).toBe('unchanged');
    expect((await expectIntact(root, before, [t])).map((c) => c.agent)).toEqual(['TextStatsAgent', AGENT]);
  }, 90_000);

  it('a git killed by a signal mid-commit: that agent fails, its lock and index entries are cleaned, the next agent still commits', async () => {
    const root = await demoRepo();
    hook(root, forKv('kill -9 $PPID'));
    const before = baseline(root);
    const t = tag();
    const r = await runInProcess(root, ['run', AGENT, 'TextStatsAgent', '--no-validate', '--json'], t);
    expect(r.exitCode, r.stderr).toBe(1);
    const out = parseRun(r);
    expect(resultOf(out, AGENT).error).toBe('commit: cannot commit KVCacheAgent: git commit was killed by SIGKILL');
    expect(resultOf(out, 'TextStatsAgent').commit).toMatch(/^[0-9a-f]{40}$/);
    expect((await expectIntact(root, before, [t])).map((c) => c.agent)).toEqual(['TextStatsAgent']);
  }, 90_000);
});

describe('5. a git killed mid-commit with the tool: the lock is recognised, and nothing is deleted before the repository is consistent', () => {
  it('kill -9 of migrate and its git during the commit: the next run removes the lock it proves ours and completes once', async () => {
    const root = await demoRepo();
    hook(root, forKv('echo $PPID > .git/fault-git-pid; exec sleep 30'));
    const before = baseline(root);
    const t = tag();
    const child = spawnRun(root, ['run', AGENT, '--no-validate', '--json'], t);
    const pidFile = path.join(root, '.git', 'fault-git-pid');
    await waitFor(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '', 'the commit hook');
    kill(child.pid!);
    kill(Number(readFileSync(pidFile, 'utf8')));
    for (const p of tagged(t)) kill(p.pid); // the hook's sleep
    await child;
    expect(existsSync(path.join(root, '.git', 'index.lock')), 'the killed git left its lock').toBe(true);
    expect(JSON.parse(readFileSync(path.join(root, '.git', 'migrate-run.json'), 'utf8')).commit, 'the journal knows a commit was running').toBeTruthy();
    dropHook(root);
    const t2 = tag();
    const rerun = await runInProcess(root, ['run', AGENT, '--no-validate', '--json'], t2);
    expect(rerun.exitCode, rerun.stderr).toBe(0);
    expect(rerun.stderr).toMatch(/^migrate: removed \.git\/index\.lock left by a git killed mid-commit \(run pid \d+\)$/m);
    expect(rerun.stderr).toMatch(/recovered from a killed run \(pid \d+\): stopped 0 agent process\(es\), put back [1-9]\d* unfinished file\(s\)/);
    expect((await expectIntact(root, before, [t, t2])).map((c) => c.agent)).toEqual([AGENT]);
  }, 90_000);

  it('a stray index.lock with no git process: one line, exit 2, nothing written; fine once it is gone', async () => {
    const root = await demoRepo();
    const before = baseline(root);
    writeFileSync(path.join(root, '.git', 'index.lock'), '');
    const t = tag();
    const r = await runInProcess(root, ['run', AGENT, '--no-validate', '--json'], t);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe('migrate: refusing to start: .git/index.lock exists but no git process is running (a git killed mid-operation left it); remove it, then run again');
    expect(existsSync(path.join(root, '.git', 'migrate-run.json'))).toBe(false);
    expect(git(root, ['status', '--porcelain'])).toBe('');
    rmSync(path.join(root, '.git', 'index.lock'));
    const ok = await runInProcess(root, ['run', AGENT, '--no-validate', '--json'], t);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect((await expectIntact(root, before, [t])).map((c) => c.agent)).toEqual([AGENT]);
  }, 60_000);

  it('a killed run\'s journal and a lock it cannot prove its own: recovery stops, says why, and keeps the journal for later', async () => {
    const root = await demoRepo();
    const before = baseline(root);
    writeFileSync(path.join(root, AGENT_V2), '# left by the killed run\n');
    const journal = { version: 2, kind: 'run', pid: 999999999, started: 'x', root, files: [AGENT_V2], backups: {}, groups: [] };
    writeFileSync(path.join(root, '.git', 'migrate-run.json'), JSON.stringify(journal));
    writeFileSync(path.join(root, '.git', 'index.lock'), '');
    const t = tag();
    const r = await runInProcess(root, ['run', AGENT, '--no-validate', '--json'], t);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe(
      'migrate: cannot recover the killed run (pid 999999999): .git/index.lock exists but no git process is running (a git killed mid-operation left it); remove it, then run again',
    );
    expect(existsSync(path.join(root, '.git', 'migrate-run.json')), 'the journal stays').toBe(true);
    expect(existsSync(path.join(root, AGENT_V2)), 'nothing deleted yet').toBe(true);
    rmSync(path.join(root, '.git', 'index.lock'));
    const ok = await runInProcess(root, ['run', AGENT, '--no-validate', '--json'], t);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect((await expectIntact(root, before, [t])).map((c) => c.agent)).toEqual([AGENT]);
  }, 60_000);
});

// The _v2 crashes at import: validation fails at once.
const V2_CRASHES = `
import sys as _f_sys
if _f_sys.argv[0].endswith("_v2.py"):
    raise SystemExit("fault: the _v2 refuses to start")
`;

describe('7. --force keeps what it overwrites until the new file is final', () => {
  it('a tracked _v2, then a failed validation: the user\'s file comes back byte for byte, nothing staged', async () => {
    const root = await demoRepo();
    writeFileSync(path.join(root, AGENT_V2), '# my own hand-made migration, committed\nprint("v2 by hand")\n');
    patchFleetCommon(root, V2_CRASHES, 'a hand-made _v2 and a fault');
    const before = baseline(root);
    expect(before.files.has(AGENT_V2)).toBe(true);
    const t = tag();
    const r = await run(root, ['run', AGENT, '--force', '--profile', 'fast', '--json'], t);
    expect(r.exitCode, r.stderr).toBe(1);
    expect(resultOf(parseRun(r), AGENT)).toMatchObject({ status: 'failed', commit: null, output: null });
    expect((await expectIntact(root, before, [t])).map((c) => c.agent)).toEqual([]);
  }, 90_000);

  it('a gitignored _v2: a failed validation restores it; a passing one that git add refuses (ignored) restores it and leaves no record staged', async () => {
    const root = await demoRepo();
    writeFileSync(path.join(root, '.gitignore'), `${readFileSync(path.join(root, '.gitignore'), 'utf8').trimEnd()}\n${AGENT_V2}\n`);
    commitAll(root, 'ignore the _v2');
    const mine = '# my local experiment, ignored by git\n';
    writeFileSync(path.join(root, AGENT_V2), mine);
    const before = baseline(root);
    const t = tag();
    // The profile's own 30 s registry deadline, not the fast profile's 3 s: this validation must
    // pass (at load ~16 it failed once; which check was not shown, so now the failing ones are).
    const passing = await run(root, ['run', AGENT, '--force', '--json'], t);
    expect(passing.exitCode, passing.stderr).toBe(1);
    const res = resultOf(parseRun(passing), AGENT);
    expect(res.validation?.ok, `validation itself passed: ${JSON.stringify(res.validation?.checks.filter((c) => !c.ok))}`).toBe(true);
    // One line naming the file and the rule (git's own message spread the path over the next lines).
    expect(res.error).toMatch(/^commit: cannot commit KVCacheAgent: agents\/kv_cache_agent_v2\.py is ignored by git \(\.gitignore:\d+: agents\/kv_cache_agent_v2\.py\); un-ignore it to commit$/);
    expect(readFileSync(path.join(root, AGENT_V2), 'utf8')).toBe(mine);
    expect(existsSync(path.join(root, 'migration-log', `${AGENT}.json`))).toBe(false);
    await expectIntact(root, before, [t], { ignored: [AGENT_V2] });

    patchFleetCommon(root, V2_CRASHES);
    const before2 = baseline(root);
    const failing = await run(root, ['run', AGENT, '--force', '--profile', 'fast', '--json'], t);
    expect(failing.exitCode, failing.stderr).toBe(1);
    expect(readFileSync(path.join(root, AGENT_V2), 'utf8')).toBe(mine);
    await expectIntact(root, before2, [t], { ignored: [AGENT_V2] });
  }, 120_000);
});

describe('7. status, then the next writing command, after a --force run killed with its git mid-commit', () => {
  it("status names the user's _v2 to restore, the record to remove and git's lock, touching nothing; the next run of another agent puts the user's bytes back, removes the lock, keeps their untracked file, and migrates once", async () => {
    const root = await demoRepo();
    const mine = '# my own hand-made migration, committed\nprint("v2 by hand")\n';
    writeFileSync(path.join(root, AGENT_V2), mine);
    commitAll(root, 'a hand-made _v2');
    const notes = path.join(root, 'notes.txt');
    writeFileSync(notes, "the user's notes, never committed\n");
    const before = baseline(root);
    // Killed with its git (the whole foreground group) while the hook holds the commit: the
    // user's _v2 is replaced and staged, the record staged, git's index.lock left.
    const { child } = await untilHook(root, slowHook(root), ['run', AGENT, '--force', '--no-validate', '--allow-dirty']);
    process.kill(-child.pid!, 'SIGKILL');
    await child;
    rmSync(path.join(root, '.git', 'hooks', 'pre-commit'));
    rmSync(path.join(root, '.git', 'hook-started'));
    const lock = path.join(root, '.git', 'index.lock');
    expect(existsSync(lock), 'the killed git left its lock').toBe(true);
    expect(readFileSync(path.join(root, AGENT_V2), 'utf8'), 'the killed run replaced the user\'s _v2').not.toBe(mine);
    const porcelain = git(root, ['status', '--porcelain', '--untracked-files=all']);
    const v2 = sha256(path.join(root, AGENT_V2));

    const text = await runInProcess(root, ['status'], tag());
    expect(text.exitCode, text.stderr).toBe(0);
    const lines = text.stdout.split('\n').filter((l) => l.startsWith('note: '));
    expect(lines.length, text.stdout).toBe(1);
    expect(lines[0]!.startsWith(`note: a migrate run that did not end (pid ${child.pid}, started `), lines[0]).toBe(true);
    // Before: nothing said that git's lock was there, nor that the next command removes it.
    expect(lines[0]!.endsWith(
      `left 2 files not committed (shown above as on disk now); the next writing command (run, commit, review, promote or revert) first puts them back: ${AGENT_V2} (${AGENT}), migration-log/${AGENT}.json (${AGENT}); it also removes .git/index.lock, left by the git commit killed with that run (until then git commands here fail on it)`,
    ), lines[0]).toBe(true);
    const json = await runInProcess(root, ['status', '--json'], tag());
    const out = JSON.parse(json.stdout) as { unfinished_run?: Record<string, unknown> };
    const ajv = new Ajv({ allErrors: true });
    const validate = ajv.compile(JSON.parse(readFileSync(path.join(REPO, 'schemas', 'status.schema.json'), 'utf8')));
    expect(validate(out), ajv.errorsText(validate.errors)).toBe(true);
    expect(out.unfinished_run).toMatchObject({
      state: 'killed',
      files: [
        { path: AGENT_V2, action: 'restore', agent: AGENT },
        { path: `migration-log/${AGENT}.json`, action: 'remove', agent: AGENT },
      ],
      git_lock: { path: '.git/index.lock', action: 'remove' },
    });
    // Read-only.
    expect(existsSync(lock)).toBe(true);
    expect(sha256(path.join(root, AGENT_V2))).toBe(v2);
    expect(git(root, ['status', '--porcelain', '--untracked-files=all'])).toBe(porcelain);

    // What it says happens, end to end: the next writing command (for another agent).
    const t = tag();
    const next = await runInProcess(root, ['run', 'TextStatsAgent', '--no-validate', '--allow-dirty', '--json'], t);
    expect(next.exitCode, next.stderr).toBe(0);
    expect(next.stderr).toMatch(/^migrate: removed \.git\/index\.lock left by a git killed mid-commit \(run pid \d+\)$/m);
    expect(next.stderr).toMatch(/recovered from a killed run \(pid \d+\): stopped 0 agent process\(es\), put back 2 unfinished file\(s\)/);
    expect(readFileSync(path.join(root, AGENT_V2), 'utf8'), "the user's _v2, byte for byte").toBe(mine);
    expect(readFileSync(notes, 'utf8'), "the user's untracked file").toBe("the user's notes, never committed\n");
    expect(git(root, ['status', '--porcelain', '--untracked-files=all'])).toBe('?? notes.txt');
    rmSync(notes);
    expect((await expectIntact(root, before, [t])).map((c) => c.agent)).toEqual(['TextStatsAgent']);
    expect(JSON.parse((await runInProcess(root, ['status', '--json'], tag())).stdout)).not.toHaveProperty('unfinished_run');
  }, 120_000);
});

describe('10. an agent whose name no record can carry fails alone', () => {
  it('a non-ASCII class name: that agent fails with one line naming its file; the batch goes on; a rerun duplicates nothing', async () => {
    const root = await demoRepo();
    const text = readFileSync(path.join(root, 'agents', 'text_stats_agent.py'), 'utf8').replaceAll('TextStatsAgent', 'TéxtStatsAgent');
    writeFileSync(path.join(root, 'agents', 'texte_stats_agent.py'), text);
    commitAll(root, 'an agent with a non-ASCII name');
    const before = baseline(root);
    const t = tag();
    // Named together with another agent: every name's record path used to be checked up
    // front, so this one agent stopped the whole batch with exit 2.
    const both = ['TextStatsAgent', 'agents/texte_stats_agent.py', '--no-validate', '--json'];
    const r = await runInProcess(root, ['run', ...both], t);
    expect(r.exitCode, r.stderr).toBe(1);
    const out = parseRun(r);
    const odd = resultOf(out, 'TéxtStatsAgent');
    expect(odd.status).toBe('failed');
    expect(odd.error).toMatch(/^agents\/texte_stats_agent\.py:\d+: "TéxtStatsAgent" is not an agent class name/);
    expect(resultOf(out, 'TextStatsAgent').commit).toMatch(/^[0-9a-f]{40}$/);
    expect((await expectIntact(root, before, [t])).map((c) => c.agent)).toEqual(['TextStatsAgent']);
    const again = await runInProcess(root, ['run', ...both], t);
    expect(again.exitCode).toBe(1);
    expect(resultOf(parseRun(again), 'TextStatsAgent').status).toBe('unchanged');
    expect((await expectIntact(root, before, [t])).map((c) => c.agent)).toEqual(['TextStatsAgent']);
  }, 90_000);
});
