// Worker-thread entry for readPythonFiles: reads, parses and learns the files it is sent
// (see python-read-pool.ts), and has its own python3 compile them as it goes (CPython's
// verdict scales with the workers instead of queueing on one process); it answers with
// plain facts and verdicts, and the parses (as plain arrays) it was asked to keep for a run.
import { parentPort, workerData } from 'node:worker_threads';
import type { BaseTarget } from './python-scan.js';
import { readAndCheck } from './python-read-pool.js';
import { turnEventLoop } from '../lang/python/native-trees.js';
import { PyCompileSession } from '../lang/python/py-compile.js';
import { learntPython3 } from '../lang/python/python3.js';

const { root, target, interrupted } = workerData as { root: string; target: BaseTarget; interrupted?: Int32Array };
/** The run was interrupted (Ctrl-C): the files of chunks still held are not read. */
const stopped = () => (interrupted ? Atomics.load(interrupted, 0) === 1 : false);
let compiler: PyCompileSession | undefined;

// The pool sends the next files before this answers (see WorkerRun.depth): messages are handled
// one after the other, so answers go back in the order the files came.
let queue: Promise<void> = Promise.resolve();

parentPort!.on('message', (msg: { files: string[]; keep: boolean[] } | { close: true }) => {
  queue = queue.then(async () => {
    if ('close' in msg) {
      await compiler?.close();
      parentPort!.postMessage({ closed: true });
      return;
    }
    const out = await readAndCheck(root, msg.files, target, () => (compiler ??= new PyCompileSession()), msg.keep, stopped);
    // The interpreter its python3 named, for the workers the run starts next (see python3.ts).
    parentPort!.postMessage({ out, python3: learntPython3() });
    await turnEventLoop();
  });
});
