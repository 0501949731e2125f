// Work spread over worker threads that answer each task with one message: a worker gets its
// next task as soon as it answers, so a slow task never holds the others back. Shared by the
// rewrite pool and the scan's Python readers.
import { Worker } from 'node:worker_threads';

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
  /** Sent to each worker at the end; its answer is awaited before the worker is terminated (it lets go of what it holds, a python3). */
  farewell?: unknown;
}

export async function runOnWorkers<T, R>(run: WorkerRun<T, R>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: run.threads }, () => new Worker(run.file, { workerData: run.workerData }));
  try {
    await new Promise<void>((resolve, reject) => {
      let idle = 0;
      for (const w of workers) {
        const feed = () => {
          if (run.stop?.() || next >= run.tasks.length) {
            if (++idle === workers.length) resolve();
            return;
          }
          const i = next++;
          w.once('message', (msg: R) => {
            run.onResult(i, msg);
            feed();
          });
          w.postMessage(run.tasks[i]);
        };
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
