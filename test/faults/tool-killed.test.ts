// Gap 3 of the "zero harm under faults" brief: the tool itself killed with SIGKILL while an
// agent it validates runs, and that agent has started workers of its own the way real
// agents do, down to the hardest kind: subprocess.Popen with an environment of its own (no
// marker), output on /dev/null (no shared pipe) and start_new_session=True (no shared group),
// without a cgroup per agent (the portable path). Every worker writes its pid into a
// directory of the test's own, so "nothing survives" is checked against what really ran,
// and afterAll kills them by pid (and start time) whatever happens.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import {
  AGENT,
  AGENT_V2,
  baseline,
  cleanupAll,
  demoRepo,
  commitAll,
  ensureBuilt,
  expectIntact,
  git,
  kill,
  launchers,
  patchFleetCommon,
  run,
  runInProcess,
  spawnRun,
  tag,
  tagged,
  unpatchFleetCommon,
  v2Agents,
  waitFor,
  watchdogs,
} from './harness.js';
import { alive, type Recorded, startOf } from '../helpers/proc.js';

const NO_CGROUP = { MIGRATE_NO_CGROUP: '1' };
/** A machine without python3 for the subreaper launcher: agents are started as before it. */
const NO_REAPER = { MIGRATE_NO_REAPER: '1' };

const workers: Recorded[] = [];
const pidDirs: string[] = [];

beforeAll(() => ensureBuilt(), 180_000);
afterAll(() => {
  for (const w of workers) if (alive(w)) kill(w.pid);
  for (const d of pidDirs) rmSync(d, { recursive: true, force: true });
  cleanupAll();
});

/** A _v2 that never gets healthy and starts two bare helper workers (Popen: own env, /dev/null, own session). */
function bareWorkers(dir: string): string {
  return `
import os as _w_os, subprocess as _w_sp, sys as _w_sys, time as _w_time
if _w_sys.argv[0].endswith("_v2.py"):
    _w_helper = "import os,sys,time\\nopen(os.path.join(sys.argv[1], str(os.getpid())), 'w').close()\\nend = time.time() + 90\\nwhile time.time() < end: time.sleep(0.1)\\n"
    for _w_i in range(2):
        _w_sp.Popen([_w_sys.executable, "-c", _w_helper, ${JSON.stringify(dir)}], env={"PATH": "/usr/bin:/bin"},
                    stdin=_w_sp.DEVNULL, stdout=_w_sp.DEVNULL, stderr=_w_sp.DEVNULL, start_new_session=True)
    _w_time.sleep(60)
`;
}

/** The workers' pids once both run, recorded with their start times. */
async function bothWorkers(dir: string): Promise<Recorded[]> {
  await waitFor(() => readdirSync(dir).length >= 2, 'the two workers', 60_000);
  const out = readdirSync(dir).map((f) => ({ pid: Number(f), start: startOf(Number(f))! }));
  workers.push(...out);
  expect(out.every(alive)).toBe(true);
  return out;
}

/** The pids a journal records for its agent trees (agents and the members seen in them). */
function journalled(file: string): number[] {
  try {
    const j = JSON.parse(readFileSync(file, 'utf8')) as { groups?: Array<{ members?: Array<{ pid: number }> }> };
    return (j.groups ?? []).flatMap((g) => (g.members ?? []).map((m) => m.pid));
  } catch {
    return []; // being rewritten
  }
}

/** `migrate run` of the demo agent whose _v2 starts two bare workers, once the agent and both workers run. */
async function runWithBareWorkers(env: Record<string, string>) {
  const root = await demoRepo();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'migrate-workers-'));
  pidDirs.push(dir);
  patchFleetCommon(root, bareWorkers(dir));
  const before = baseline(root);
  const t = tag();
  const child = spawnRun(root, ['run', AGENT, '--profile', 'fast', '--json'], t, env);
  await waitFor(() => v2Agents(t).length > 0 || !running(child), 'a _v2 agent process');
  const ws = await bothWorkers(dir);
  return { root, before, t, child, ws };
}

