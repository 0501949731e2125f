// `migrate run`: the batch, with a progress bar on a terminal and the JSON contract with --json.
import { setMaxListeners } from 'node:events';
import path from 'node:path';
import '../lang/adapters.js';
import { loadProfile } from '../profile/profile.js';
import { runBatch } from '../pipeline/batch.js';
import { createProgress } from '../report/progress.js';
import { printDiffs, printRunHuman, printRunJson } from '../report/run-printer.js';
import { requireDirectory } from './common.js';
import { UsageError } from '../core/errors.js';
import { allAdapters } from '../lang/registry.js';
import { writeFileAtomic } from '../record/migration-log.js';
import { rememberRunResults } from '../record/run-results.js';
import { diffsByAgent, newFilePatch } from '../review/patch.js';

export interface RunFlags {
  root: string;
  profile: string;
  all?: boolean;
  dryRun?: boolean;
  validate: boolean;
  commit: boolean;
  force?: boolean;
  allowDirty?: boolean;
  concurrency?: number;
  shard?: string;
  transform?: string[];
  runInBand?: boolean;
  registryUrl?: string;
  metricsUrl?: string;
  json?: boolean;
  /** With --dry-run: write the `_v2` files as a new-file patch here (`-`: standard output). */
  patch?: string;
}

export async function runCommand(agents: string[], flags: RunFlags): Promise<number> {
  const root = requireDirectory(flags.root);
  if (flags.patch !== undefined && !flags.dryRun) throw new UsageError('--patch writes what a dry run would write; use it with --dry-run');
  if (flags.patch === '-' && flags.json) throw new UsageError('--patch - and --json both want standard output; give --patch a file');
  const profile = loadProfile(flags.profile, root);
  const abort = new AbortController();
  // Every validation check listens on this one signal; a big batch has many at once.
  setMaxListeners(0, abort.signal);
  // `on`, not `once`: the validation stage's own handler re-raises the signal when no
  // other listener is left, which killed the tool before it removed unfinished _v2
  // files. A second Ctrl-C still ends the tool at once (the journal then cleans up).
  const onSignal = (signal: NodeJS.Signals) => {
    if (!abort.signal.aborted) return abort.abort();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.kill(process.pid, signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let progress: ReturnType<typeof createProgress> | undefined;
  try {
    const outcome = await runBatch({
      root,
      profile,
      agents,
      all: Boolean(flags.all),
      dryRun: Boolean(flags.dryRun),
      validate: flags.validate && !flags.dryRun,
      commit: flags.commit && !flags.dryRun,
      force: Boolean(flags.force),
      allowDirty: Boolean(flags.allowDirty),
      concurrency: flags.concurrency ?? 4,
      shard: flags.shard,
      transforms: flags.transform,
      runInBand: Boolean(flags.runInBand),
      registryUrl: flags.registryUrl,
      metricsUrl: flags.metricsUrl,
      signal: abort.signal,
      onStage: (done, total, stage, failures) => {
        progress ??= createProgress({ total, json: Boolean(flags.json) });
        progress.update(done, stage, failures);
      },
    });
    progress?.stop();
    if (flags.patch !== undefined) {
      const patch = newFilePatch(root, outcome.results, outcome.previews);
      if (flags.patch === '-') process.stdout.write(patch);
      else writeFileAtomic(path.resolve(flags.patch), patch);
    }
    // A run that leaves no commit is remembered for `migrate review` and `migrate report`.
    if (!flags.dryRun) {
      const languageOf = (file: string) => allAdapters().find((a) => a.extensions.some((e) => file.endsWith(e)))?.language ?? 'python';
      rememberRunResults(root, outcome.results, { language: (r) => languageOf(r.file), profile: profile.name, previews: outcome.previews });
    }
    if (flags.json) printRunJson(outcome, flags.dryRun ? diffsByAgent(outcome.results, outcome.previews) : undefined);
    else if (flags.patch !== undefined) printRunHuman(outcome, process.stderr);
    else {
      if (flags.dryRun) printDiffs(outcome.diffs);
      printRunHuman(outcome);
    }
    if (outcome.interrupted) return 130;
    return outcome.results.some((r) => r.status === 'failed') ? 1 : 0;
  } finally {
    progress?.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
