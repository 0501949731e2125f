// The embedded registry and metrics sink served from a thread of their own. In the tool's main
// thread they shared its event loop with everything a run does synchronously (git commits of the
// agents already validated, byte-compiles, file reads): under load that held a request for over
// 2 s, the agents' 2 s timeouts expired on registrations the registry had recorded, and agents
// stopped meanwhile were left listed (the demo failed 1-5 of 13 agents on "still registered").
// Their own event loop answers at once whatever the main thread does. One thread per process
// serves every embedded server it is asked for (a thread costs a few hundred ms of CPU to start:
// one per validation was a fifth of a TypeScript validation's CPU), kept while one is open. What
// the tool asks of them (registrations(), samples()) is a synchronous call: the request goes over
// a MessagePort and the caller waits on a shared flag the thread sets once its answer is there.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';

const workerFile = fileURLToPath(new URL('./server-thread-worker.js', import.meta.url));

export type ServerKind = 'registry' | 'sink';

/** What a served embedded server gives its owner, in whichever thread it runs. */
export interface Served {
  port: number;
  /** Answer a query (the accessor's name) from the server's own state. */
  query(what: string): unknown;
  close(): Promise<void>;
}

export interface ServerThreadData {
  queries: MessagePort;
  flag: Int32Array;
}
/** Owner -> thread on the worker's own port (answered there), and on the query port (answered on it, then the flag). */
export type ToServerThread = { op: 'start'; id: number; kind: ServerKind } | { op: 'close'; id: number };
export type FromServerThread = { id: number; port?: number; error?: string };
export type ServerQuery = { id: number; what: string };

/** How long a query waits for the thread's answer: it answers from memory, at once. */
const QUERY_TIMEOUT_MS = 10_000;

interface Thread {
  worker: Worker;
  queries: MessagePort;
  flag: Int32Array;
  open: number;
  pending: Map<number, { resolve: (m: FromServerThread) => void; reject: (err: Error) => void }>;
}
let thread: Thread | undefined;
let nextId = 0;

function startThread(): Thread {
  const { port1, port2 } = new MessageChannel();
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(workerFile, { workerData: { queries: port2, flag } satisfies ServerThreadData, transferList: [port2] });
  port1.unref();
  const t: Thread = { worker, queries: port1, flag, open: 0, pending: new Map() };
  worker.on('message', (m: FromServerThread) => {
    const entry = t.pending.get(m.id);
    t.pending.delete(m.id);
    entry?.resolve(m);
    if (t.open === 0 && t.pending.size === 0) worker.unref();
  });
  const fail = (err: Error) => {
    if (thread === t) thread = undefined;
    for (const entry of t.pending.values()) entry.reject(err);
    t.pending.clear();
  };
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`the embedded servers' thread ended (exit code ${code})`)));
  return t;
}

function ask(t: Thread, message: ToServerThread): Promise<FromServerThread> {
  // Held open while an answer is awaited or a server is open: an idle thread never keeps the process alive.
  t.worker.ref();
  return new Promise((resolve, reject) => {
    t.pending.set(message.id, { resolve, reject });
    t.worker.postMessage(message);
  });
}

/**
 * Serve `kind` in the embedded servers' thread; null when there is no thread to start (the sources
 * run untranspiled, as the tests' in-process imports do): the caller serves it in this thread.
 */
export async function serveInThread(kind: ServerKind): Promise<Served | null> {
  if (!existsSync(workerFile)) return null;
  const t = (thread ??= startThread());
  const id = nextId++;
  t.open++;
  let started: FromServerThread;
  try {
    started = await ask(t, { op: 'start', id, kind });
    if (!started.port) throw new Error(started.error ?? `the embedded ${kind} did not start`);
  } catch (err) {
    t.open--;
    throw err;
  }
  let closed = false;
  return {
    port: started.port,
    query(what) {
      if (closed) throw new Error(`the embedded ${kind} is closed`);
      Atomics.store(t.flag, 0, 0);
      t.queries.postMessage({ id, what } satisfies ServerQuery);
      if (Atomics.wait(t.flag, 0, 0, QUERY_TIMEOUT_MS) === 'timed-out') throw new Error(`the embedded ${kind} did not answer ${what} in ${QUERY_TIMEOUT_MS / 1000} s`);
      const answer = receiveMessageOnPort(t.queries);
      if (!answer) throw new Error(`the embedded ${kind} sent no answer to ${what}`);
      const failed = (answer.message as { queryError?: string } | null)?.queryError;
      if (failed) throw new Error(`the embedded ${kind} could not answer ${what}: ${failed}`);
      return answer.message;
    },
    async close() {
      if (closed) return;
      closed = true;
      t.open--;
      await ask(t, { op: 'close', id }).catch(() => undefined);
    },
  };
}
