// Worker-thread entry for rewriteAll: receives jobs, answers with outcomes.
import { parentPort, workerData } from 'node:worker_threads';
import { profileForWorker, rewriteOne, type RewriteJob, type WorkerPythonSplit } from './rewrite-pool.js';
import '../lang/adapters.js';

const profile = profileForWorker(workerData.profileFile as string, workerData.root as string, workerData.typescriptProfileFile as string | undefined, workerData.pythonSplit as WorkerPythonSplit | undefined);
parentPort!.on('message', async (job: RewriteJob) => {
  parentPort!.postMessage(await rewriteOne(job, profile));
});