/** The run after the killed one recovers (stopping `stopped` agent processes, putting the file back) and commits the agent once. */
async function rerunRecovers(root: string, before: ReturnType<typeof baseline>, killed: string, stopped: number, env: Record<string, string>): Promise<void> {
  const t2 = tag();
  const rerun = await runInProcess(root, ['run', AGENT, '--no-validate', '--json'], t2, env);
  expect(rerun.exitCode, rerun.stderr).toBe(0);
  expect(rerun.stderr).toMatch(new RegExp(`recovered from a killed run \\(pid \\d+\\): stopped ${stopped} agent process\\(es\\), put back 1 unfinished file\\(s\\)`));
  expect((await expectIntact(root, before, [killed, t2])).map((c) => c.agent)).toEqual([AGENT]);
}

const running = (c: { exitCode: number | null; signalCode: NodeJS.Signals | null }) => c.exitCode === null && c.signalCode === null;

describe('kill -9 of the tool while an agent with bare workers runs', () => {
  it('`migrate validate` killed: the watchdog ends the agent and its workers within seconds; the next validate passes and leaves nothing', async () => {
    const root = await demoRepo();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'migrate-workers-'));
    pidDirs.push(dir);
    patchFleetCommon(root, bareWorkers(dir));
    const made = await runInProcess(root, ['run', AGENT, '--no-validate', '--no-commit', '--json'], tag());
    expect(made.exitCode, made.stderr).toBe(0);
    const v2 = readFileSync(path.join(root, AGENT_V2));
    const status = git(root, ['status', '--porcelain', '--untracked-files=all']);
    const t = tag();
    const child = spawnRun(root, ['validate', AGENT, '--json'], t, NO_CGROUP);
    await waitFor(() => v2Agents(t).length > 0 || !running(child), 'the agent under validation');
    const ws = await bothWorkers(dir);
    // The tool has seen them (within its 200 ms sampling): its journal names them.
    const journalDir = path.join(root, '.git', 'migrate');
    const journal = () => readdirSync(journalDir).filter((f) => /^validate-\d+\.json$/.test(f)).map((f) => path.join(journalDir, f));
    await waitFor(() => journal().some((f) => ws.every((w) => journalled(f).includes(w.pid))), 'the journal to name the workers', 10_000);
    expect(running(child)).toBe(true);
    expect(watchdogs(t).length, 'the watchdog').toBe(1);
    kill(child.pid!);
    await child;
    // Bounded: the watchdog notices the closed pipe at once. Before: the workers ran on (90 s here, forever in life).
    await waitFor(() => !ws.some(alive), `the workers ${ws.map((w) => w.pid).join(', ')} to die`, 10_000);
    await waitFor(() => tagged(t).length === 0, 'the agent and the watchdog to end', 10_000);
    // Validation writes nothing: the --no-commit run's _v2 is whole, the work tree as it left it.
    expect(readFileSync(path.join(root, AGENT_V2)).equals(v2)).toBe(true);
    expect(git(root, ['status', '--porcelain', '--untracked-files=all'])).toBe(status);

    unpatchFleetCommon(root);
    const again = await run(root, ['validate', AGENT, '--json', '--profile', 'fast'], tag(), NO_CGROUP);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(journal(), 'the killed validate\'s journal is dropped').toEqual([]);
    expect(readdirSync(path.join(root, '.git')).filter((f) => f.startsWith('migrate-run')), 'no run lock or journal').toEqual([]);
    expect(readFileSync(path.join(root, AGENT_V2)).equals(v2)).toBe(true);
    expect(existsSync(path.join(root, '.git', 'index.lock'))).toBe(false);
  }, 180_000);

  it('`migrate run` killed together with its watchdog, on a machine without the subreaper launcher (no python3): the agent dies with the tool; the next run stops its workers, puts the _v2 back and completes once', async () => {
    const { root, before, t, child, ws } = await runWithBareWorkers({ ...NO_CGROUP, ...NO_REAPER });
    const journal = path.join(root, '.git', 'migrate-run.json');
    await waitFor(() => ws.every((w) => journalled(journal).includes(w.pid)), 'the journal to name the workers', 10_000);
    expect(running(child)).toBe(true);
    const watchdog = watchdogs(t);
    expect(watchdog.length, 'the watchdog').toBe(1);
    kill(watchdog[0]!.pid); // first, or it would end the agents itself
    kill(child.pid!);
    await child;
    await waitFor(() => v2Agents(t).length === 0, 'the agent to die with the tool (parent-death signal)', 10_000);
    expect(ws.filter(alive).length, 'its workers are orphaned').toBe(2);

    // Before: 'stopped 0'; the workers ran on, since nothing recorded linked them to the killed run.
    await rerunRecovers(root, before, t, 2, { ...NO_CGROUP, ...NO_REAPER });
    expect(ws.filter(alive).map((w) => w.pid), 'the workers must be dead').toEqual([]);
  }, 180_000);

  it('`migrate run` killed together with its watchdog: the subreaper launcher ends the agent and its bare workers within seconds, with no next command; the next run completes once', async () => {
    const { root, before, t, child, ws } = await runWithBareWorkers(NO_CGROUP);
    expect(running(child)).toBe(true);
    const ppid = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
    const [launcher] = launchers(t);
    expect(launcher, 'the agent runs under the launcher').toBeDefined();
    expect(v2Agents(t).map((p) => ppid(p.pid))).toEqual([launcher!.pid]);
    const watchdog = watchdogs(t);
    expect(watchdog.length, 'the watchdog').toBe(1);
    kill(watchdog[0]!.pid); // first, or it would end the agents itself
    kill(child.pid!);
    await child;
    // Before: the workers (own session, own environment, output on /dev/null) ran on until the
    // next writing command; now the launcher sees the tool gone and kills everything below it.
    await waitFor(() => !ws.some(alive) && tagged(t).length === 0, 'the agent, its workers and the launcher to end', 10_000);

    await rerunRecovers(root, before, t, 0, NO_CGROUP);
  }, 180_000);

  it('`migrate run` killed while a `sh -c` launch template that does not exec runs the agent: the watchdog ends the shell\'s agent and its workers; the next run recovers and completes once', async () => {
    const root = await demoRepo();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'migrate-workers-'));
    pidDirs.push(dir);
    patchFleetCommon(root, bareWorkers(dir));
    // The shell stays the group leader (it has more to run after the agent); the agent is its child.
    mkdirSync(path.join(root, '.migrate'), { recursive: true });
    writeFileSync(path.join(root, '.migrate', 'config.yaml'), 'launch:\n  python: "sh -c \'python3 {file}; echo agent ended: $?\'"\n');
    commitAll(root, 'launch through a shell');
    const before = baseline(root);
    const t = tag();
    const child = spawnRun(root, ['run', AGENT, '--profile', 'fast', '--json'], t, NO_CGROUP);
    const isShell = (p: { cmdline: string }) => /^(\S*\/)?sh -c /.test(p.cmdline);
    await waitFor(() => v2Agents(t).some((p) => !isShell(p)) || !running(child), 'the agent under its shell');
    const ws = await bothWorkers(dir);
    const shells = v2Agents(t).filter(isShell);
    expect(shells.length, 'the shell stays, the agent is its child').toBe(1);
    const agent = v2Agents(t).find((p) => !isShell(p))!;
    expect(Number(readFileSync(`/proc/${agent.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1])).toBe(shells[0]!.pid);
    const journal = path.join(root, '.git', 'migrate-run.json');
    await waitFor(() => ws.every((w) => journalled(journal).includes(w.pid)), 'the journal to name the workers', 10_000);
    expect(running(child)).toBe(true);
    kill(child.pid!);
    await child;
    // The shell dies with the tool (parent-death signal); its agent and the workers by the watchdog.
    await waitFor(() => !ws.some(alive) && v2Agents(t).length === 0, 'the shell, its agent and the workers to die', 10_000);

    await rerunRecovers(root, before, t, 0, NO_CGROUP);
  }, 180_000);
});
