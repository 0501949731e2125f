// Fault shapes around the subreaper launcher (src/validate/reaper.ts) that the forking tests
// (agent-children, reaper) do not make: an agent whose shutdown handler signals its own
// process group, and the watchdog's time-limit kill of an agent whose workers keep forking.
// Real processes only; every process a fixture starts writes its pid into a directory of the
// test's own and is killed by pid (and start time) in afterEach, whatever happens.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAgentCgroup, removeCgroup } from '../../src/validate/cgroup.js';
import { alive, HAS_PYTHON, processScratch, startOf } from '../helpers/proc.js';
import { waitFor } from './harness.js';

function cgroupsAvailable(): boolean {
  const dir = createAgentCgroup(`migrate-probe-${process.pid}`);
  if (dir) removeCgroup(dir);
  return Boolean(dir);
}
const CGROUPS = cgroupsAvailable();

const { record, tempDir } = processScratch('migrate-launcher-');
const until = (check: () => boolean, what: string, ms = 20_000): Promise<void> => waitFor(check, what, ms);

// A legacy Python agent with workers in its process group; its SIGTERM handler takes them
// with it by signalling the whole group, ignoring the echo of its own signal meanwhile, and
// then gives SIGTERM its default action back so that an operator's second stop request ends
// it at once. It drains for a moment, joins its workers and exits 0.
const PY_KILLPG_AGENT = `
import os, signal, subprocess, sys, threading, time

PIDS = sys.argv[1]
WORKER = "import os, sys, time\\nopen(os.path.join(sys.argv[1], str(os.getpid())), 'w').close()\\nwhile True: time.sleep(0.1)\\n"
open(os.path.join(PIDS, str(os.getpid())), "w").close()
workers = [subprocess.Popen([sys.executable, "-c", WORKER, PIDS]) for _ in range(2)]
stopping = threading.Event()


def on_term(signum, frame):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    os.killpg(0, signal.SIGTERM)  # the workers share our group: they stop with us
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second stop request kills us hard
    print("stopping", flush=True)
    stopping.set()


signal.signal(signal.SIGTERM, on_term)
print("ready", flush=True)
while not stopping.is_set():
    time.sleep(0.05)
for w in workers:
    w.wait()
time.sleep(0.5)  # drain what is in flight
print("stopped", flush=True)
sys.exit(0)
`;

// The Node shape: the shutdown listener signals its own group by negative pid.
const NODE_KILLPG_AGENT = `
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const PIDS = process.argv[2];
fs.writeFileSync(path.join(PIDS, String(process.pid)), '');
const worker = "require('fs').writeFileSync(require('path').join(process.argv[1], String(process.pid)), ''); setInterval(() => {}, 1000)";
const workers = [0, 1].map(() => spawn(process.execPath, ['-e', worker, PIDS], { stdio: 'inherit' }));
process.once('SIGTERM', () => {
  process.on('SIGTERM', () => {}); // our own signal comes back to us
  process.kill(-process.pid, 'SIGTERM'); // take the workers with us
  console.log('stopping');
  let left = workers.length;
  for (const w of workers) w.once('exit', () => --left || setTimeout(() => process.exit(0), 300));
});
console.log('ready');
setInterval(() => {}, 1000);
`;

// A legacy job runner: a few forked workers, each running shell jobs in sessions of their own
// (environment of their own, output on /dev/null) and killing any job past its 50 ms budget
// to start the next one. A job whose worker is gone has no one to stop it: it runs on for a
// minute. So it forks all the time, and what it forks carries no link to the agent but its
// parent.
const PY_JOB_RUNNER = `
import os, signal, subprocess, sys, time

PIDS = sys.argv[1]
JOB = 'echo > "$0/$$"; exec sleep 60'
open(os.path.join(PIDS, str(os.getpid())), "w").close()


def worker():
    open(os.path.join(PIDS, str(os.getpid())), "w").close()
    jobs = []
    while True:
        now = time.monotonic()
        for started, job in [j for j in jobs if now - j[0] > 0.05]:
            job.kill()
            job.wait()
            jobs.remove((started, job))
        while len(jobs) < 2:
            job = subprocess.Popen(["/bin/sh", "-c", JOB, PIDS], env={"PATH": "/usr/bin:/bin"}, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
            jobs.append((time.monotonic(), job))
        time.sleep(0.01)


for _ in range(3):
    if os.fork() == 0:
        try:
            worker()
        finally:
            os._exit(1)
print("ready", flush=True)
while True:
    time.sleep(1)
`;

