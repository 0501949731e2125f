// Worker-thread entry for rewriteAll: receives jobs, answers with outcomes.
import { parentPort, workerData } from 'node:worker_threads';
import { profileForWorker, rewriteOne, type RewriteJob, type WorkerPythonSplit } from './rewrite-pool.js';
import '../lang/adapters.js';

const profile = profileForWorker(workerData.profileFile as string, workerData.root as string, workerData.typescriptProfileFile as string | undefined, workerData.pythonSplit as WorkerPythonSplit | undefined);
// The pool hands a worker its next job before it answers the last (depth 2): jobs run one at a time, in the
// order they came, and are answered in that order (the pool matches answers to jobs by that order).
let previous: Promise<void> = Promise.resolve();
parentPort!.on('message', (job: RewriteJob) => {
  previous = previous.then(async () => parentPort!.postMessage(await rewriteOne(job, profile)));
});
