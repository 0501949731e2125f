// How many worker threads a stage uses: `-j N` when given (1: none, the work stays in this
// process, as with --run-in-band), else one per core up to four. Below `minWork` items the
// work stays here too: starting a worker costs more than it saves on a handful of files.
import os from 'node:os';

export interface ThreadChoice {
  /** -j / --jobs. */
  jobs?: number;
  /** --run-in-band. */
  inBand?: boolean;
}

/** Worker threads for `work` items; 0 means in this process. */
export function workerThreads(work: number, minWork: number, choice: ThreadChoice): number {
  if (choice.inBand || work < minWork) return 0;
  const threads = Math.min(choice.jobs ?? Math.min(os.availableParallelism?.() ?? os.cpus().length, 4), work);
  return threads < 2 ? 0 : threads;
}