// A "never die" legacy agent: it ignores SIGTERM, and at start it forks a daemon the old way
// (double fork, setsid, stdio on /dev/null, an environment of its own) that ignores SIGTERM too.
const PY_DEAF_WITH_DAEMON = `
import os, signal, sys, time

PIDS = sys.argv[1]
DAEMON = "import os, signal, sys, time\\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\\nopen(os.path.join(sys.argv[1], str(os.getpid())), 'w').close()\\ntime.sleep(120)\\n"
signal.signal(signal.SIGTERM, signal.SIG_IGN)
open(os.path.join(PIDS, str(os.getpid())), "w").close()
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        fd = os.open(os.devnull, os.O_RDWR)
        for i in (0, 1, 2):
            os.dup2(fd, i)
        os.execve(sys.executable, [sys.executable, "-c", DAEMON, PIDS], {})
    os._exit(0)
os.wait()
print("ready", flush=True)
while True:
    time.sleep(1)
`;

describe.skipIf(!HAS_PYTHON || process.platform !== 'linux')('the subreaper launcher under agent faults', () => {
  let runner: typeof import('../../src/validate/runner.js');
  let shutdown: typeof import('../../src/validate/checks/shutdown.js');
  beforeAll(async () => {
    vi.resetModules();
    delete process.env.MIGRATE_NO_REAPER;
    delete process.env.MIGRATE_NO_CGROUP;
    runner = await import('../../src/validate/runner.js');
    shutdown = await import('../../src/validate/checks/shutdown.js');
  });

  // Before, the check said only 'still running 3.0 s after SIGTERM (killed with SIGKILL)': the
  // daemon, killed with it, was not named, and was the next failure once the agent was fixed.
  it('an agent that ignores SIGTERM and forked a setsid daemon: one line names both, and nothing is left', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'never_die.py');
    writeFileSync(file, PY_DEAF_WITH_DAEMON);
    const pids = tempDir();
    const proc = runner.startAgent({ command: 'python3', args: [file, pids], env: { PATH: process.env.PATH }, cwd: dir, timeLimitMs: 30_000 });
    try {
      await until(() => proc.output().includes('ready') && record(pids).length === 2, `the agent and its daemon (${proc.output()})`);
      const daemon = record(pids).find((r) => r.pid !== proc.pid)!;
      const r = await shutdown.checkShutdown({ proc, deadlineMs: 2000, orphanGraceMs: 500 });
      expect(r.ok).toBe(false);
      expect(r.detail).toMatch(new RegExp(`^still running 2\\.0 s after SIGTERM \\(killed with SIGKILL\\); so were 1 process\\(es\\) it started: pid ${daemon.pid} \\(\\S*python3\\S* -c .*\\)$`));
      expect(r.detail).not.toMatch(/\n/);
      expect(record(pids).filter(alive)).toEqual([]);
    } finally {
      await proc.killGroup();
    }
  }, 40_000);

  // Defect (a): the agent was in the launcher's process group, so its group SIGTERM hit the
  // launcher too, which forwarded it: a second SIGTERM after the handler restored the default
  // action killed the Python agent mid-drain ("ended by SIGTERM"), and the Node agent's
  // process.kill(-process.pid) threw ESRCH (its pid named no group) and it exited 1.
  for (const lang of ['python', 'node'] as const) {
    it(`${lang}: an agent whose shutdown handler SIGTERMs its own process group stops once, cleanly, and takes its workers with it`, async () => {
      const dir = tempDir();
      const file = path.join(dir, lang === 'python' ? 'agent.py' : 'agent.cjs');
      writeFileSync(file, lang === 'python' ? PY_KILLPG_AGENT : NODE_KILLPG_AGENT);
      const pids = tempDir();
      const proc = runner.startAgent({
        command: lang === 'python' ? 'python3' : process.execPath,
        args: [file, pids],
        env: { PATH: process.env.PATH },
        cwd: dir,
        timeLimitMs: 30_000,
      });
      try {
        await until(() => proc.output().includes('ready') && record(pids).length === 3, `the agent and its 2 workers (${proc.output()})`);
        // As the agent saw it before the launcher: it leads its own process group.
        const pgid = Number(execFileSync('ps', ['-o', 'pgid=', '-p', String(proc.pid)], { encoding: 'utf8' }).trim());
        const r = await shutdown.checkShutdown({ proc, deadlineMs: 5000, orphanGraceMs: 500 });
        expect(r.detail, proc.output()).toMatch(/^exited with code 0 [\d.]+ s after SIGTERM; no process left in its group$/);
        expect(r.ok).toBe(true);
        expect(proc.output().match(/stopping/g)?.length, proc.output()).toBe(1);
        if (lang === 'python') expect(proc.output()).toContain('stopped');
        expect(record(pids).filter(alive)).toEqual([]);
        expect(pgid).toBe(proc.pid);
      } finally {
        await proc.killGroup();
      }
    }, 40_000);
  }
});

