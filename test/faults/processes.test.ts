// Faults around the processes the tool starts (issue 11, items 2, 3 and 12): a daemon
// that escapes the agent's process group, a crash of the tool (its watchdog too) with
// agents running, a journal that names processes that are not ours, kill -9 of
// `validate` and `run --no-commit`, and a crash in the middle of a write. Real
// repositories, the built CLI, real agents; every process a run causes carries a tag in
// its environment, so "nothing survives" is checked across the whole machine.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgentCgroup, removeCgroup } from '../../src/validate/cgroup.js';
import {
  AGENT,
  AGENT_V2,
  baseline,
  cleanupAll,
  demoRepo,
  ensureBuilt,
  NEVER_HEALTHY,
  expectIntact,
  freePort,
  git,
  kill,
  liveProcs,
  tag,
  parseRun,
  patchFleetCommon,
  REPO,
  resultOf,
  run,
  runInProcess,
  spawnRun,
  stray,
  tagged,
  unpatchFleetCommon,
  v2Agents,
  waitFor,
  watchdogs,
} from './harness.js';

beforeAll(() => ensureBuilt(), 180_000);
afterAll(cleanupAll);

/** Not exited and not killed (a killed child keeps exitCode null; signalCode tells). */
const running = (c: { exitCode: number | null; signalCode: NodeJS.Signals | null }) => c.exitCode === null && c.signalCode === null;

/** Can this machine give an agent a cgroup of its own (cgroup2, writable)? */
function cgroupsAvailable(): boolean {
  const dir = createAgentCgroup(`migrate-probe-${process.pid}`);
  if (dir) removeCgroup(dir);
  return Boolean(dir);
}
const CGROUPS = cgroupsAvailable();

/**
 * Python that makes the _v2 start a double-forked, setsid daemon keeping the output pipes. It
 * ignores SIGTERM (inherited across its exec): a leak even the SIGTERM a service manager's
 * stop sends, which the shutdown check sends too, does not end.
 */
function daemon(body: string): string {
  return `
import os as _f_os, signal as _f_signal, sys as _f_sys, time as _f_time
if _f_sys.argv[0].endswith("_v2.py"):
    if _f_os.fork() == 0:
        _f_os.setsid()
        if _f_os.fork() == 0:
            _f_signal.signal(_f_signal.SIGTERM, _f_signal.SIG_IGN)
${body
  .trim()
  .split('\n')
  .map((l) => `            ${l}`)
  .join('\n')}
        _f_os._exit(0)
`;
}
const KEEPS_ENV = 'while True:\n    _f_time.sleep(0.2)';

/** Live processes whose command line holds `needle` (for a daemon that cleared its environment). */
const byCommandLine = (needle: string) => liveProcs((_, cmdline) => cmdline().includes(needle)).map((p) => p.pid);

