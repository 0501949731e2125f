// Worker-thread entry of the embedded servers (see server-thread.ts): serves registries and
// metrics sinks on loopback as the owner asks, and answers its queries from their state.
import { parentPort, workerData } from 'node:worker_threads';
import { oneLine } from '../core/errors.js';
import { serveEmbeddedRegistry } from './embedded-registry.js';
import { serveMetricsSink } from './metrics-sink.js';
import type { FromServerThread, Served, ServerQuery, ServerThreadData, ToServerThread } from './server-thread.js';

const { queries, flag } = workerData as ServerThreadData;
const servers = new Map<number, Served>();

parentPort!.on('message', async (m: ToServerThread) => {
  let answer: FromServerThread;
  try {
    if (m.op === 'start') {
      const served = m.kind === 'registry' ? await serveEmbeddedRegistry() : await serveMetricsSink();
      servers.set(m.id, served);
      answer = { id: m.id, port: served.port };
    } else {
      const served = servers.get(m.id);
      servers.delete(m.id);
      await served?.close();
      answer = { id: m.id };
    }
  } catch (err) {
    answer = { id: m.id, error: oneLine(err) };
  }
  parentPort!.postMessage(answer);
});

queries.on('message', ({ id, what }: ServerQuery) => {
  let answer: unknown;
  try {
    const served = servers.get(id);
    if (!served) throw new Error('no such server (closed)');
    answer = served.query(what);
  } catch (err) {
    answer = { queryError: oneLine(err) };
  }
  // On the port before the flag: the owner reads it as soon as it wakes.
  queries.postMessage(answer);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
});
