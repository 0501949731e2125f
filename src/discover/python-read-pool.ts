// Reading a fleet's Python files across cores: each worker thread parses the files it is
// sent, has its own python3 compile them, and answers with their facts (PythonFileFacts:
// plain data) and CPython's verdicts, so the scan runs in parallel and its memory is what
// the facts take, not the trees. Small fleets are read in
// this process: starting a worker costs more than it saves there.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { readPythonFile, type BaseTarget, type ReadPythonFile, type PythonFileFacts } from './python-scan.js';

/** A file a worker read and had compiled: its facts and CPython's verdict (null: it compiles). */
export interface CompiledPythonFile {
  facts: PythonFileFacts;
  compiled: string | null;
}
import { turnEventLoop } from '../lang/python/native-trees.js';
import { workerThreads, type ThreadChoice } from '../pipeline/threads.js';

const workerFile = fileURLToPath(new URL('./python-read-worker.js', import.meta.url));
/** Below this many files a scan stays in this process. */
const POOL_FROM = 48;
/** Files per message: big enough that messages cost nothing, small enough to balance the workers. */
const CHUNK = 8;


/** Read every file, telling `onRead` each result (in any order) as it comes. */
export async function readPythonFilesAcross(
  root: string,
  files: string[],
  target: BaseTarget,
  choice: ThreadChoice,
  onRead: (i: number, r: ReadPythonFile | CompiledPythonFile) => void,
): Promise<void> {
  const threads = existsSync(workerFile) ? workerThreads(files.length, POOL_FROM, choice) : 0;
  if (!threads) {
    for (const [i, file] of files.entries()) {
      if (i % 8 === 7) await turnEventLoop();
      onRead(i, readPythonFile(root, file, target));
    }
    return;
  }
  const chunks: number[][] = [];
  for (let i = 0; i < files.length; i += CHUNK) chunks.push(files.slice(i, i + CHUNK).map((_, k) => i + k));
  let next = 0;
  const workers = Array.from({ length: threads }, () => new Worker(workerFile, { workerData: { root, target } }));
  try {
    await new Promise<void>((resolve, reject) => {
      let idle = 0;
      for (const w of workers) {
        const feed = () => {
          if (next >= chunks.length) {
            if (++idle === workers.length) resolve();
            return;
          }
          const id = next++;
          w.once('message', (msg: { id: number; out: Array<ReadPythonFile | CompiledPythonFile> }) => {
            msg.out.forEach((r, k) => onRead(chunks[msg.id]![k]!, r));
            feed();
          });
          w.postMessage({ id, files: chunks[id]!.map((i) => files[i]!) });
        };
        w.once('error', reject);
        feed();
      }
    });
  } finally {
    // Each worker's python3 ends before the worker does.
    await Promise.all(
      workers.map(async (w) => {
        await new Promise<void>((resolve) => {
          w.once('message', () => resolve());
          w.once('error', () => resolve());
          w.postMessage({ close: true });
        });
        await w.terminate();
      }),
    );
  }
}
