// Work spread over worker threads that answer each task with one message: a worker gets its
// next task as soon as it answers, so a slow task never holds the others back. Shared by the
// rewrite pool and the scan's Python readers.
import { Worker } from 'node:worker_threads';
import { withPython3 } from '../lang/python/python3.js';

export interface WorkerRun<T, R> {
  /** The compiled worker entry. */
  file: string;
  workerData: unknown;
  threads: number;
  tasks: T[];
  /** Each answer, with its task's position, as it arrives. */
  onResult: (i: number, r: R) => void;
  /**
   * Asked before each task goes out: once true, no new task is sent and the tasks in flight
   * finish (a worker terminated in the middle of a native parse takes the whole process down).
   */
  stop?: () => boolean;
  /**
   * Asked just before task i goes out (after stop): it fills in what the task carries, so only
   * the tasks in flight hold their inputs, not the whole list from the start. False: the caller
   * settled that task itself (its input could not be had); it is not sent and gets no answer.
   */
  prepare?: (i: number) => boolean;
  /** Sent to each worker at the end; its answer is awaited before the worker is terminated (it lets go of what it holds, a python3). */
  farewell?: unknown;
  /**
   * Tasks each worker holds at once (1 by default). With 2, a worker has its next task queued
   * when it answers, so it does not wait for this thread to take the answer and send another
   * (this thread may be busy: the TypeScript scan runs here beside the Python readers). The
   * worker must answer its tasks one at a time, in the order it got them.
   */
  depth?: number;
}

export async function runOnWorkers<T, R>(run: WorkerRun<T, R>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: run.threads }, () => new Worker(run.file, { workerData: withPython3(run.workerData) }));
  try {
    await new Promise<void>((resolve, reject) => {
      let idle = 0;
      const depth = Math.max(1, run.depth ?? 1);
      for (const w of workers) {
        // The tasks this worker holds, in the order it answers them.
        const held: number[] = [];
        const feed = () => {
          while (held.length < depth && !run.stop?.() && next < run.tasks.length) {
            const i = next++;
            if (run.prepare && !run.prepare(i)) continue;
            held.push(i);
            w.postMessage(run.tasks[i]);
          }
          if (held.length === 0 && ++idle === workers.length) resolve();
        };
        w.on('message', (msg: R) => {
          // After the last task, the farewell's answer is awaited below.
          if (held.length === 0) return;
          run.onResult(held.shift()!, msg);
          feed();
        });
        w.once('error', reject);
        feed();
      }
    });
  } finally {
    await Promise.all(
      workers.map(async (w) => {
        if (run.farewell !== undefined) {
          // A worker that already died answers nothing: its exit ends the wait too.
          await new Promise<void>((resolve) => {
            w.once('message', () => resolve());
            w.once('error', () => resolve());
            w.once('exit', () => resolve());
            w.postMessage(run.farewell);
          });
        }
        await w.terminate();
      }),
    );
  }
}
