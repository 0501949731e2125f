// Worker-thread entry for readPythonFiles: reads, parses and learns the files it is sent
// (see python-read-pool.ts), and has its own python3 compile them as it goes (CPython's
// verdict scales with the workers instead of queueing on one process); it answers with
// plain facts and verdicts: no tree and no source leave the worker.
import { parentPort, workerData } from 'node:worker_threads';
import { readPythonFile, type BaseTarget, type ReadPythonFile } from './python-scan.js';
import { turnEventLoop } from '../lang/python/native-trees.js';
import { PyCompileSession } from '../lang/python/py-compile.js';

const { root, target } = workerData as { root: string; target: BaseTarget };
let compiler: PyCompileSession | undefined;

parentPort!.on('message', async (msg: { id: number; files: string[] } | { close: true }) => {
  if ('close' in msg) {
    await compiler?.close();
    parentPort!.postMessage({ closed: true });
    return;
  }
  const read: ReadPythonFile[] = [];
  const verdicts: Array<Promise<string | null> | null> = [];
  for (const file of msg.files) {
    const r = readPythonFile(root, file, target);
    read.push(r);
    verdicts.push('facts' in r ? (compiler ??= new PyCompileSession()).compile({ name: r.facts.rel, text: r.source }) : null);
  }
  const out = [];
  for (const [k, r] of read.entries()) out.push('facts' in r ? { facts: r.facts, compiled: await verdicts[k]! } : r);
  parentPort!.postMessage({ id: msg.id, out });
  await turnEventLoop();
});
