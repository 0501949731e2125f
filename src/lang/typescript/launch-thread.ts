// TypeScript agents compiled for validation in a thread of their own. A launch is a compile
// (a third of a second or more), and validation runs while other agents are being watched: in
// this thread it held the health probes, the embedded registry and the metrics sink, so agents
// that were up timed out. One worker, kept while the run lasts, keeps the declaration files it
// parsed (see launch.ts) from one compile to the next.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { MigrateError } from '../../core/errors.js';
import type { LaunchCommand } from '../../pipeline/language.js';
import { launchCommandFor } from './launch-command.js';

const workerFile = fileURLToPath(new URL('./launch-worker.js', import.meta.url));

/** `listed`: the command's kept listing of the root (see withListingKept), so the thread does not list it again. */
export type ToLaunchThread = { id: number; root: string; file: string; listed?: string[] };
export type FromLaunchThread = { id: number; js: string; outDir: string } | { id: number; error: string; file?: string; line?: number };

let worker: Worker | undefined;
let nextId = 0;
const waiting = new Map<number, { resolve: (c: LaunchCommand) => void; reject: (err: Error) => void }>();

/** The agent's launch command, compiled in the launch thread; null where the thread cannot run (sources not compiled: the tests' in-process runs). */
export function launchInThread(root: string, file: string, listed?: string[]): Promise<LaunchCommand> | null {
  if (!existsSync(workerFile)) return null;
  const w = (worker ??= start());
  const id = nextId++;
  const command = new Promise<LaunchCommand>((resolve, reject) => waiting.set(id, { resolve, reject }));
  // Kept alive only while a compile is awaited: an idle thread never holds the process open.
  w.ref();
  w.postMessage({ id, root, file, listed } satisfies ToLaunchThread);
  return command;
}

function start(): Worker {
  const w = new Worker(workerFile);
  w.on('message', (a: FromLaunchThread) => {
    const entry = waiting.get(a.id);
    waiting.delete(a.id);
    if (waiting.size === 0) w.unref();
    if (!entry) return;
    if ('error' in a) entry.reject(new MigrateError(a.error, a.file, a.line));
    else entry.resolve(launchCommandFor(a.js, a.outDir));
  });
  const fail = (err: Error) => {
    if (worker === w) worker = undefined;
    for (const entry of waiting.values()) entry.reject(err);
    waiting.clear();
  };
  w.on('error', fail);
  w.on('exit', () => fail(new Error('the TypeScript launch thread ended')));
  return w;
}