describe('2. everything an agent starts is tracked; a daemon fails validation, dies, and never hangs migrate', () => {
  const modes = [
    { name: 'cgroup', env: {} as Record<string, string>, skip: !CGROUPS },
    { name: 'process tree and marker (no cgroup)', env: { MIGRATE_NO_CGROUP: '1' }, skip: false },
  ];
  for (const mode of modes) {
    it.skipIf(mode.skip)(`${mode.name}: a double-fork + setsid daemon keeping the pipes`, async () => {
      const root = await demoRepo();
      patchFleetCommon(root, daemon(KEEPS_ENV));
      const before = baseline(root);
      const t = tag();
      const r = await run(root, ['run', AGENT, '--profile', 'fast', '--json'], t, mode.env, 90_000);
      expect(r.exitCode, r.stderr).toBe(1);
      const res = resultOf(parseRun(r), AGENT);
      expect({ status: res.status, commit: res.commit }).toEqual({ status: 'failed', commit: null });
      const shutdown = res.validation!.checks.find((c) => c.name === 'shutdown')!;
      expect(shutdown.detail).toMatch(/^exited 0 after \d+\.\d s but left 1 process\(es\) running: pid \d+ \([^)]*python3[^)]*\); killed$/);
      await expectIntact(root, before, [t]);
    }, 120_000);
  }

  it('a daemon that also clears its environment is still found: by its cgroup, or by the output pipes it holds', async () => {
    const root = await demoRepo();
    const needle = `${Date.now() % 100000}.${process.pid}`;
    // exec with an empty environment: no marker, no tag; only the inherited pipes (and the cgroup) link it.
    patchFleetCommon(root, daemon(`_f_os.execve("/bin/sleep", ["sleep", "${needle}"], {})`));
    const before = baseline(root);
    const t = tag();
    const r = await run(root, ['run', AGENT, '--profile', 'fast', '--json'], t, { MIGRATE_NO_CGROUP: '1' }, 90_000);
    stray(...byCommandLine(`sleep\0${needle}`));
    expect(r.exitCode, r.stderr).toBe(1);
    expect(resultOf(parseRun(r), AGENT).validation!.checks.find((c) => c.name === 'shutdown')!.detail).toMatch(/left 1 process\(es\) running: pid \d+ \(sleep [\d.]+\); killed$/);
    expect(byCommandLine(`sleep\0${needle}`), 'the daemon must be dead').toEqual([]);
    await expectIntact(root, before, [t]);
  }, 120_000);
});


/** Start a validating run and wait until its _v2 agent runs; the run is left running. */
async function untilValidating(root: string, args: string[], t: string, env: Record<string, string> = {}) {
  const child = spawnRun(root, args, t, env);
  await waitFor(() => v2Agents(t).length > 0 || !running(child), 'a _v2 agent process');
  expect(running(child), 'the run ended before validation started').toBe(true);
  // Wrapped: the process is a thenable, and returning it would wait for its end.
  return { child };
}

describe('30. status after kill -9 of a run says what the next writing command puts back', () => {
  it('the killed run\'s _v2 shows as migrated, and one line (one field in --json) says the next writing command removes it; nothing on disk changes', async () => {
    const root = await demoRepo();
    patchFleetCommon(root, NEVER_HEALTHY);
    const before = baseline(root);
    const t = tag();
    const { child } = await untilValidating(root, ['run', AGENT, '--profile', 'fast', '--json'], t);
    kill(child.pid!);
    await child;
    await waitFor(() => tagged(t).length === 0, 'the watchdog to end the agents', 10_000);
    const journalFile = path.join(root, '.git', 'migrate-run.json');
    const journal = readFileSync(journalFile);
    const v2 = readFileSync(path.join(root, AGENT_V2));
    const porcelain = git(root, ['status', '--porcelain', '--untracked-files=all']);
    const lockFile = path.join(root, '.git', 'migrate-run.lock');
    const lock = existsSync(lockFile) ? readFileSync(lockFile, 'utf8') : null; // the killed run's, left as it was

    const text = await runInProcess(root, ['status'], tag());
    expect(text.exitCode, text.stderr).toBe(0);
    const rowOf = (out: string) => out.split('\n').find((l) => l.startsWith(`${AGENT} `)) ?? '';
    expect(rowOf(text.stdout)).toMatch(/^KVCacheAgent\s+migrated\s/); // as it is on disk
    const notes = text.stdout.split('\n').filter((l) => l.startsWith('note: '));
    // Before: no word of the killed run; the leftover simply looked migrated.
    expect(notes.length, text.stdout).toBe(1);
    expect(notes[0]!.startsWith(`note: a migrate run that did not end (pid ${child.pid}, started `), notes[0]).toBe(true);
    expect(notes[0]!.endsWith(') left 1 file not committed (shown above as on disk now); the next writing command (run, commit, review, promote or revert) first puts it back: ' + `${AGENT_V2} (${AGENT})`), notes[0]).toBe(true);

    const json = await runInProcess(root, ['status', '--json'], tag());
    expect(json.exitCode, json.stderr).toBe(0);
    const out = JSON.parse(json.stdout) as { agents: Array<{ name: string; state: string }>; unfinished_run?: Record<string, unknown> };
    const ajv = new Ajv({ allErrors: true });
    const validate = ajv.compile(JSON.parse(readFileSync(path.join(REPO, 'schemas', 'status.schema.json'), 'utf8')));
    expect(validate(out), ajv.errorsText(validate.errors)).toBe(true);
    expect(out.agents.find((a) => a.name === AGENT)?.state).toBe('migrated');
    expect(out.unfinished_run).toMatchObject({ pid: child.pid, state: 'killed', files: [{ path: AGENT_V2, action: 'remove', agent: AGENT }] });
    expect(out.unfinished_run!.message).toBe(notes[0]!.slice('note: '.length));

    // Read-only: the journal, the leftover, the index and the lock are as the kill left them.
    expect(readFileSync(journalFile).equals(journal)).toBe(true);
    expect(readFileSync(path.join(root, AGENT_V2)).equals(v2)).toBe(true);
    expect(git(root, ['status', '--porcelain', '--untracked-files=all'])).toBe(porcelain);
    expect(existsSync(lockFile) ? readFileSync(lockFile, 'utf8') : null).toBe(lock);

    // What the line says happens: the next writing command puts it back, and status is quiet again.
    const t2 = tag();
    const rerun = await runInProcess(root, ['run', AGENT, '--no-validate', '--json'], t2);
    expect(rerun.exitCode, rerun.stderr).toBe(0);
    expect(rerun.stderr).toMatch(/recovered from a killed run \(pid \d+\): stopped \d+ agent process\(es\), put back [1-9]\d* unfinished file\(s\)/);
    expect((await expectIntact(root, before, [t, t2])).map((c) => c.agent)).toEqual([AGENT]);
    const after = await runInProcess(root, ['status', '--json'], tag());
    expect(JSON.parse(after.stdout)).not.toHaveProperty('unfinished_run');
    expect((await runInProcess(root, ['status'], tag())).stdout).not.toMatch(/^note: /m);
  }, 120_000);
});

