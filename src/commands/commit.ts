// `migrate commit AGENT...`: commit the validated `_v2` files a `--no-commit` run left (or
// that `migrate validate` passed after a hand fix), one commit per agent with its record,
// exactly as `run` would have. Every agent is checked before the first commit: no `_v2`,
// one already committed, or one not validated as it is now is a usage error (exit 2).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { UsageError, oneLine } from '../core/errors.js';
import type { AgentInfo, RunResult, ValidationReport } from '../core/types.js';
import type { Profile } from '../profile/profile.js';
import { scanRepository } from '../discover/scan.js';
import { selectAgents, selectUnit } from '../discover/resolve.js';
import { commitUnitPlan, planUnitCommit, type UnitPlan } from '../pipeline/unit-commit.js';
import { decodePythonSource } from '../lang/python/parser.js';
import { rewriteOne } from '../pipeline/rewrite-pool.js';
import { RunJournal } from '../pipeline/journal.js';
import { runRecordStage } from '../pipeline/record-stage.js';
import { commitBranch, headBranchNow, passedEveryCheck, recalledValidation, validatedElsewhere } from '../record/validation-cache.js';
import { checkSigning, warnFallbackIdentity, type BranchOrigin } from '../record/git.js';
import { isTracked } from '../record/work-tree.js';
import { handWrittenRecordCheck } from '../record/hand-written-record.js';
import { jsonText } from '../report/terminal.js';
import { commandProfile, reportBaseModels, resolveRoot, type CommonFlags } from './common.js';
import { listenForInterrupt } from './interrupt.js';
import { filesOf } from './agent-files.js';
import { io } from '../core/invocation.js';

export interface CommitFlags extends CommonFlags {
  profile?: string;
  json?: boolean;
  /** Replace a migration-log/<Agent>.json migrate did not write (as run's --force replaces a _v2 that differs). */
  force?: boolean;
}

interface Plan {
  agent: AgentInfo;
  abs: string;
  outAbs: string;
  output: string;
  validation: ValidationReport;
  /** The branch it is committed on only (where it was validated), and how a refusal says it. */
  branch: string | null;
  branchOrigin: BranchOrigin;
}

/** Before branches were remembered with a validation: the branch `migrate commit` began on. */
const COMMIT_ORIGIN: BranchOrigin = { where: 'where this commit began (a checkout meanwhile?)', made: 'validated' };

export async function commitCommand(agents: string[], flags: CommitFlags): Promise<number> {
  const root = resolveRoot(flags);
  if (!agents.length) throw new UsageError('name the agents whose validated _v2 files to commit');
  const profile = commandProfile(flags, root).profile;
  await reportBaseModels(flags, root, profile);
  // Like `run`'s commit stage: a journal (a killed commit is put back by the next command,
  // and a run in progress refuses this one) and Ctrl-C caught, so a git killed by it
  // leaves nothing staged. Before, Ctrl-C during a slow hook left the _v2 and its record
  // staged, and every later `migrate commit` called the _v2 "already committed".
  // The handler first: a signal while the journal recovers a killed run is this command's to answer.
  const interrupt = listenForInterrupt('the next writing command (run, commit, review, promote or revert) puts back what it left unfinished (migrate status names it)');
  let journal: RunJournal | undefined;
  try {
    journal = await RunJournal.open(root, 'run');
    return await commitAll(root, agents, flags, profile, journal, interrupt);
  } finally {
    interrupt.dispose();
    journal?.finish();
  }
}

