// Rewrites spread over worker threads (one per core), or in this process with
// --run-in-band. The same function runs in both places, so a result never depends
// on where it was computed.
import path from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { AgentInfo, RewriteOutcome } from '../core/types.js';
import { loadProfile, profileFor, withTypeScriptProfile, type Profile } from '../profile/profile.js';
import { adapterFor } from '../lang/registry.js';
import { oneLine } from '../core/errors.js';
import { collectIfHeapGrew, traceHeap } from '../core/heap.js';
import { threadId } from 'node:worker_threads';
import { workerThreads, type ThreadChoice } from './threads.js';
import { runOnWorkers } from './worker-pool.js';

export interface RewriteJob {
  root: string;
  file: string;
  source: string;
  agent: AgentInfo;
  /** The batch's id: the repository is read once per batch (see RewriteRequest.snapshot). */
  snapshot?: string;
  /** The scan's parse of `source` (see RewriteRequest.parsed). */
  parsed?: unknown;
  /** Its native tree, for a rewrite in this thread only (see RewriteRequest.native). */
  native?: unknown;
}

/** The work itself: identical in a worker and in band. */
export async function rewriteOne(job: RewriteJob, profile: Profile): Promise<RewriteOutcome> {
  try {
    const adapter = adapterFor(job.agent.language);
    // The idempotency pass of verification runs here, in parallel, on the output tree the
    // rewrite already parsed, instead of serially after the pool.
    const checkIdempotencyAs = path.relative(job.root, adapter.outputPath(job.file)).split(path.sep).join('/');
    return await adapter.rewrite({ ...job, profile: profileFor(profile, adapter.language, job.agent.file), checkIdempotencyAs });
  } catch (err) {
    return { status: 'failed', removed: [], kept_for_review: [], warnings: [], error: `${job.agent.file}: ${oneLine(err)}` };
  } finally {
    // What a rewrite leaves behind is collected before it piles up (peak memory flat in fleet size).
    collectIfHeapGrew();
    traceHeap(threadId ? `worker ${threadId}` : 'main');
  }
}

const workerFile = fileURLToPath(new URL('./rewrite-worker.js', import.meta.url));

/**
 * What is kept of an outcome once onDone had it: not its output, which the caller keeps as long as
 * it needs it (a batch writes it and lets go), where the list returned at the end held every output
 * of the fleet until the last rewrite.
 */
function handedOver(outcome: RewriteOutcome, onDone: unknown): RewriteOutcome {
  return onDone && outcome.output !== undefined ? { ...outcome, output: undefined } : outcome;
}

/** The outcome of a job whose prepare said no: the caller settled it already (see rewriteAll's prepare). */
function unpreparedOutcome(job: RewriteJob): RewriteOutcome {
  return { status: 'failed', removed: [], kept_for_review: [], warnings: [], error: `${job.agent.file}: its input could not be read` };
}

/** The outcome of a job the batch never got to, because it was interrupted. */
function interruptedOutcome(job: RewriteJob): RewriteOutcome {
  return { status: 'failed', removed: [], kept_for_review: [], warnings: [], error: `${job.agent.file}: interrupted before its rewrite` };
}

export async function rewriteAll(
  jobs: RewriteJob[],
  profile: Profile,
  opts: ThreadChoice & {
    onDone?: (i: number, outcome: RewriteOutcome) => void;
    /**
     * Called just before job i is rewritten or sent to a worker: it fills in the job's source (and
     * kept parse), so a large fleet's texts are not all held from the start (memory flat in fleet
     * size). False: the caller settled that job itself (its file could not be read); onDone is not called for it.
     */
    prepare?: (i: number) => boolean;
    signal?: AbortSignal;
  },
): Promise<RewriteOutcome[]> {
  // Workers need the compiled worker file; small batches are faster in band anyway.
  const threads = existsSync(workerFile) ? workerThreads(jobs.length, 4, opts) : 0;
  if (!threads) {
    const out: RewriteOutcome[] = [];
    for (let i = 0; i < jobs.length; i++) {
      if (opts.signal?.aborted) {
        out.push(interruptedOutcome(jobs[i]!));
        continue;
      }
      if (opts.prepare && !opts.prepare(i)) {
        out.push(unpreparedOutcome(jobs[i]!));
        continue;
      }
      out.push(await rewriteOne(jobs[i]!, profile));
      opts.onDone?.(i, out[i]!);
      out[i] = handedOver(out[i]!, opts.onDone);
      // Let a Ctrl-C be seen between two rewrites of a long in-band batch.
      await new Promise((r) => setImmediate(r));
    }
    return out;
  }
  // A native tree cannot go to another thread: the workers parse those inputs again, and the trees go now.
  for (const job of jobs) delete job.native;
  const results: RewriteOutcome[] = new Array(jobs.length);
  const prepare = opts.prepare;
  // Ctrl-C: no new job goes out; the ones in flight finish, then the pool ends.
  await runOnWorkers<RewriteJob, RewriteOutcome>({
    file: workerFile,
    workerData: {
      profileFile: profile.file,
      typescriptProfileFile: profile.typescriptProfile?.file,
      root: jobs[0]!.root,
      pythonSplit: profile.pythonSplit ? { otherFile: profile.pythonSplit.other.file, packages: profile.pythonSplit.packages, importers: profile.pythonSplit.importers } : undefined,
    },
    threads,
    tasks: jobs,
    stop: () => opts.signal?.aborted ?? false,
    prepare: prepare
      ? (i) => {
          const ready = prepare(i);
          if (!ready) results[i] = unpreparedOutcome(jobs[i]!);
          delete jobs[i]!.native;
          return ready;
        }
      : undefined,
    onResult: (i, outcome) => {
      opts.onDone?.(i, outcome);
      results[i] = handedOver(outcome, opts.onDone);
    },
  });
  return jobs.map((job, i) => results[i] ?? interruptedOutcome(job));
}

/** A profile's pythonSplit as a worker receives it: profile files, not profiles. */
export interface WorkerPythonSplit {
  otherFile: string;
  packages: string[];
  importers: string[];
}

/** The batch's profile in a worker, with the TypeScript files' own and the other Python fleet's when the choice gave them another (profileFor). */
export function profileForWorker(profileFile: string, root: string, typescriptProfileFile?: string, pythonSplit?: WorkerPythonSplit): Profile {
  let profile = loadProfile(profileFile, root);
  if (pythonSplit) profile = { ...profile, pythonSplit: { other: loadProfile(pythonSplit.otherFile, root), packages: pythonSplit.packages, importers: pythonSplit.importers } };
  return typescriptProfileFile ? withTypeScriptProfile(profile, loadProfile(typescriptProfileFile, root)) : profile;
}