describe('3. crash recovery signals only what it can prove is the killed run\'s', () => {
  it('the tool and its watchdog killed with -9 mid-validation (no parent-death signal): the next run stops the orphaned agents and completes, once', async () => {
    const root = await demoRepo();
    patchFleetCommon(root, NEVER_HEALTHY);
    const before = baseline(root);
    const t = tag();
    // Without the kernel's parent-death signal (a machine without setpriv) the agent itself is orphaned.
    // Nor python3 for the subreaper launcher, which would end the agent tree when the tool dies.
    const { child } = await untilValidating(root, ['run', AGENT, '--profile', 'fast', '--json'], t, { MIGRATE_NO_PDEATHSIG: '1', MIGRATE_NO_REAPER: '1' });
        const watchdog = watchdogs(t);
    expect(watchdog.length, 'the watchdog').toBe(1);
    kill(watchdog[0]!.pid); // first, or it would end the agents itself
    kill(child.pid!);
    await child;
    const orphans = v2Agents(t);
    expect(orphans.length, 'the crash orphans the agent').toBeGreaterThan(0);
    expect(existsSync(path.join(root, '.git', 'migrate-run.json')), 'and leaves its journal').toBe(true);

    const t2 = tag();
    const rerun = await runInProcess(root, ['run', AGENT, '--profile', 'fast', '--json', '--no-validate'], t2);
    expect(rerun.exitCode, rerun.stderr).toBe(0);
    expect(rerun.stderr).toMatch(/recovered from a killed run \(pid \d+\): stopped [1-9]\d* agent process\(es\)/);
    for (const o of orphans) expect(existsSync(`/proc/${o.pid}/cmdline`) && readFileSync(`/proc/${o.pid}/cmdline`, 'utf8').includes('_v2.py'), `orphan ${o.pid} must be dead`).toBe(false);
    const commits = await expectIntact(root, before, [t, t2]);
    expect(commits.map((c) => c.agent)).toEqual([AGENT]);
  }, 120_000);

  it('the tool and its watchdog killed with -9: the agent dies with the tool; a child it forked, still holding a port, is named by status and stopped by the next run', async () => {
    const root = await demoRepo();
    const port = await freePort();
    // A _v2 that never gets healthy and forks a helper holding a listening socket (a health
    // server in a child process, as legacy agents built on multiprocessing have).
    patchFleetCommon(
      root,
      `
import os as _o_os, socket as _o_socket, sys as _o_sys, time as _o_time
if _o_sys.argv[0].endswith("_v2.py"):
    _o_srv = _o_socket.socket()
    _o_srv.setsockopt(_o_socket.SOL_SOCKET, _o_socket.SO_REUSEADDR, 1)
    _o_srv.bind(("127.0.0.1", ${port}))
    _o_srv.listen(1)
    if _o_os.fork() == 0:
        _o_time.sleep(60)
        _o_os._exit(0)
    _o_time.sleep(60)
`,
    );
    const before = baseline(root);
    const t = tag();
    // Without the subreaper launcher (no python3), which would kill the helper with the tool.
    const { child } = await untilValidating(root, ['run', AGENT, '--profile', 'fast', '--json'], t, { MIGRATE_NO_REAPER: '1' });
    await waitFor(() => v2Agents(t).length === 2, 'the agent and its forked helper');
    const ppid = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
    const agent = v2Agents(t).find((p) => ppid(p.pid) === child.pid)!;
    const helper = v2Agents(t).find((p) => p.pid !== agent.pid)!;
    expect(agent, 'the agent, a child of the tool').toBeDefined();
    const watchdog = watchdogs(t);
    expect(watchdog.length, 'the watchdog').toBe(1);
    kill(watchdog[0]!.pid);
    kill(child.pid!);
    await child;
    // Before: the agent lived on (holding its ports) until the next writing command.
    await waitFor(() => !v2Agents(t).some((p) => p.pid === agent.pid), 'the agent to die with the tool', 5_000);
    expect(v2Agents(t).map((p) => p.pid), 'its forked helper is orphaned').toEqual([helper.pid]);

    const text = await runInProcess(root, ['status'], tag());
    expect(text.exitCode, text.stderr).toBe(0);
    const notes = text.stdout.split('\n').filter((l) => l.startsWith('note: '));
    expect(notes.length, text.stdout).toBe(1);
    // Before: only the file was named; nothing said a process of the killed run still held a port.
    expect(notes[0]).toContain(`left 1 file not committed (shown above as on disk now) and 1 agent process running: pid ${helper.pid} (python3 ${AGENT_V2}; holds port ${port}); the next writing command (run, commit, review, promote or revert) first stops it and puts the file back: ${AGENT_V2} (${AGENT})`);
    const json = await runInProcess(root, ['status', '--json'], tag());
    const out = JSON.parse(json.stdout) as { unfinished_run?: { processes?: Array<{ pid: number; ports: number[] }>; command?: string; message: string } };
    const ajv = new Ajv({ allErrors: true });
    const validate = ajv.compile(JSON.parse(readFileSync(path.join(REPO, 'schemas', 'status.schema.json'), 'utf8')));
    expect(validate(out), ajv.errorsText(validate.errors)).toBe(true);
    expect(out.unfinished_run).toMatchObject({ command: 'run', processes: [{ pid: helper.pid, ports: [port] }] });
    expect(out.unfinished_run!.message).toBe(notes[0]!.slice('note: '.length));
    expect(v2Agents(t).map((p) => p.pid), 'status stops nothing').toEqual([helper.pid]);

    const t2 = tag();
    const rerun = await runInProcess(root, ['run', AGENT, '--no-validate', '--json'], t2);
    expect(rerun.exitCode, rerun.stderr).toBe(0);
    expect(rerun.stderr).toMatch(/recovered from a killed run \(pid \d+\): stopped 1 agent process\(es\), put back 1 unfinished file\(s\)/);
    // No journal is left (expectIntact): status has nothing more to say.
    expect((await expectIntact(root, before, [t, t2])).map((c) => c.agent)).toEqual([AGENT]);
  }, 120_000);

  it('a stale journal naming live unrelated processes (pid reuse): they are left alone and said so; the run is not blocked', async () => {
    const root = await demoRepo();
    const before = baseline(root);
    // Two unrelated processes, each the leader of its own group (as an agent would be).
    const a = execa('sleep', ['30'], { detached: true, reject: false, stdin: 'ignore' });
    const b = execa('sleep', ['30'], { detached: true, reject: false, stdin: 'ignore' });
    const c = execa('sleep', ['31'], { detached: true, reject: false, stdin: 'ignore' });
    stray(a.pid, b.pid, c.pid);
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const startOf = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[19]);
    writeFileSync(
      path.join(root, '.git', 'migrate-run.json'),
      JSON.stringify({
        version: 2,
        kind: 'run',
        // The run's own pid now names `a` (it started later than the journal says).
        pid: a.pid,
        start: startOf(a.pid!) - 1000,
        boot,
        started: '2020-01-01T00:00:00.000Z',
        root,
        files: [],
        backups: {},
        groups: [
          { pgid: b.pid, start: startOf(b.pid!) - 1000, boot, mark: 'deadbeefdeadbeef:1' },
          // Recorded before a reboot: even the same start time proves nothing now.
          { pgid: c.pid, start: startOf(c.pid!), boot: 'a-boot-before-this-one', mark: 'deadbeefdeadbeef:2' },
        ],
      }),
    );
    const t = tag();
    const r = await runInProcess(root, ['run', AGENT, '--no-validate', '--json'], t);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`the killed run's pid ${a.pid} now names another process`));
    expect(r.stderr).toMatch(new RegExp(`pid ${b.pid} \\(sleep 30\\) is not the agent that run started \\(its start time differs\\); left alone`));
    expect(r.stderr).toMatch(new RegExp(`pid ${c.pid} \\(sleep 31\\) is not the agent that run started \\(the machine was restarted since\\); left alone`));
    for (const p of [a, b, c]) expect(running(p), `unrelated process ${p.pid} must live`).toBe(true);
    expect((await expectIntact(root, before, [t])).map((c) => c.agent)).toEqual([AGENT]);

    // A journal of the older format (bare process groups, no identity at all): left alone too.
    writeFileSync(path.join(root, '.git', 'migrate-run.json'), JSON.stringify({ pid: 999999999, started: 'x', files: [], groups: [b.pid] }));
    const old = await runInProcess(root, ['run', 'TextStatsAgent', '--no-validate', '--json'], t);
    expect(old.exitCode, old.stderr).toBe(0);
    expect(old.stderr).toMatch(new RegExp(`pid ${b.pid} \\(sleep 30\\) is not the agent that run started \\(its start time was not recorded\\); left alone`));
    expect(running(b)).toBe(true);
    for (const p of [a, b, c]) kill(p.pid!);
  }, 90_000);
});

