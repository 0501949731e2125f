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
import { readPythonFile, type BaseTarget, type KeepParse, type PythonFileFacts, type ReadPythonFile } from './python-scan.js';
import { turnEventLoop } from '../lang/python/native-trees.js';
import { workerThreads, type ThreadChoice } from '../pipeline/threads.js';
import { Worker } from 'node:worker_threads';
import { adoptPython3, withPython3 } from '../lang/python/python3.js';
import type { ParseStore } from '../pipeline/parse-store.js';
import type { FlatTreeData } from '../lang/python/flat-tree.js';
import type { NativeTree } from '../lang/python/parser.js';

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
export type CheckedPythonFile = ({ facts: PythonFileFacts; compiled: string | null; parsed?: FlatTreeData; native?: NativeTree } | { skipped: SkippedFile }) & { read?: string };

/**
 * Read and check some files, with `compiler` (one per thread, kept across calls); `keep[k]`: also
 * hand back file k's parse. Once `stopped()` (Ctrl-C), the files left are not read: the scan is
 * being abandoned, and a chunk of big files took seconds to finish. It returns once the files are
 * read and their compiles sent, with `checked` to settle when python3 has answered, so the caller
 * reads its next files meanwhile (awaited at once, a reader sat idle while python3 compiled the
 * last files of each chunk, and while python3 started).
 */
export async function readThenCheck(
  root: string,
  files: string[],
  target: BaseTarget,
  compiler: () => Pick<PyCompiler, 'compile'>,
  keep: KeepParse[] = [],
  stopped?: () => boolean,
): Promise<{ checked: Promise<CheckedPythonFile[]> }> {
  const read: Array<{ r: ReadPythonFile; compiled: Promise<string | null> | null }> = [];
  for (const [k, file] of files.entries()) {
    if (stopped?.()) {
      read.push({ r: { skipped: { file: path.relative(root, file), reason: 'interrupted before it was read' } }, compiled: null });
      continue;
    }
    const r = readPythonFile(root, file, target, keep[k]);
    read.push({ r, compiled: 'facts' in r ? compiler().compile({ name: r.facts.rel, text: r.source }) : null });
    // A turn of the event loop, so the source goes to python3 now (its write waits on a promise)
    // and python3 compiles it while the next file is parsed: written after the whole chunk, the
    // compiles ran while this thread waited (a third of a reader thread's time was idle).
    await turnEventLoop();
  }
  const settle = async (): Promise<CheckedPythonFile[]> => {
    const out: CheckedPythonFile[] = [];
    for (const { r, compiled } of read) out.push('facts' in r ? { facts: r.facts, compiled: await compiled!, read: r.read, ...(r.parsed ? { parsed: r.parsed } : {}), ...(r.native ? { native: r.native } : {}) } : r);
    return out;
  };
  return { checked: settle() };
}

/** Bytes a file's kept parse takes, estimated from its size before it is read (arrays of ~17 bytes a node, a node per ~3 characters, and the source). */
const KEPT_BYTES_PER_SOURCE_BYTE = 8;
/** Bytes of tree-sitter's native tree per source byte (RSS held per tree over 111 generated agents of ~24 KB: 42). */
const NATIVE_BYTES_PER_SOURCE_BYTE = 44;

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
  const sizes = parses ? files.map(sizeOf) : [];
  const keep = sizes.map((size) => parses!.reserve(size * KEPT_BYTES_PER_SOURCE_BYTE));
  if (!threads) {
    // Read in this process, whose rewrites (in band) can reparse their outputs from the scan's
    // native trees: those are kept too, within their own budget (see KeptParse.native).
    const keepOf = (chunk: number[]): KeepParse[] =>
      chunk.map((i) => (keep[i] ? (parses!.reserveNative(sizes[i]! * NATIVE_BYTES_PER_SOURCE_BYTE) ? 'native' : true) : false));
    let session: PyCompiler | undefined;
    try {
      // Each chunk's verdicts are taken while the next chunk is read.
      const answered: Promise<void>[] = [];
      for (const chunk of chunks) {
        if (choice.signal?.aborted) break;
        const { checked } = await readThenCheck(root, chunk.map((i) => files[i]!), target, () => (session ??= sharedCompileSession()), keepOf(chunk), () => choice.signal?.aborted ?? false);
        answered.push(checked.then((out) => out.forEach((r, k) => onRead(chunk[k]!, r))));
      }
      await Promise.all(answered);
    } finally {
      await session?.close();
    }
    return;
  }
  // Ctrl-C reaches the workers at once through shared memory: they take no new chunk, and the files of the one they hold are not read.
  const interrupted = new Int32Array(new SharedArrayBuffer(4));
  const onAbort = () => Atomics.store(interrupted, 0, 1);
  if (choice.signal?.aborted) onAbort();
  choice.signal?.addEventListener('abort', onAbort, { once: true });
  // The readers take their chunks from a shared counter, not from messages of this thread: this
  // thread scans the TypeScript files meanwhile (loading the compiler alone holds it for a second
  // or more), and readers fed by its messages sat idle a third of the scan.
  const next = new Int32Array(new SharedArrayBuffer(4));
  const workers = Array.from({ length: threads }, () => new Worker(workerFile, { workerData: withPython3({ root, target, interrupted, files, keep, next, chunk: CHUNK }) }));
  try {
    await new Promise<void>((resolve, reject) => {
      let done = 0;
      for (const w of workers) {
        let finished = false;
        w.on('message', (msg: { from: number; out: CheckedPythonFile[]; python3?: unknown } | { done: true }) => {
          if ('done' in msg) {
            finished = true;
            if (++done === workers.length) resolve();
            return;
          }
          adoptPython3(msg.python3);
          msg.out.forEach((r, k) => onRead(msg.from + k, r));
        });
        w.once('error', reject);
        w.once('exit', (code) => {
          if (!finished) reject(new Error(`a Python reader thread stopped (exit code ${code}) before its work was done`));
        });
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
    choice.signal?.removeEventListener('abort', onAbort);
  }
}
