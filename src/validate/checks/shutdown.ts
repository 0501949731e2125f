// Shutdown: SIGTERM to the agent ends it with exit code 0 within the deadline,
// and nothing of its process group is left behind.
import type { CheckResult } from '../../core/types.js';
import { waitGroupGone } from '../process-group.js';
import type { AgentProcess } from '../runner.js';
import { exitedDetail, result, secs } from './common.js';

export interface ShutdownOptions {
  proc: AgentProcess;
  deadlineMs: number;
  /** How long processes of the group may linger after the leader exited. */
  orphanGraceMs?: number;
}

export async function checkShutdown(o: ShutdownOptions): Promise<CheckResult> {
  const { proc } = o;
  if (proc.exited() || !proc.pid) return result('shutdown', false, 0, `${exitedDetail(proc)} before SIGTERM was sent`);
  const t0 = Date.now();
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
  if (exit.signal) return result('shutdown', false, ms, `ended by ${exit.signal} instead of exiting with code 0 (no signal handler?)`);
  if (exit.code !== 0) return result('shutdown', false, ms, `${exitedDetail(proc)} after SIGTERM (expected code 0)`);
  if (!(await waitGroupGone(proc.pid, o.orphanGraceMs ?? 1000))) {
    const left = proc.members();
    await proc.killGroup();
    return result('shutdown', false, ms, `exited 0 after ${secs(ms)} but left ${left.length} process(es) of its group running (pid ${left.join(', ')}); killed`);
  }
  return result('shutdown', true, ms, `exited with code 0 ${secs(ms)} after SIGTERM; no process left in its group`);
}
