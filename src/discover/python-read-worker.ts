// Worker-thread entry for readPythonFiles: reads, parses and learns the files it is sent
// (see python-read-pool.ts), answering with plain facts; no tree leaves the worker.
import { parentPort, workerData } from 'node:worker_threads';
import { readPythonFile, type BaseTarget } from './python-scan.js';
import { turnEventLoop } from '../lang/python/native-trees.js';

const { root, target } = workerData as { root: string; target: BaseTarget };
parentPort!.on('message', async (msg: { id: number; files: string[] }) => {
  const out = [];
  for (const file of msg.files) out.push(readPythonFile(root, file, target));
  parentPort!.postMessage({ id: msg.id, out });
  await turnEventLoop();
});