describe('12. no agent outlives the tool; every run that writes or starts is journalled', () => {
  it('kill -9 of `migrate validate`: the watchdog ends the agent at once; the next validate drops the journal', async () => {
    const root = await demoRepo();
    patchFleetCommon(root, NEVER_HEALTHY);
    const made = await runInProcess(root, ['run', AGENT, '--no-validate', '--no-commit', '--json'], tag());
    expect(made.exitCode, made.stderr).toBe(0);
    const t = tag();
    const child = spawnRun(root, ['validate', AGENT, '--json'], t);
    await waitFor(() => v2Agents(t).length > 0 || !running(child), 'the agent under validation');
    expect(running(child)).toBe(true);
    kill(child.pid!);
    await child;
    await waitFor(() => tagged(t).length === 0, 'the watchdog to end the agent', 10_000);
    const journals = () => (existsSync(path.join(root, '.git', 'migrate')) ? readdirSync(path.join(root, '.git', 'migrate')).filter((f) => /^validate-\d+\.json$/.test(f)) : []);
    expect(journals().length, 'the killed validate left its journal').toBe(1);
    unpatchFleetCommon(root);
    const again = await run(root, ['validate', AGENT, '--json', '--profile', 'fast'], tag());
    expect(again.exitCode, again.stderr).toBe(0);
    expect(journals()).toEqual([]);
  }, 120_000);

  it('kill -9 of `run --no-commit` mid-validation: agents end with it; the next run puts its _v2 back and completes', async () => {
    const root = await demoRepo();
    patchFleetCommon(root, NEVER_HEALTHY);
    const before = baseline(root);
    const t = tag();
    const { child } = await untilValidating(root, ['run', AGENT, '--no-commit', '--profile', 'fast', '--json'], t);
    kill(child.pid!);
    await child;
    await waitFor(() => tagged(t).length === 0, 'the watchdog to end the agents', 10_000);
    const journal = JSON.parse(readFileSync(path.join(root, '.git', 'migrate-run.json'), 'utf8')) as { files: string[] };
    expect(journal.files).toContain(AGENT_V2);
    const t2 = tag();
    const rerun = await runInProcess(root, ['run', AGENT, '--no-validate', '--json'], t2);
    expect(rerun.exitCode, rerun.stderr).toBe(0);
    expect((await expectIntact(root, before, [t, t2])).map((c) => c.agent)).toEqual([AGENT]);
  }, 120_000);

  it('a crash in the middle of a write (its temporary file and journal left behind) does not block the next run', async () => {
    const root = await demoRepo();
    const before = baseline(root);
    // Exactly what a run killed between writing the temporary file and renaming it leaves.
    const tmp = `agents/.kv_cache_agent_v2.py.999999999.tmp`;
    writeFileSync(path.join(root, tmp), 'half a fi');
    writeFileSync(
      path.join(root, '.git', 'migrate-run.json'),
      JSON.stringify({ version: 2, kind: 'run', pid: 999999999, started: 'x', root, files: [AGENT_V2, tmp], backups: {}, groups: [] }),
    );
    const t = tag();
    const r = await runInProcess(root, ['run', AGENT, '--no-validate', '--json'], t);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/put back 2 unfinished file\(s\)/);
    expect(existsSync(path.join(root, tmp))).toBe(false);
    expect((await expectIntact(root, before, [t])).map((c) => c.agent)).toEqual([AGENT]);
  }, 60_000);

  it('the watchdog kills an agent past its own deadline even while the tool is alive but stuck', async () => {
    // The watchdog process itself, told about a tree whose deadline has passed.
    const t = tag();
    const agent = execa('sleep', ['30'], { detached: true, reject: false, stdin: 'ignore', env: { FAULT_TAG: t, MIGRATE_AGENT_MARK: 'feedfacefeedface:1' } });
    const start = Number(readFileSync(`/proc/${agent.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[19]);
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const watchdog = execa('node', [path.join(REPO, 'dist', 'src', 'validate', 'watchdog-main.js')], { reject: false, stdin: 'pipe' });
    watchdog.stdin!.write(`${JSON.stringify({ op: 'track', tree: { pgid: agent.pid, start, boot, mark: 'feedfacefeedface:1', deadline: Date.now() - 5000 } })}\n`);
    await waitFor(() => !running(agent), 'the watchdog to kill the agent past its deadline', 10_000);
    expect((await agent).signal).toBe('SIGKILL');
    expect(running(watchdog), 'the tool is alive: the watchdog stays').toBe(true);
    watchdog.stdin!.end();
    await watchdog;
  }, 30_000);
});

afterAll(() => {
  // The daemon scenarios changed fleet_common.py only in their own copies.
  expect(readFileSync(path.join(REPO, 'fixtures', 'demo-fleet', 'agents', 'fleet_common.py'), 'utf8')).not.toContain('_f_os');
});
