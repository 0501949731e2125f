// Worker-thread entry of the TypeScript launch thread (see launch-thread.ts): compiles the
// agents it is sent, one at a time, with the repository's own base-agent profile.
import path from 'node:path';
import { parentPort } from 'node:worker_threads';
import { MigrateError, oneLine } from '../../core/errors.js';
import { loadProfile } from '../../profile/profile.js';
import { compileForLaunch } from './launch.js';
import { withListingKept } from '../../discover/files.js';
import type { FromLaunchThread, ToLaunchThread } from './launch-thread.js';

parentPort!.on('message', async ({ id, root, file, listed }: ToLaunchThread) => {
  let answer: FromLaunchThread;
  try {
    const compile = () => compileForLaunch(path.resolve(root), file, loadProfile('base-agent', root));
    const { js, outDir } = await (listed === undefined ? compile() : withListingKept(compile, { root, listed }));
    answer = { id, js, outDir };
  } catch (err) {
    answer = err instanceof MigrateError ? { id, error: err.message, file: err.file, line: err.line } : { id, error: oneLine(err) };
  }
  parentPort!.postMessage(answer);
});
