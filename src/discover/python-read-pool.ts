// Reading a fleet's Python files across cores: each worker thread parses the files it is
// sent, has its own python3 compile them, and answers with their facts (PythonFileFacts:
// plain data) and CPython's verdicts, so the scan runs in parallel and its memory is what
// the facts take, not the trees. Small fleets are read in this process: starting a worker
// costs more than it saves there.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SkippedFile } from '../core/types.js';
import { sharedCompileSession, type PyCompiler } from '../lang/python/py-compile.js';
import { adoptPython3 } from '../lang/python/python3.js';
import { readPythonFile, type BaseTarget, type PythonFileFacts, type ReadPythonFile } from './python-scan.js';
import { turnEventLoop } from '../lang/python/native-trees.js';
import { workerThreads, type ThreadChoice } from '../pipeline/threads.js';
import { runOnWorkers } from '../pipeline/worker-pool.js';
import type { ParseStore } from '../pipeline/parse-store.js';
import type { FlatTreeData } from '../lang/python/flat-tree.js';

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/**
 * A file read and checked: its facts and CPython's verdict (null: it compiles), or why it
 * was refused. tree-sitter accepts some files CPython refuses (an injected line at the wrong
 * indentation), so every parsed file is compiled too, by a python3 that works while the next
 * files are parsed.
 */
export type CheckedPythonFile = ({ facts: PythonFileFacts; compiled: string | null; parsed?: FlatTreeData } | { skipped: SkippedFile }) & { read?: string };

/**
 * Read and check some files, with `compiler` (one per thread, kept across calls); `keep[k]`: also
 * hand back file k's parse. Once `stopped()` (Ctrl-C), the files left are not read: the scan is
 * being abandoned, and a chunk of big files took seconds to finish.
 */
export async function readAndCheck(root: string, files: string[], target: BaseTarget, compiler: () => Pick<PyCompiler, 'compile'>, keep: boolean[] = [], stopped?: () => boolean): Promise<CheckedPythonFile[]> {
  const read = files.map((file, k) => {
    if (stopped?.()) return { r: { skipped: { file: path.relative(root, file), reason: 'interrupted before it was read' } } as ReadPythonFile, compiled: null };
    const r = readPythonFile(root, file, target, keep[k]);
    return { r, compiled: 'facts' in r ? compiler().compile({ name: r.facts.rel, text: r.source }) : null };
  });
  const out: CheckedPythonFile[] = [];
  for (const { r, compiled } of read) out.push('facts' in r ? { facts: r.facts, compiled: await compiled!, read: r.read, ...(r.parsed ? { parsed: r.parsed } : {}) } : r);
  return out;
}

/** Bytes a file's kept parse takes, estimated from its size before it is read (arrays of ~17 bytes a node, a node per ~3 characters, and the source). */
const KEPT_BYTES_PER_SOURCE_BYTE = 8;

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
  parses: ParseStore | undefined,
  onRead: (i: number, r: CheckedPythonFile) => void,
): Promise<void> {
  const threads = existsSync(workerFile) ? workerThreads(files.length, POOL_FROM, choice) : 0;
  const chunks: number[][] = [];
  for (let i = 0; i < files.length; i += CHUNK) chunks.push(files.slice(i, i + CHUNK).map((_, k) => i + k));
  // Which parses to keep is settled up front, by size, so the store's budget holds.
  const keep = parses ? files.map((f) => parses.reserve(sizeOf(f) * KEPT_BYTES_PER_SOURCE_BYTE)) : [];
  const keepOf = (chunk: number[]) => chunk.map((i) => keep[i] ?? false);
  if (!threads) {
    let session: PyCompiler | undefined;
    try {
      for (const chunk of chunks) {
        if (choice.signal?.aborted) break;
        const out = await readAndCheck(root, chunk.map((i) => files[i]!), target, () => (session ??= sharedCompileSession()), keepOf(chunk), () => choice.signal?.aborted ?? false);
        out.forEach((r, k) => onRead(chunk[k]!, r));
        await turnEventLoop();
      }
    } finally {
      await session?.close();
    }
    return;
  }
  // Ctrl-C reaches the workers at once through shared memory: the files of the chunks they hold are not read.
  const interrupted = new Int32Array(new SharedArrayBuffer(4));
  const onAbort = () => Atomics.store(interrupted, 0, 1);
  if (choice.signal?.aborted) onAbort();
  choice.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await runOnWorkers<{ files: string[]; keep: boolean[] }, { out: CheckedPythonFile[]; python3?: unknown }>({
      file: workerFile,
      workerData: { root, target, interrupted },
      threads,
      tasks: chunks.map((chunk) => ({ files: chunk.map((i) => files[i]!), keep: keepOf(chunk) })),
      onResult: (id, msg) => {
        adoptPython3(msg.python3);
        msg.out.forEach((r, k) => onRead(chunks[id]![k]!, r));
      },
      // Each worker's python3 ends before the worker does.
      farewell: { close: true },
      // Ctrl-C: no new chunk goes out; the ones held finish at once, unread (a worker ended mid-parse takes the process down).
      stop: () => choice.signal?.aborted ?? false,
      // A worker reads its next files while this thread (busy with the TypeScript scan) takes its answer.
      depth: 2,
    });
  } finally {
    choice.signal?.removeEventListener('abort', onAbort);
  }
}
