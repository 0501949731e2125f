// `migrate revert AGENT`: undo that agent's migration commit (and record the revert); a
// promoted agent's promotion is undone first, its migration by the next revert.
import { CommandFailure, MigrateError, UsageError, oneLine } from '../core/errors.js';
import { loadProfile } from '../profile/profile.js';
import { scanRepository } from '../discover/scan.js';
import { headBranch, revertAgent, warnFallbackIdentity } from '../record/git.js';
import { refuseUnitMember, resolveAgent } from '../record/resolve.js';
import { revertJson, revertLine } from '../report/status-table.js';
import { resolveRoot, type CommonFlags } from './common.js';
import { listenForInterrupt } from './interrupt.js';
import { RunJournal } from '../pipeline/journal.js';
import { io } from '../core/invocation.js';

export async function revertCommand(agent: string, opts: CommonFlags & { json?: boolean }): Promise<number> {
  const root = resolveRoot(opts);
  // Ctrl-C (or SIGTERM/SIGHUP) while git reverts or commits (a slow hook, a signing prompt)
  // ended the tool at once and left the revert half done: its files staged, its record
  // added, REVERT_HEAD set, and every later revert refused. Caught, the signal only ends
  // git (it reaches the whole foreground group), and the revert's own failure path puts
  // the repository back; a revert git had already committed stays, and is reported.
  // The run journal covers what no handler can (kill -9): the next command puts the files back.
  const interrupt = listenForInterrupt('the next writing command (run, commit, review, promote or revert) puts back what it left unfinished (migrate status names it)');
  let journal: RunJournal | null = null;
  try {
    refuseUnitMember(root, agent, 'revert');
    const name = await resolveAgent(root, agent, (n) => fileForConfigName(root, n));
    journal = await RunJournal.open(root, 'run');
    if (interrupt.signal.aborted) throw new CommandFailure(`interrupted before reverting ${name}; nothing changed`, interrupt.exitCode()!, 'interrupted');
    const { revertSha, migrationSha, undid } = await revertAgent(root, name, { journal });
    const result = { agent: name, reverted: migrationSha, revert_commit: revertSha, undid };
    io.stdout.write(opts.json ? revertJson(result) : revertLine(result));
    // As run warns: a revert made on a detached HEAD is lost at the next checkout unless kept,
    // and status on the branch still shows the agent committed.
    await warnFallbackIdentity(root, (text) => io.stderr.write(text), 'the revert commit is made');
    if ((await headBranch(root)) === null) {
      io.stderr.write(`migrate: warning: HEAD is detached: the revert commit ${revertSha.slice(0, 12)} is on no branch; \`git switch -c NAME\` keeps it\n`);
    }
    // A signal to this process alone (not its group: git went on) while git committed: the revert
    // completed and stays. Said, and the exit says the signal, as commit's does; before: exit 0, not a word.
    const signalled = interrupt.exitCode();
    if (signalled !== undefined) {
      io.stderr.write(`migrate: interrupted (${interrupt.received()}) while git committed the revert; it completed and stays (${revertSha.slice(0, 12)})\n`);
      return signalled;
    }
    return 0;
  } catch (err) {
    const interrupted = interrupt.exitCode();
    if (err instanceof CommandFailure) throw err;
    if (interrupted !== undefined && err instanceof MigrateError && !(err instanceof UsageError)) {
      throw new CommandFailure(`interrupted: ${oneLine(err)}`, interrupted, 'interrupted');
    }
    // Usage errors (never migrated, already reverted, dirty tree) exit 2 through the CLI;
    // a conflict is the revert failing: one line, exit 1 (the CLI prints it, with --json its document too).
    if (err instanceof UsageError || !(err instanceof MigrateError)) throw err;
    throw new CommandFailure(err.message, 1, 'failed', err.file, err.line);
  } finally {
    interrupt.dispose();
    journal?.finish();
  }
}

/** The legacy file of the agent a startup config names `name` (the scan reads the configs). */
export async function fileForConfigName(root: string, name: string): Promise<string | null> {
  const scan = await scanRepository(root, loadProfile('base-agent', root));
  return scan.agents.find((a) => a.config_names?.includes(name))?.file ?? null;
}
