// The TypeScript language adapter: the pipeline reaches TypeScript agents only through this.
import path from 'node:path';
import type { LanguageAdapter } from '../../pipeline/language.js';
import { loadProfile, type Profile } from '../../profile/profile.js';
import { TS_EXTENSIONS, v2Path } from './paths.js';
import { TypeScriptScanCache } from './scan-cache.js';

// The adapter's work is loaded on first use: ts-morph and the compiler take a second or more to
// load, in every process and worker, and a fleet without TypeScript files never needs them.

export const typescriptAdapter: LanguageAdapter = {
  language: 'typescript',
  extensions: TS_EXTENSIONS,
  async scan(root, files, profile, threads) {
    if (files.length === 0) return { agents: [], skipped: [] };
    // An unchanged fleet is answered from the scan cache, without loading the compiler.
    const cache = TypeScriptScanCache.open(root, profile);
    const hit = cache?.lookup(path.resolve(root), files);
    if (hit) return hit;
    const { scanTypeScript } = await import('./scan.js');
    const dependencies: string[] = [];
    const result = await scanTypeScript(path.resolve(root), files, profile, cache ? dependencies : undefined, threads?.signal);
    cache?.store(result, dependencies);
    return result;
  },
  async rewrite(req) {
    // The scan resolved the class to the base (possibly through parents in other files): leave it be.
    if (req.agent.status === 'migrated') return { status: 'unchanged', output: req.source, removed: [], kept_for_review: [], warnings: [] };
    const { rewriteTypeScript } = await import('./rewrite.js');
    const root = path.resolve(req.root);
    const outcome = rewriteTypeScript({ root, file: req.file, source: req.source, className: req.agent.class, profile: req.profile });
    // Verification's idempotency pass, here in the worker (in parallel) rather than serially in verify.
    if (req.checkIdempotencyAs !== undefined && outcome.status === 'changed') {
      const { idempotencyError } = await import('./verify.js');
      outcome.idempotency = idempotencyError(root, v2Path(req.file), req.checkIdempotencyAs, outcome.output!, req.agent.class, req.profile);
    }
    return outcome;
  },
  async verify(reqs) {
    const { verifyTypeScript } = await import('./verify.js');
    return verifyTypeScript(reqs);
  },
  outputPath(file) {
    return v2Path(file);
  },
  async launch(root, file) {
    // Compiled in the launch thread: this one serves the agents being watched meanwhile.
    const { launchInThread } = await import('./launch-thread.js');
    // The command's listing of the repository, when it keeps one, goes with it: the thread does not list it again.
    const { keptListing } = await import('../../discover/files.js');
    const inThread = launchInThread(path.resolve(root), file, keptListing(root));
    if (inThread) {
      // The service's own start (package.json "start") gives its environment and preloads, as launchTypeScript does.
      const { startPlan, withStartPlan } = await import('./start-script.js');
      return withStartPlan(await inThread, startPlan(path.resolve(root), file));
    }
    const { launchTypeScript } = await import('./launch.js');
    return launchTypeScript(path.resolve(root), file, currentProfile(root));
  },
};

// launch() has no profile parameter: the repository's own base-agent profile (or migrate's) says
// where the base lives.
function currentProfile(root: string): Profile {
  return loadProfile('base-agent', root);
}
