// Shutdown: SIGTERM to the agent ends it with exit code 0 within the deadline,
// and nothing it started is left behind (its group, its cgroup, its descendants and
// anything carrying its environment marker: a daemon that double-forked counts too).
import type { CheckResult } from '../../core/types.js';
import { commandLine } from '../proc.js';
import type { AgentProcess } from '../runner.js';
import { exitedDetail, result, secs } from './common.js';

export interface ShutdownOptions {
  proc: AgentProcess;
  deadlineMs: number;
  /** How long processes it started may linger after it exited. */
  orphanGraceMs?: number;
}

const SHELL = /^(?:.*\/)?(?:sh|bash|dash|zsh|ksh|mksh|ash|busybox)$/;

export async function checkShutdown(o: ShutdownOptions): Promise<CheckResult> {
  const { proc } = o;
  if (proc.exited() || !proc.pid) return result('shutdown', false, 0, `${exitedDetail(proc)} before SIGTERM was sent`);
  const t0 = Date.now();
  const leader = commandLine(proc.pid);
  proc.signal('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const exit = await Promise.race([
    proc.exit,
    new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), o.deadlineMs))),
  ]);
  clearTimeout(timer);
  const ms = Date.now() - t0;
  if (!exit) {
    await proc.killGroup();
    return result('shutdown', false, ms, `still running ${secs(o.deadlineMs)} after SIGTERM (killed with SIGKILL)`);
  }
  if (exit.timedOut) return result('shutdown', false, ms, 'killed at the time limit while stopping');
  if (exit.signal) {
    // A launch template `sh -c '<agent> ...; ...'` keeps the shell as the process we stop: it
    // dies of the SIGTERM and does not pass it on, so the agent never got it. Say that, not
    // "no signal handler?" of an agent that may well have one; and stop what the shell left.
    const left = exit.signal === 'SIGTERM' && SHELL.test(leader.split(' ')[0] ?? '') ? await proc.survivors(300) : [];
    if (left.length) {
      await proc.killGroup();
      return result(
        'shutdown',
        false,
        ms,
        `the launch shell (${leader}) ended by SIGTERM without passing it on: ${left.join(', ')} kept running (killed); start the agent with exec in the launch template`,
      );
    }
    return result('shutdown', false, ms, `ended by ${exit.signal} instead of exiting with code 0 (no signal handler?)`);
  }
  if (exit.code !== 0) return result('shutdown', false, ms, `${exitedDetail(proc)} after SIGTERM (expected code 0)`);
  const left = await proc.survivors(o.orphanGraceMs ?? 1000);
  if (left.length) {
    await proc.killGroup();
    return result('shutdown', false, ms, `exited 0 after ${secs(ms)} but left ${left.length} process(es) running: ${left.join(', ')}; killed`);
  }
  return result('shutdown', true, ms, `exited with code 0 ${secs(ms)} after SIGTERM; no process left in its group`);
}
