// The embedded registry and metrics sink served from a thread of their own. In the tool's main
// thread they shared its event loop with everything a run does synchronously (git commits of the
// agents already validated, byte-compiles, file reads): under load that held a request for over
// 2 s, the agents' 2 s timeouts expired on registrations the registry had recorded, and agents
// stopped meanwhile were left listed (the demo failed 1-5 of 13 agents on "still registered").
// Their own event loop answers at once whatever the main thread does. What the tool asks of them
// (registrations(), samples()) is a synchronous call: the request goes over a MessagePort and the
// caller waits on a shared flag the thread sets once its answer is on the port.
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
  kind: ServerKind;
  queries: MessagePort;
  flag: Int32Array;
}

/** How long a query waits for the thread's answer: it answers from memory, at once. */
const QUERY_TIMEOUT_MS = 10_000;

/**
 * Serve `kind` in a thread of its own; null when there is no thread to start (the sources run
 * untranspiled, as the tests' in-process imports do): the caller serves it in this thread.
 */
export async function serveInThread(kind: ServerKind): Promise<Served | null> {
  if (!existsSync(workerFile)) return null;
  const { port1, port2 } = new MessageChannel();
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(workerFile, { workerData: { kind, queries: port2, flag } satisfies ServerThreadData, transferList: [port2] });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', (m: { port?: number; error?: string }) => (m.port ? resolve(m.port) : reject(new Error(m.error ?? `the embedded ${kind} did not start`))));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the embedded ${kind} thread ended (exit code ${code})`)));
  });
  port1.unref();
  let closed = false;
  return {
    port,
    query(what) {
      if (closed) throw new Error(`the embedded ${kind} is closed`);
      Atomics.store(flag, 0, 0);
      port1.postMessage(what);
      if (Atomics.wait(flag, 0, 0, QUERY_TIMEOUT_MS) === 'timed-out') throw new Error(`the embedded ${kind} did not answer ${what} in ${QUERY_TIMEOUT_MS / 1000} s`);
      const answer = receiveMessageOnPort(port1);
      if (!answer) throw new Error(`the embedded ${kind} sent no answer to ${what}`);
      const failed = (answer.message as { queryError?: string } | null)?.queryError;
      if (failed) throw new Error(`the embedded ${kind} could not answer ${what}: ${failed}`);
      return answer.message;
    },
    async close() {
      if (closed) return;
      closed = true;
      port1.close();
      // Its server closes with the thread: listening socket and open connections alike.
      await worker.terminate();
    },
  };
}