async function commitAll(
  root: string,
  agents: string[],
  flags: CommitFlags,
  profile: Profile,
  journal: RunJournal,
  interrupt: ReturnType<typeof listenForInterrupt>,
): Promise<number> {
  const scan = await scanRepository(root, profile);
  const started = headBranchNow(root);
  // A base migration unit, named by its base or one of its agents (or their files), is committed whole,
  // as one commit, like run commits it.
  const unitPlans: UnitPlan[] = [];
  const names = agents.filter((a) => {
    const selected = selectUnit(scan, root, a);
    if (selected && !unitPlans.some((u) => u.unit.name === selected.unit.name)) unitPlans.push(planUnitCommit(root, selected.unit, profile));
    return !selected;
  });
  const plans: Plan[] = (names.length ? selectAgents(scan, root, names) : []).map((agent) => {
    const { output, legacy } = filesOf(agent, root);
    const outAbs = path.join(root, output);
    if (!legacy || !existsSync(outAbs)) throw new UsageError(`${agent.name} has no _v2 file to commit (run \`migrate run ${agent.name} --no-commit\` first)`);
    if (isTracked(root, outAbs)) throw new UsageError(`${output} is already committed; \`migrate status\` shows ${agent.name}'s commit`);
    const recalled = recalledValidation(root, agent.name, output);
    if (!recalled || !passedEveryCheck(recalled.report)) {
      const why = recalled ? 'its last validation failed' : 'it was not validated as it is now';
      throw new UsageError(`${output}: ${why}; run \`migrate validate ${agent.name}\` first (only validated files are committed)`);
    }
    // Validated on one branch, committed on another (a checkout between run and commit): the _v2
    // ran on the first branch's files. Refused like a missing validation, before the first commit.
    const on = commitBranch(recalled, `${agent.name}'s _v2`, started, COMMIT_ORIGIN);
    const elsewhere = validatedElsewhere(root, agent.name, on);
    if (elsewhere) throw new UsageError(elsewhere);
    // A record migrate did not write at the agent's record path: refused before the first commit, as run refuses it.
    const hand = handWrittenRecordCheck(root, agent.name, flags.force === true, 'pass --force to overwrite it');
    if (hand.error) throw new UsageError(hand.error);
    if (hand.warning) io.stderr.write(`migrate: warning: ${hand.warning}\n`);
    return { agent, abs: path.join(root, agent.file), outAbs, output, validation: recalled.report, ...on };
  });
  // As run proves it before its first rewrite: without this, each agent failed only at its own
  // commit with git's "gpg failed to sign the data", one line per agent and nothing said once.
  await checkSigning(root, 'then run `migrate commit` again (the _v2 files stay as they are)');
  if (unitPlans.length || plans.length) await warnFallbackIdentity(root, (text) => io.stderr.write(text));

  const results: Array<Pick<RunResult, 'agent' | 'file' | 'output' | 'commit' | 'error'> & { files?: string[] }> = [];
  for (const u of unitPlans) {
    if (interrupt.signal.aborted) break;
    try {
      const commit = await commitUnitPlan(root, u, profile, journal, undefined, { force: flags.force });
      results.push({ agent: u.unit.name, file: u.unit.base.file, output: u.files[0]!, files: u.files, commit, error: null });
    } catch (err) {
      results.push({ agent: u.unit.name, file: u.unit.base.file, output: u.files[0]!, files: u.files, commit: null, error: `commit: ${oneLine(err)}` });
    }
  }
  for (const p of plans) {
    if (interrupt.signal.aborted) break;
    // The _v2 is the user's until its commit lands: a failure (or a crash) unstages it, bytes kept.
    try {
      journal.willCreate(p.output);
    } catch (err) {
      // Its backup could not be written (a full disk, a file-size limit): that agent fails and the
      // batch goes on, the report printed. Not undone: the journal never took the _v2 on, and
      // undoing a file it holds no backup of would remove the user's validated _v2.
      results.push({ agent: p.agent.name, file: p.agent.file, output: p.output, commit: null, error: `commit: cannot back ${p.output} up before committing it: ${oneLine(err)}; nothing committed, the _v2 stays` });
      continue;
    }
    try {
      const result = await rewriteResult(root, p, profile);
      const commit = await runRecordStage(root, { agent: p.agent, abs: p.abs, outAbs: p.outAbs, result }, { profile, branch: p.branch, branchOrigin: p.branchOrigin, force: flags.force }, journal);
      results.push({ agent: p.agent.name, file: p.agent.file, output: p.output, commit, error: null });
    } catch (err) {
      let error = `commit: ${oneLine(err)}`;
      try {
        journal.undo(p.output);
      } catch (undoErr) {
        error += `; ${oneLine(undoErr)} (the next run puts it back)`;
      }
      results.push({ agent: p.agent.name, file: p.agent.file, output: p.output, commit: null, error });
    }
  }
  if (flags.json) io.stdout.write(jsonText({ results }));
  else {
    for (const r of results) {
      const what = r.files ? `base migration unit ${r.agent}: ${r.files.join(', ')}` : `${r.agent}: ${r.output}`;
      io.stdout.write(r.commit ? `committed ${what} and its record in ${r.commit.slice(0, 12)}\n` : `failed ${what}: ${r.error}\n`);
    }
  }
  const signalled = interrupt.exitCode();
  if (signalled !== undefined) {
    const done = results.filter((r) => r.commit).length;
    io.stderr.write(`migrate: interrupted after ${done} of ${unitPlans.length + plans.length} commit(s); nothing of the others is staged\n`);
    return signalled;
  }
  return results.every((r) => r.commit) ? 0 : 1;
}

/**
 * What the record says was removed and kept: the rewrite is deterministic, so it is run
 * again in this process; a `_v2` edited by hand since is recorded with a warning saying so.
 */
async function rewriteResult(root: string, p: Plan, profile: Profile): Promise<RunResult> {
  const bytes = readFileSync(p.abs);
  const source = p.agent.language === 'python' ? decodePythonSource(bytes, p.agent.file) : new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  const o = await rewriteOne({ root, file: p.abs, source, agent: p.agent }, profile);
  const onDisk = readFileSync(p.outAbs, 'utf8');
  const warnings = [...o.warnings];
  if (o.output !== onDisk) warnings.push(`${p.output} differs from migrate's rewrite (edited after \`migrate run\`); removed and kept_for_review describe the rewrite`);
  return {
    agent: p.agent.name,
    file: p.agent.file,
    output: p.output,
    status: o.kept_for_review.length ? 'needs-review' : 'migrated',
    removed: o.removed,
    kept_for_review: o.kept_for_review,
    warnings,
    validation: p.validation,
    commit: null,
    error: null,
  };
}
