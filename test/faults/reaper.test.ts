// The subreaper launcher (src/validate/reaper.ts) between the tool and each agent: the agent
// sees what it saw before (its exit code or signal, its output, the signals the tool sends),
// and the kernel makes every orphan of the agent a child of the launcher, which ends the
// whole tree when the tool dies however it dies, watchdog or not. Real processes only;
// everything they start writes its pid into a directory of the test's own and is killed by
// pid (and start time) in afterEach, whatever happens.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ensureBuilt, REPO } from '../helpers/cli.js';
import { alive, HAS_PYTHON, processScratch, startOf } from '../helpers/proc.js';
import { waitFor } from './harness.js';

const FIX = path.join(REPO, 'fixtures', 'validate', 'forking');
const RUNNER = path.join(REPO, 'dist', 'src', 'validate', 'runner.js');

const { record, tempDir } = processScratch('migrate-reaper-');
afterEach(() => {
  delete process.env.MIGRATE_NO_REAPER;
});

const until = (check: () => boolean, what: string, ms = 20_000): Promise<void> => waitFor(check, what, ms);

const ppidOf = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);

describe.skipIf(!HAS_PYTHON || process.platform !== 'linux')('the subreaper launcher', () => {
  let runner: typeof import('../../src/validate/runner.js');
  beforeAll(async () => {
    vi.resetModules();
    delete process.env.MIGRATE_NO_REAPER;
    runner = await import('../../src/validate/runner.js');
  });
  const start = (script: string) =>
    runner.startAgent({ command: process.execPath, args: ['-e', script], env: { PATH: process.env.PATH }, cwd: os.tmpdir(), timeLimitMs: 30_000 });

  it('the agent keeps its exit code, its output and its own pid; the launcher is its parent and is neither a member nor a survivor', async () => {
    const p = start("process.stdout.write('to stdout\\n'); process.stderr.write('to stderr\\n'); setTimeout(() => process.exit(3), 300)");
    await until(() => p.output().includes('to stdout'), 'the agent output');
    const agent = p.pid!;
    expect(readFileSync(`/proc/${agent}/cmdline`, 'utf8').split('\0')[0]).toBe(process.execPath);
    const launcher = ppidOf(agent);
    expect(readFileSync(`/proc/${launcher}/cmdline`, 'utf8')).toContain('migrate-launcher');
    expect(ppidOf(launcher)).toBe(process.pid);
    expect(p.members()).toEqual([agent]);
    expect(await p.exit).toMatchObject({ code: 3, signal: null, timedOut: false });
    expect(p.output()).toContain('to stderr');
    expect(p.stderr()).toBe('to stderr\n');
    expect(await p.survivors(500)).toEqual([]);
    await p.killGroup();
    await until(() => startOf(launcher) === undefined, 'the launcher to end with its agent', 5000);
  }, 30_000);

  it('a signal the tool sends reaches the agent; an agent killed by a signal is reported killed by it', async () => {
    const p = start("process.on('SIGINT', () => process.exit(5)); process.on('SIGTERM', () => process.kill(process.pid, 'SIGKILL')); console.log('ready'); setInterval(() => {}, 1000)");
    await until(() => p.output().includes('ready'), 'the agent');
    expect(p.signal('SIGINT')).toBe(true);
    expect(await p.exit).toMatchObject({ code: 5, signal: null });
    await p.killGroup();
    const q = start("process.on('SIGTERM', () => process.kill(process.pid, 'SIGKILL')); console.log('ready'); setInterval(() => {}, 1000)");
    await until(() => q.output().includes('ready'), 'the agent');
    q.signal('SIGTERM');
    expect(await q.exit).toMatchObject({ code: null, signal: 'SIGKILL' });
    await q.killGroup();
  }, 30_000);

  // Gap 3: the tool killed with -9 and no watchdog (killed too, or never started). Before, the
  // agent died with the tool (setpriv's parent-death signal) but its bare workers ran on
  // until a next writing command recovered them; now the launcher ends them within seconds.
  for (const reaper of [true, false]) {
    it(`${reaper ? 'with' : 'without (no python3)'} the launcher: a tool killed with -9 takes ${reaper ? 'the agent and its bare workers' : 'the agent (its bare workers run on)'} with it`, async () => {
      const dir = tempDir();
      // A stand-in for the tool: starts one agent (bare daemon workers: own session, own
      // environment, /dev/null) the way validation does, then waits to be killed.
      const tool = spawn(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `const { startAgent } = await import(${JSON.stringify(RUNNER)});
           startAgent({ command: 'python3', args: [${JSON.stringify(path.join(FIX, 'py_workers.py'))}], cwd: ${JSON.stringify(FIX)}, timeLimitMs: 60000,
             env: { PATH: process.env.PATH, FORK_KIND: 'daemon-bare', FORK_END: 'clean', FORK_PIDS: ${JSON.stringify(dir)}, HEALTH_CHECK_PORT: '0' } });
           setTimeout(() => {}, 60000);`,
        ],
        { env: { ...process.env, ...(reaper ? {} : { MIGRATE_NO_REAPER: '1' }) }, stdio: 'ignore' },
      );
      try {
        await until(() => record(dir).length >= 2, 'the agent and its daemon worker');
        const procs = record(dir);
        tool.kill('SIGKILL');
        if (reaper) {
          await until(() => !procs.some(alive), 'every process of the agent to end with the tool', 10_000).catch((err: Error) => {
            const left = procs.filter(alive).map((p) => `${p.pid} (parent ${ppidOf(p.pid)}: ${readFileSync(`/proc/${ppidOf(p.pid)}/cmdline`, 'utf8').replace(/\0/g, ' ').slice(0, 60)})`);
            throw new Error(`${err.message}; alive: ${left.join(', ')}`);
          });
        } else {
          await until(() => procs.filter(alive).length === 1, 'the agent to die with the tool', 10_000);
          await new Promise((r) => setTimeout(r, 1500));
          expect(procs.filter(alive).length, 'its daemon worker runs on').toBe(1);
        }
      } finally {
        tool.kill('SIGKILL');
      }
    }, 40_000);
  }

  it('without python3 (MIGRATE_NO_REAPER=1) agents start as before, and the commands say what that loses', async () => {
    process.env.MIGRATE_NO_REAPER = '1';
    vi.resetModules();
    const reaper = await import('../../src/validate/reaper.js');
    expect(reaper.reaperLauncher()).toEqual([]);
    expect(reaper.reaperNote()).toMatch(/without a subreaper launcher .*a worker orphaned between two samples of its tree may be missed/);
    const r = await import('../../src/validate/runner.js');
    const p = r.startAgent({ command: process.execPath, args: ['-e', 'setTimeout(() => process.exit(4), 200)'], env: { PATH: process.env.PATH }, cwd: os.tmpdir(), timeLimitMs: 30_000 });
    expect(ppidOf(p.pid!)).toBe(process.pid);
    expect(await p.exit).toMatchObject({ code: 4 });
    await p.killGroup();
  }, 30_000);
});

beforeAll(() => ensureBuilt(), 180_000);
