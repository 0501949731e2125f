// `migrate run`: the batch, with a progress bar on a terminal and the JSON contract with --json.
import { setMaxListeners } from 'node:events';
import '../lang/adapters.js';
import { loadProfile } from '../profile/profile.js';
import { runBatch } from '../pipeline/batch.js';
import { createProgress } from '../report/progress.js';
import { printDiffs, printRunHuman, printRunJson } from '../report/run-printer.js';
import { requireDirectory } from './common.js';

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
}

export async function runCommand(agents: string[], flags: RunFlags): Promise<number> {
  const root = requireDirectory(flags.root);
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
    if (flags.json) printRunJson(outcome);
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
