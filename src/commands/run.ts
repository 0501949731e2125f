// `migrate run`: the batch, with a progress bar on a terminal and the JSON contract with --json.
import '../lang/adapters.js';
import { loadProfile } from '../profile/profile.js';
import { runBatch } from '../pipeline/batch.js';
import { createProgress } from '../report/progress.js';
import { printDiffs, printRunHuman, printRunJson } from '../report/run-printer.js';
import { requireDirectory } from './common.js';
import { enableWatchdog } from '../validate/watchdog.js';
import { listenForInterrupt } from './interrupt.js';

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
  // A watchdog process ends the agents if this one is killed outright (kill -9 included).
  enableWatchdog();
  const interrupt = listenForInterrupt();
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
      signal: interrupt.signal,
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
    if (outcome.interrupted) return interrupt.exitCode() ?? 130;
    return outcome.results.some((r) => r.status === 'failed') ? 1 : 0;
  } finally {
    progress?.stop();
    interrupt.dispose();
  }
}
