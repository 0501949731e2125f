// Worker-thread entry for readPythonFiles: reads, parses and learns the files of the fleet,
// taking its next chunk itself from a counter shared with the other readers (see
// python-read-pool.ts), and has its own python3 compile them as it goes (CPython's verdict
// scales with the workers instead of queueing on one process); it answers with plain facts
// and verdicts, and the parses (as plain arrays) it was asked to keep for a run. Taking work
// from shared memory, a reader never waits for the main thread, which may be busy for seconds
// (loading the TypeScript compiler, scanning the TypeScript files) while the answers queue.
import { parentPort, workerData } from 'node:worker_threads';
import type { BaseTarget } from './python-scan.js';
import { readThenCheck } from './python-read-pool.js';
import { PyCompileSession } from '../lang/python/py-compile.js';
import { learntPython3 } from '../lang/python/python3.js';

const { root, target, interrupted, files, keep, next, chunk } = workerData as {
  root: string;
  target: BaseTarget;
  interrupted?: Int32Array;
  files: string[];
  keep: boolean[];
  /** The next file no reader has taken yet (shared by every reader). */
  next: Int32Array;
  chunk: number;
};
/** The run was interrupted (Ctrl-C): no chunk is taken, and the files of the one held are not read. */
const stopped = () => (interrupted ? Atomics.load(interrupted, 0) === 1 : false);

async function main(): Promise<void> {
  let compiler: PyCompileSession | undefined;
  const answered: Promise<void>[] = [];
  try {
    for (;;) {
      if (stopped()) break;
      const from = Atomics.add(next, 0, chunk);
      if (from >= files.length) break;
      const to = Math.min(files.length, from + chunk);
      const { checked } = await readThenCheck(root, files.slice(from, to), target, () => (compiler ??= new PyCompileSession()), keep.slice(from, to), stopped);
      // Answered once python3 has, while the next chunk is read.
      answered.push(
        checked.then((out) => {
          // The interpreter its python3 named, for the workers the run starts next (see python3.ts).
          parentPort!.postMessage({ from, out, python3: learntPython3() });
        }),
      );
    }
    await Promise.all(answered);
  } finally {
    // Its python3 ends before the worker does.
    await compiler?.close();
  }
  parentPort!.postMessage({ done: true });
}

// A failure is thrown outside the promise, so the pool sees it as the worker's error.
main().catch((err) => setImmediate(() => {
  throw err;
}));