// Defect (b): the watchdog's kill of an agent past its time limit (killRecordedTree, what
// watchdog-main runs at the deadline) SIGKILLed the launcher in the same pass as the agent
// and its workers: a job a worker forked between the look at the tree and the worker's kill
// went to init, with nothing left to find it by (no cgroup here, no marker, no group, no
// pipe), and ran on. Now the launcher goes last: those jobs are reparented to it, found and
// killed at the next pass. Counted against the pids the jobs wrote themselves.
for (const cgroup of [false, true]) {
  describe.skipIf(!HAS_PYTHON || process.platform !== 'linux' || (cgroup && !CGROUPS))(`${cgroup ? 'cgroup per agent' : 'no cgroup'}: the watchdog's time-limit kill`, () => {
    let runner: typeof import('../../src/validate/runner.js');
    let groups: typeof import('../../src/validate/process-group.js');
    beforeAll(async () => {
      vi.resetModules();
      delete process.env.MIGRATE_NO_REAPER;
      if (cgroup) delete process.env.MIGRATE_NO_CGROUP;
      else process.env.MIGRATE_NO_CGROUP = '1';
      runner = await import('../../src/validate/runner.js');
      groups = await import('../../src/validate/process-group.js');
    });
    afterAll(() => {
      delete process.env.MIGRATE_NO_CGROUP;
    });

    it('of an agent whose workers fork all the time leaves no process', async () => {
      const dir = tempDir();
      const file = path.join(dir, 'job_runner.py');
      writeFileSync(file, PY_JOB_RUNNER);
      const pids = tempDir();
      const proc = runner.startAgent({ command: 'python3', args: [file, pids], env: { PATH: process.env.PATH }, cwd: dir, timeLimitMs: 60_000 });
      try {
        await until(() => proc.output().includes('ready') && record(pids).length >= 30, `the agent, its workers and their jobs (${proc.output()})`, 60_000);
        const tree = groups.liveTrees().find((t) => proc.owns(t.pgid))!;
        expect(tree.reaper, 'started through the launcher').toBe(true);
        expect(Boolean(tree.cgroup)).toBe(cgroup);
        const launcher = tree.pgid;
        const launcherStart = startOf(launcher)!;
        // The watchdog, past the agent's deadline: what it was told of the tree, in the state it was told.
        const outcome = await groups.killRecordedTree({ ...tree, deadline: Date.now() - 6000 }, 5000);
        expect(outcome.left).toEqual([]);
        await new Promise((r) => setTimeout(r, 300));
        const left = record(pids).filter(alive);
        expect(left.map((r) => r.pid), 'processes of the agent left running').toEqual([]);
        expect(startOf(launcher) === launcherStart, 'the launcher').toBe(false);
        expect(await proc.exit).toMatchObject({ signal: 'SIGKILL' });
      } finally {
        await proc.killGroup();
      }
    }, 120_000);
  });
}


