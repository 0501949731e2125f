// `migrate run`: the batch, with progress on stderr and the JSON contract with --json.
// Every usage and configuration error is found before any agent is touched (exit 2).
import { existsSync, statSync } from 'node:fs';
import { setMaxListeners } from 'node:events';
import path from 'node:path';
import { InterruptedError, UsageError, oneLine } from '../core/errors.js';
import { runBatch } from '../pipeline/batch.js';
import { formatTimings } from '../pipeline/stage-clock.js';
import { parseShard } from '../pipeline/shard.js';
import { configIgnorePatterns } from '../discover/ignore.js';
import { readLaunchTemplate } from '../validate/launch.js';
import { checkEnvironmentUrls } from '../validate/environment.js';
import { createProgress } from '../report/progress.js';
import { printDiffs, printRunHuman, printRunJson } from '../report/run-printer.js';
import { commandProfile, profileJson, reportBaseModels, resolveRoot, verbose, type CommonFlags } from './common.js';
import { enableWatchdog } from '../validate/watchdog.js';
import { reaperNote } from '../validate/reaper.js';
import { interruptedLine, listenForInterrupt } from './interrupt.js';
import { allAdapters } from '../lang/registry.js';
import { writeFileAtomic } from '../record/migration-log.js';
import { rememberRunResults } from '../record/run-results.js';
import { diffsByAgent, newFilePatch } from '../review/patch.js';
import { io } from '../core/invocation.js';
import { profileFor } from '../profile/profile.js';

export interface RunFlags extends CommonFlags {
  profile?: string;
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
  jobs?: number;
  registryUrl?: string;
  metricsUrl?: string;
  ignore?: string[];
  json?: boolean;
  /** Print the wall time of each stage on standard error. */
  timings?: boolean;
  /** With --dry-run: write the `_v2` files as a new-file patch here (`-`: standard output). */
  patch?: string;
}

/**
 * Usage and configuration errors of a run, all of them before any work starts. Returns
 * the --transform files as absolute paths (from the current directory, else the root).
 */
function checkRunFlags(root: string, agents: string[], flags: RunFlags): string[] {
  if (!agents.length && !flags.all) throw new UsageError('name the agents to migrate, or pass --all');
  if (flags.shard) parseShard(flags.shard);
  const transforms = (flags.transform ?? []).map((t) => {
    const abs = [path.resolve(t), path.resolve(root, t)].find((p) => existsSync(p) && statSync(p).isFile());
    if (!abs) throw new UsageError(`--transform ${t}: no such file (neither in ${process.cwd()} nor in the root ${root})`);
    return abs;
  });
  configIgnorePatterns(root);
  const validating = flags.validate && !flags.dryRun;
  if (validating) {
    // A broken launch template or URL is the run's configuration, not one agent's failure.
    readLaunchTemplate(root, 'python');
    readLaunchTemplate(root, 'typescript');
    checkEnvironmentUrls({ registryUrl: flags.registryUrl, metricsUrl: flags.metricsUrl });
  }
  return transforms;
}

