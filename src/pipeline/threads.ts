// How many worker threads a stage uses: `-j N` when given (1: none, the work stays in this
// process, as with --run-in-band), else one per core up to four. Left to choose, a fleet below
// POOL_FROM_AGENTS stays in this process: starting workers (each loads the parser, and the
// TypeScript compiler when it meets a TypeScript agent) costs more than they save there
// (measured on 2 cores, run --no-validate: in band 7.7 s against 9.4 s at 100 agents, 13.3
// against 14.2 s at 200, even at 300, the pool 1.26x faster at 1,000). With `-j N` the workers
// start from `minWork` items.
import os from 'node:os';

/** Below this many agents (or files to scan) a stage left to choose its threads stays in this process. */
export const POOL_FROM_AGENTS = 300;

export interface ThreadChoice {
  /** -j / --jobs. */
  jobs?: number;
  /** --run-in-band. */
  inBand?: boolean;
  /**
   * Once aborted (Ctrl-C), the work stops at its next file: no new file is read or sent to a
   * worker, and the caller throws InterruptedError (a scan reports nothing half-read).
   */
  signal?: AbortSignal;
}

/** Worker threads for `work` items; 0 means in this process. */
export function workerThreads(work: number, minWork: number, choice: ThreadChoice): number {
  if (choice.inBand || work < (choice.jobs === undefined ? Math.max(minWork, POOL_FROM_AGENTS) : minWork)) return 0;
  const threads = Math.min(choice.jobs ?? Math.min(os.availableParallelism?.() ?? os.cpus().length, 4), work);
  return threads < 2 ? 0 : threads;
}
