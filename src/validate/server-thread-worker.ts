// Worker-thread entry of an embedded server (see server-thread.ts): serves the registry or the
// metrics sink on loopback and answers the owner's queries from its state.
import { parentPort, workerData } from 'node:worker_threads';
import { oneLine } from '../core/errors.js';
import { serveEmbeddedRegistry } from './embedded-registry.js';
import { serveMetricsSink } from './metrics-sink.js';
import type { ServerThreadData } from './server-thread.js';

const { kind, queries, flag } = workerData as ServerThreadData;
try {
  const served = kind === 'registry' ? await serveEmbeddedRegistry() : await serveMetricsSink();
  queries.on('message', (what: string) => {
    let answer: unknown;
    try {
      answer = served.query(what);
    } catch (err) {
      answer = { queryError: oneLine(err) };
    }
    // On the port before the flag: the owner reads it as soon as it wakes.
    queries.postMessage(answer);
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
  });
  parentPort!.postMessage({ port: served.port });
} catch (err) {
  parentPort!.postMessage({ error: oneLine(err) });
}
