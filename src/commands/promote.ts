// `migrate promote AGENT... [--all-validated]`: cut validated, committed agents over to
// their `_v2`, one commit each; one agent's refusal never stops the others.
import { constants as osConstants } from 'node:os';
import { MigrateError, UsageError, oneLine } from '../core/errors.js';
import { RunJournal } from '../pipeline/journal.js';
import { releaseStartupSignals } from '../core/startup-signals.js';
import { checkSigning, readHistory, warnFallbackIdentity } from '../record/git.js';
import { refuseUnitMember, resolveAgent } from '../record/resolve.js';
import { promotable, promoteAgent } from '../record/promote.js';
import { PROMOTE_MODES, type PromoteMode } from '../config/settings.js';
import { promoteJson, promoteText, type PromoteRow } from '../report/promote-printer.js';
import { resolveRoot, type CommonFlags } from './common.js';
import { fileForConfigName } from './revert.js';
import { io } from '../core/invocation.js';

export interface PromoteCommandOptions extends CommonFlags {
  allValidated?: boolean;
  mode?: string;
  json?: boolean;
}

export async function promoteCommand(agents: string[], opts: PromoteCommandOptions): Promise<number> {
  const root = resolveRoot(opts);
  if (opts.mode !== undefined && !PROMOTE_MODES.includes(opts.mode as PromoteMode)) {
    throw new UsageError(`--mode must be one of ${PROMOTE_MODES.join(', ')}, not "${opts.mode}"`);
  }
  if (!agents.length && !opts.allValidated) throw new UsageError('name the agents to promote, or pass --all-validated');
  const names: string[] = [];
  for (const a of agents) {
    refuseUnitMember(root, a, 'promote');
    names.push(await resolveAgent(root, a, (n) => fileForConfigName(root, n)));
  }
  if (opts.allValidated) {
    // Every committed, validated agent not yet promoted; the rest are simply not candidates.
    // Nothing is committed until they are all chosen: each is judged on the history read here.
    const history = await readHistory(root);
    for (const [name, h] of [...history].sort(([a], [b]) => a.localeCompare(b))) {
      if (!h.active || h.promoted || names.includes(name)) continue;
      if (await promotable(root, name, history).then(() => true, () => false)) names.push(name);
    }
  }
  // Each promotion is a commit: where signing cannot work, one line before the first (not a failed row per agent).
  if (names.length) await checkSigning(root, 'then run `migrate promote` again');
  if (names.length) await warnFallbackIdentity(root, (text) => io.stderr.write(text), 'the promotion commits are made');
  const rows: PromoteRow[] = [];
  // Ctrl-C, SIGTERM or SIGHUP lets the agent in progress finish (committed, or restored as it
  // was) and stops before the next one: never a config edited without its commit. The run
  // journal covers what no handler can (kill -9): the next command restores the files.
  let interrupted: NodeJS.Signals | null = null;
  const onSignal = (sig: NodeJS.Signals) => (interrupted = sig);
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal).on('SIGHUP', onSignal);
  releaseStartupSignals();
  let journal: RunJournal;
  try {
    journal = await RunJournal.open(root, 'run');
  } catch (err) {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal).off('SIGHUP', onSignal);
    throw err;
  }
  try {
    for (const agent of names) {
      if (interrupted) break;
      await promoteOne(root, agent, opts, names.length, rows, journal);
    }
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal).off('SIGHUP', onSignal);
    journal.finish();
  }
  io.stdout.write(opts.json ? promoteJson(rows) : promoteText(rows));
  if (interrupted) {
    io.stderr.write(`migrate: interrupted (${interrupted}) after ${rows.length} of ${names.length} agents; the rest were not promoted\n`);
    return 128 + (osConstants.signals[interrupted] ?? 2);
  }
  return rows.every((r) => r.status === 'promoted') ? 0 : 1;
}

async function promoteOne(root: string, agent: string, opts: PromoteCommandOptions, count: number, rows: PromoteRow[], journal: RunJournal): Promise<void> {
  try {
    const result = await promoteAgent(root, agent, { mode: opts.mode as PromoteMode | undefined, journal });
    rows.push({ agent, status: 'promoted', result });
  } catch (err) {
    // A single named agent that cannot be promoted is the caller's mistake (exit 2, like revert).
    if (err instanceof UsageError && count === 1 && !opts.allValidated) throw err;
    if (!(err instanceof MigrateError)) throw err;
    rows.push({ agent, status: 'failed', error: oneLine(err) });
  }
}
