// Helpers shared by the checks: timing text, waiting, and explaining an agent's exit.
import type { CheckName, CheckResult } from '../../core/types.js';
import { describeExit, type AgentProcess } from '../runner.js';

export function secs(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

export function result(name: CheckName, ok: boolean, ms: number, detail: string): CheckResult {
  return { name, ok, ms: Math.max(0, Math.round(ms)), detail: detail.replace(/\s*\n\s*/g, ' ') };
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * The line that best explains a crash: the exception line of the last Python traceback,
 * else Node's error line ("Error [ERR_MODULE_NOT_FOUND]: ..."), else the last meaningful line.
 */
export function lastErrorLine(output: string): string | undefined {
  const lines = output.split('\n').map((l) => l.trimEnd()).filter((l) => l.trim() !== '');
  const tb = lines.map((l, i) => (/^Traceback \(most recent call last\)/.test(l) ? i : -1)).filter((i) => i >= 0).pop();
  if (tb !== undefined) {
    const exc = lines.slice(tb + 1).find((l) => /^[A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit|Warning)?\b.*:|^[A-Za-z_][\w.]*Error$/.test(l) && !/^\s/.test(l));
    if (exc) return clip(exc.trim());
  }
  const nodeError = lines.filter((l) => /^([A-Z]\w*)?Error( \[[A-Z_]+\])?: /.test(l)).pop();
  if (nodeError) return clip(nodeError.trim());
  const last = lines.filter((l) => !/^Node\.js v\d/.test(l) && !/^\s+at /.test(l)).pop();
  return last ? clip(last.trim()) : undefined;
}

export function clip(s: string, max = 200): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** "agent exited with code 1: ModuleNotFoundError: ..." for an agent that is gone. */
export function exitedDetail(proc: AgentProcess): string {
  const e = proc.exited();
  if (!e) return 'agent is running';
  if (e.spawnError) return e.spawnError;
  const why = lastErrorLine(proc.output());
  return `agent ${describeExit(e)}${why ? `: ${why}` : ' (no output)'}`;
}

/** Resolve when the process has exited (or never, when there is no process). */
export function whenExited(proc?: AgentProcess): Promise<void> {
  return proc ? proc.exit.then(() => undefined) : new Promise(() => {});
}
