// The record stage: the agent's migration-log record and its one commit, which adds
// only the `_v2` file and that record. A failed commit leaves no record behind (a record
// it replaced comes back), and the journal knows a commit is running, so a lock a
// killed git leaves is recognised as ours by the next run.
import { rmSync } from 'node:fs';
import path from 'node:path';
import type { RunJournal } from './journal.js';
import { MigrateError, UsageError, oneLine } from '../core/errors.js';
import type { AgentInfo, RunResult } from '../core/types.js';
import { profileFor, type Profile } from '../profile/profile.js';
import { checkSigning, checkTree, checkoutShardBranch, commitAgent, fallbackIdentityNote, headBranch, type BranchOrigin } from '../record/git.js';
import { buildRecord, recordPath, recordsFolderProblem, writeRecord } from '../record/migration-log.js';
import type { ReviewAnswer } from '../record/review-log.js';
import { handWrittenRecordCheck } from '../record/hand-written-record.js';

export async function prepareRecordStage(
  root: string,
  outputs: string[],
  records: string[],
  opts: { allowDirty: boolean; shard?: string; profile: Profile },
  warn: (line: string) => void,
): Promise<string | null> {
  // Before the tree is judged (an untracked file of that name would be named as mere dirt)
  // and before anything is written: every commit would fail on it after the rewrite and validation.
  const problem = recordsFolderProblem(root);
  if (problem) throw new UsageError(`refusing to start: ${problem}`);
  const names = [...outputs.map((o) => path.relative(root, o).split(path.sep).join('/')), ...records];
  await checkTree(root, names, { allowDirty: opts.allowDirty });
  await checkSigning(root);
  if (opts.shard) await checkoutShardBranch(root, opts.shard);
  // The branch the commits go on: each commit checks HEAD still names it.
  const branch = await headBranch(root);
  if (branch === null) {
    warn(`HEAD is detached: the migration commits will be on no branch; \`git switch -c NAME\` afterwards keeps them`);
  }
  // warn() writes `migrate: warning: LINE`, as warnFallbackIdentity() does for the other committing commands.
  const identity = await fallbackIdentityNote(root);
  if (identity) warn(identity);
  return branch;
}

export async function runRecordStage(
  root: string,
  item: { agent: AgentInfo; abs: string; outAbs: string; result: RunResult },
  opts: { profile: Profile; review?: ReviewAnswer[]; branch?: string | null; branchOrigin?: BranchOrigin; force?: boolean; retry?: string },
  journal?: RunJournal | null,
): Promise<string> {
  let r = item.result;
  const profile = profileFor(opts.profile, item.agent.language, item.agent.file);
  // `commit` and `review` reach here with no pre-flight of their own: one line, not a raw EEXIST.
  const problem = recordsFolderProblem(root);
  if (problem) throw new MigrateError(problem);
  // A record someone else wrote at the agent's record path is replaced only with --force, and said so in the record.
  const hand = handWrittenRecordCheck(root, item.agent.name, opts.force === true, opts.retry ?? 'pass --force to overwrite it');
  if (hand.error) throw new MigrateError(hand.error);
  if (hand.warning && !r.warnings.includes(hand.warning)) r = { ...r, warnings: [...r.warnings, hand.warning] };
  const record = buildRecord(root, {
    agent: item.agent.name,
    language: item.agent.language,
    profile: profile.name,
    source: item.agent.file,
    output: path.relative(root, item.outAbs),
    removed: r.removed,
    kept_for_review: r.kept_for_review,
    warnings: r.warnings,
    validation: r.validation,
    review: opts.review,
  });
  const recordRel = recordPath(item.agent.name);
  const outRel = path.relative(root, item.outAbs).split(path.sep).join('/');
  journal?.willCreate(recordRel);
  try {
    let tmpRel: string | undefined;
    writeRecord(root, record, (tmp) => {
      tmpRel = path.relative(root, tmp).split(path.sep).join('/');
      journal?.willCreate(tmpRel);
    });
    if (tmpRel) journal?.settled([tmpRel]);
    const body = [
      `Removed: ${r.removed.length ? r.removed.join(', ') : 'nothing'}.`,
      r.kept_for_review.length ? `Kept for review: ${r.kept_for_review.map((k) => `${k.symbol} (line ${k.line})`).join(', ')}.` : 'Nothing kept for review.',
      ...(opts.review?.length ? [`Reviewed: ${opts.review.map((a) => a.answer).join(', ')}${opts.review[opts.review.length - 1]!.by ? ` by ${opts.review[opts.review.length - 1]!.by}` : ''}.`] : []),
      r.validation ? `Validation: ${r.validation.checks.map((c) => `${c.name} ${c.ok ? 'ok' : 'FAILED'} ${c.ms} ms`).join(', ')}.` : 'Validation: not run (--no-validate).',
    ].join('\n');
    journal?.committing([outRel, recordRel]);
    const sha = await commitAgent(root, {
      agent: item.agent.name,
      profile: profile.name,
      baseClass: profile.base_class,
      files: [outRel, recordRel],
      body,
      branch: opts.branch,
      branchOrigin: opts.branchOrigin,
    });
    journal?.committed([outRel, recordRel]);
    return sha;
  } catch (err) {
    if (!journal) {
      rmSync(path.join(root, recordRel), { force: true });
      throw err;
    }
    try {
      journal.commitFailed();
    } catch {
      // The journal cannot be saved (a full disk fails the commit and this alike): the
      // record is put back all the same, or it stayed behind, untracked.
    }
    try {
      journal.undo(recordRel);
    } catch (undoErr) {
      throw new MigrateError(`${oneLine(err)}; ${oneLine(undoErr)} (the next run puts it back)`);
    }
    throw err;
  }
}