export async function runCommand(agents: string[], flags: RunFlags): Promise<number> {
  const root = resolveRoot(flags);
  if (flags.patch !== undefined && !flags.dryRun) throw new UsageError('--patch writes what a dry run would write; use it with --dry-run');
  if (flags.patch === '-' && flags.json) throw new UsageError('--patch - and --json both want standard output; give --patch a file');
  const choice = commandProfile(flags, root, { ignore: flags.ignore });
  const profile = choice.profile;
  const transforms = checkRunFlags(root, agents, flags);
  await reportBaseModels(flags, root, profile);
  // A watchdog process ends the agents if this one is killed outright (kill -9 included).
  enableWatchdog();
  const reaper = reaperNote(); // agents start without the subreaper launcher here: say what that loses
  if (reaper && flags.validate && !flags.dryRun) io.stderr.write(`migrate: note: ${reaper}\n`);
  const interrupt = listenForInterrupt('its agents end with it, and the next writing command (run, commit, review, promote or revert) puts back what it left unfinished (migrate status names it)');
  const progress = createProgress({ json: Boolean(flags.json) });
  // The stage running when the signal came (the batch goes on through the later ones to settle each agent).
  let stage: string | undefined;
  let stageAtSignal: string | undefined;
  interrupt.signal.addEventListener('abort', () => (stageAtSignal = stage), { once: true });
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
      transforms,
      runInBand: Boolean(flags.runInBand),
      jobs: flags.jobs,
      registryUrl: flags.registryUrl,
      metricsUrl: flags.metricsUrl,
      ignore: flags.ignore,
      // Only --patch shows every agent's texts; otherwise previews serve agents whose output is not on disk.
      previews: flags.patch !== undefined ? 'all' : 'unwritten',
      signal: interrupt.signal,
      onProgress: (e) => {
        stage = e.stage;
        progress.update(e);
      },
    }).catch((err: unknown) => {
      if (!(err instanceof InterruptedError)) throw err;
      return null;
    });
    progress.stop();
    if (!outcome) {
      // Interrupted during the scan: no agent was touched, so there is no result to list.
      io.stderr.write(`migrate: ${interruptedLine(interrupt)}\n`);
      if (flags.json) printRunJson({ results: [], summary: {}, diffs: [], previews: [], ms: 0, timings: {}, interrupted: true }, undefined, profileJson(choice));
      return interrupt.exitCode() ?? 130;
    }
    if (flags.timings) io.stderr.write(`timings: ${formatTimings(outcome.timings)}\n`);
    if (flags.patch !== undefined) {
      const patch = newFilePatch(root, outcome.results, outcome.previews);
      if (flags.patch === '-') io.stdout.write(patch);
      else writeFileAtomic(path.resolve(flags.patch), patch);
    }
    // A run that leaves no commit is remembered for `migrate review` and `migrate report`.
    if (!flags.dryRun) {
      const languageOf = (file: string) => allAdapters().find((a) => a.extensions.some((e) => file.endsWith(e)))?.language ?? 'python';
      try {
        rememberRunResults(root, outcome.results, { language: (r) => languageOf(r.file), profile: (r) => profileFor(profile, languageOf(r.file), r.file).name, previews: outcome.previews });
      } catch (err) {
        // Only a memory for review and report (a full disk, say): the results are still printed.
        io.stderr.write(`migrate: could not remember this run's results for review and report: ${oneLine(err)}\n`);
      }
    }
    if (flags.json) printRunJson(outcome, flags.dryRun ? diffsByAgent(outcome.results, outcome.previews) : undefined, profileJson(choice));
    else if (flags.patch !== undefined) printRunHuman(outcome, io.stderr);
    else {
      if (flags.dryRun) printDiffs(outcome.diffs);
      printRunHuman(outcome);
    }
    for (const e of outcome.cleanupErrors ?? []) io.stderr.write(`migrate: cleanup: ${e}\n`);
    if (outcome.interrupted) {
      // Said on stderr whatever it is (a terminal, a file, a pipe; --json too), as an interrupted scan is:
      // before, only the summary on stdout said "(interrupted)", so a log of stderr ended without a word.
      io.stderr.write(`migrate: ${interruptedRunLine(interrupt.received(), stageAtSignal, outcome.results)}\n`);
      return interrupt.exitCode() ?? 130;
    }
    // Not validated is no success either: nothing was proven, nothing committed (a CI gate stays red).
    return outcome.results.some((r) => r.status === 'failed' || r.status === 'not-validated') || outcome.units?.some((u) => u.status === 'failed') || outcome.cleanupErrors?.length ? 1 : 0;
  } finally {
    progress.stop();
    interrupt.dispose();
  }
}

/** `interrupted (SIGTERM) during the write stage: 1 of 3 agents stopped unfinished (failed: interrupted ...), 2 finished`. */
export function interruptedRunLine(signal: NodeJS.Signals | undefined, stage: string | undefined, results: Array<{ status: string; error?: string | null }>): string {
  const stopped = results.filter((r) => r.status === 'failed' && /(^|: )interrupted/.test(r.error ?? '')).length;
  const agents = (n: number) => `${n} agent${n === 1 ? '' : 's'}`;
  const rest = results.length - stopped;
  return `interrupted${signal ? ` (${signal})` : ''}${stage ? ` during the ${stage} stage` : ''}: ${stopped} of ${agents(results.length)} stopped unfinished (failed: interrupted ...)${rest ? `, ${rest} finished before it` : ''}`;
}
