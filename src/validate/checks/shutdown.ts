// Shutdown: SIGTERM to the agent ends it with exit code 0 within the deadline,
// and nothing it started is left behind (its group, its cgroup, its descendants and
// anything carrying its environment marker: a daemon that double-forked counts too).
//
// What a service manager does: systemd's default (KillMode=control-group) sends SIGTERM to
// every process of the service at once, then SIGKILL to what is left at the timeout; Docker
// and Kubernetes signal the main process, then kill the rest. The check signals the agent
// first (an agent that stops its own workers is judged on that, undisturbed), and the
// processes it started only when the agent is still running half way to the deadline, or
// exited and left them: a legacy agent that leaves stopping its workers to the service
// manager passes when they end on that SIGTERM (before, 'left N process(es) running', and a
// multiprocessing agent joining its workers at exit hung until SIGKILL). What ignores the
// SIGTERM too is named and killed, as before.
import type { CheckResult } from '../../core/types.js';
import { commandLine } from '../proc.js';
import type { AgentProcess } from '../runner.js';
import { exitedDetail, result, secs } from './common.js';
import { stillRunning } from './registry.js';

export interface ShutdownOptions {
  proc: AgentProcess;
  deadlineMs: number;
  /** How long processes it started may linger after it exited. */
  orphanGraceMs?: number;
}

const SHELL = /^(?:.*\/)?(?:sh|bash|dash|zsh|ksh|mksh|ash|busybox)$/;

export async function checkShutdown(o: ShutdownOptions): Promise<CheckResult> {
  const { proc } = o;
  // Exited already, its last output still being read: wait for it (about 100 ms), then say so.
  if (proc.exitSeen?.() && !proc.exited()) await proc.exit;
  if (proc.exited() || !proc.pid) return result('shutdown', false, 0, `${exitedDetail(proc)} before SIGTERM was sent`);
  const t0 = Date.now();
  const leader = commandLine(proc.pid);
  proc.signal('SIGTERM');
  const waitExit = async (ms: number) => {
    let timer: NodeJS.Timeout | undefined;
    const e = await Promise.race([proc.exit, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), Math.max(0, ms))))]);
    clearTimeout(timer);
    // Exited in time, its last output still being read (a leftover child holds the pipes): it counts.
    if (!e && proc.exitSeen?.()) return proc.exit;
    return e;
  };
  const shell = SHELL.test(leader.split(' ')[0] ?? '');
  let others = 0;
  let exit = await waitExit(o.deadlineMs / 2);
  // Still stopping (waiting on its workers, say): the rest of the service gets its SIGTERM.
  // Not through a launch shell: it is judged on passing the signal on, below.
  if (!exit && !shell) {
    others = proc.signalOthers('SIGTERM');
    exit = await waitExit(t0 + o.deadlineMs - Date.now());
  }
  const ms = Date.now() - t0;
  if (!exit) {
    // What it started that outlived the SIGTERM too (a daemon in a session of its own, workers
    // that inherited its SIG_IGN) is named: once the agent stops, it is the next failure.
    const agent = `pid ${proc.pid} (`;
    const also = (await proc.survivors(0)).filter((p) => !p.startsWith(agent));
    await proc.killGroup();
    const others = also.length ? `; so were ${also.length} process(es) it started: ${also.join(', ')}` : '';
    const overdue = stillRunning(proc);
    return result('shutdown', false, ms, `still running ${secs(o.deadlineMs)} after SIGTERM (killed with SIGKILL)${overdue ? `: ${overdue}` : ''}${others}`);
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
  const grace = o.orphanGraceMs ?? 1000;
  let left = await proc.survivors(grace);
  if (left.length) {
    // Left to the service manager's stop: they get its SIGTERM and, as under systemd's stop
    // timeout, the rest of the deadline to end (a forked daemon runs the agent's Python handler
    // and its interpreter's exit first: on a loaded machine more than the grace). survivors()
    // returns as soon as they are gone, so only what ignores the SIGTERM sits it out.
    others += proc.signalOthers('SIGTERM');
    left = await proc.survivors(Math.max(grace, t0 + o.deadlineMs - Date.now()));
  }
  if (left.length) {
    await proc.killGroup();
    return result('shutdown', false, ms, `exited 0 after ${secs(ms)} but left ${left.length} process(es) running: ${left.join(', ')}; killed`);
  }
  const also = others ? `; the ${others} process(es) it started ended on SIGTERM too (sent to them as a service manager's stop does)` : '';
  // Ended by the base's grace timer: it exited 0 and deregistered, but what it had not finished is evidence.
  const overdue = stillRunning(proc);
  const cut = overdue ? ` (the base ended a stop that ran over: ${overdue})` : '';
  return result('shutdown', true, ms, `exited with code 0 ${secs(ms)} after SIGTERM${cut}${also}; no process left in its group`);
}
