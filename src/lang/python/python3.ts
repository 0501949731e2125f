// The interpreter `python3` names, learnt from the first python3 this process starts and used
// for the ones after it. A version manager's shim (pyenv's is a bash script choosing the version
// at every start) costs about 0.2 s of CPU per start on a quiet machine, 0.5 s under load,
// against 0.07 s for the interpreter itself, and a scan, a run or a cached scan starts python3
// two or three times (the scan's compile session, verify's, one per worker). The first start
// goes through `python3` as before and tells its sys.executable; later starts in the same
// working directory and environment (what the shim reads: PYENV_VERSION, .python-version, PATH)
// start that interpreter directly, so the choice is the same one. Worker threads are told what
// the main thread learnt (see worker-pool.ts).
import { createHash } from 'node:crypto';
import path from 'node:path';
import { isMainThread, workerData } from 'node:worker_threads';
import { forgetOnReset } from '../../core/invocation.js';

/** The key under which worker-pool.ts hands a worker what this thread learnt. */
export const PYTHON3_WORKER_KEY = '__migratePython3';

interface Learnt {
  /** The working directory and environment the interpreter was chosen in. */
  where: string;
  executable: string;
}

let learnt: Learnt | undefined = !isMainThread ? (workerData as Record<string, unknown> | null)?.[PYTHON3_WORKER_KEY] as Learnt | undefined : undefined;
forgetOnReset(() => {
  if (isMainThread) learnt = undefined;
});

function where(): string {
  const env = Object.entries(process.env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256').update(JSON.stringify([process.cwd(), env])).digest('hex');
}

/** Where `python3` is chosen: this working directory and environment (a digest). */
export function python3Where(): string {
  return where();
}

/** What to start for `python3` here: the interpreter learnt in this directory and environment, or `python3`. */
export function python3Command(): string {
  return learnt && learnt.where === where() ? learnt.executable : 'python3';
}

/** Tell what a `python3` started here reported as sys.executable (ignored unless an absolute path). */
export function learnPython3(executable: string): void {
  if (learnt || !executable || !path.isAbsolute(executable)) return;
  learnt = { where: where(), executable };
}

/** `data` for a worker, with what this thread learnt (when `data` is a plain object). */
export function withPython3(data: unknown): unknown {
  if (!learnt || data === null || typeof data !== 'object' || Array.isArray(data)) return data;
  return { ...(data as Record<string, unknown>), [PYTHON3_WORKER_KEY]: learnt };
}

/** What this thread learnt, to hand to another thread (a scan worker tells the main thread, which tells later workers). */
export function learntPython3(): unknown {
  return learnt;
}

/** Take what another thread of this process learnt, when it was learnt in the same directory and environment. */
export function adoptPython3(other: unknown): void {
  const o = other as Partial<Learnt> | undefined;
  if (learnt || typeof o?.executable !== 'string' || o.where !== where()) return;
  learnPython3(o.executable);
}
