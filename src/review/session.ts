// What `migrate review`'s answers do to one uncommitted `_v2`: accept commits it with its
// record (the answers inside), reject deletes it (no file, no commit), edit opens it in the
// reviewer's editor and checks it still parses and compiles. Every answer is recorded.
// Pure of printing: src/commands/review.ts talks to the reviewer.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { AgentInfo, BaseUnit, RunResult } from '../core/types.js';
import { oneLine } from '../core/errors.js';
import { unitSources } from '../discover/base-units.js';
import { commitUnitPlan, planUnitCommit, type UnitPlan } from '../pipeline/unit-commit.js';
import { loadProfile, profileFor, type Profile } from '../profile/profile.js';
import { adapterFor } from '../lang/registry.js';
import { sha256File } from '../record/migration-log.js';
import { appendReviewAnswer, clearReviewAnswers, reviewAnswers, type ReviewAnswer, type ReviewAnswerKind } from '../record/review-log.js';
import { forgetRunResult } from '../record/run-results.js';
import { runRecordStage } from '../pipeline/record-stage.js';
import { RunJournal } from '../pipeline/journal.js';
import { verifyUnit } from '../pipeline/unit-run.js';
import { isTracked } from '../record/work-tree.js';
import { commitBranch, recalledValidation } from '../record/validation-cache.js';
import type { BranchOrigin } from '../record/git.js';
import type { FleetAgent } from './fleet.js';
import type { PendingUnit } from './pending-units.js';

export { pendingUnits, type PendingUnit } from './pending-units.js';

export interface PendingReview {
  agent: FleetAgent;
  info: AgentInfo;
  /** Absolute paths of the legacy file and the `_v2`. */
  abs: string;
  outAbs: string;
}

/** The reviewer as git knows them ("Name <email>"), when it does. */
export function reviewer(root: string): string | undefined {
  const get = (key: string) => {
    try {
      return execFileSync('git', ['config', key], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return '';
    }
  };
  const name = get('user.name');
  const email = get('user.email');
  return name || email ? `${name}${email ? ` <${email}>` : ''}`.trim() : undefined;
}

function answer(root: string, p: PendingReview, kind: ReviewAnswerKind, extra: Partial<ReviewAnswer> = {}): ReviewAnswer {
  const by = reviewer(root);
  return {
    answer: kind,
    at: new Date().toISOString(),
    ...(by ? { by } : {}),
    output: p.agent.output!,
    output_sha256: sha256File(p.outAbs),
    ...extra,
  };
}

/** Why accepting is refused (validation of these bytes failed), or null. */
export function acceptRefusal(p: PendingReview): string | null {
  const v = p.agent.validation;
  // Not run here is not passed either: accepting commits only what validation proved.
  if (v?.not_run) return `validation of this _v2 could not run here (${v.not_run}); validate it where the module is installed (migrate validate), or reject it`;
  if (v && !v.ok) {
    const failed = v.checks.find((c) => !c.ok && !c.skipped);
    return `validation of this _v2 failed (${v.error ?? (failed ? `${failed.name}: ${failed.detail}` : 'failed')}); edit it or reject it`;
  }
  return null;
}

/** An unvalidated (or hand-edited) `_v2` is committed on the branch the review began on: its diff was shown against that branch's file. */
const REVIEW_ORIGIN: BranchOrigin = { where: 'where this review began (a checkout while it ran, or while the editor was open?)', made: 'reviewed' };

/**
 * Accept: one commit of the `_v2` and its record, the review answers inside, made only on the
 * branch it was validated on (else the one the review began on, `started`). Returns the sha.
 */
export async function acceptPending(root: string, p: PendingReview, fallbackProfile: Profile, started: string | null): Promise<string> {
  const refusal = acceptRefusal(p);
  if (refusal) throw new Error(refusal);
  const profile = p.agent.profile && p.agent.profile !== fallbackProfile.name ? loadProfile(p.agent.profile, root) : fallbackProfile;
  const review = [...reviewAnswers(root, p.agent.name), answer(root, p, 'accept')];
  const result: RunResult = {
    agent: p.agent.name,
    file: p.info.file,
    output: p.agent.output,
    status: p.agent.kept_for_review.length ? 'needs-review' : 'migrated',
    removed: p.agent.removed,
    kept_for_review: p.agent.kept_for_review,
    warnings: p.agent.warnings,
    validation: p.agent.validation,
    commit: null,
    error: null,
  };
  // Like `migrate commit`: the run lock and a journal, so a review killed (kill -9, a closed
  // terminal) while git commits leaves nothing the next command cannot put back. Before,
  // the _v2 and its record stayed staged and the killed git's index.lock blocked every commit.
  const journal = await RunJournal.open(root, 'run');
  try {
    const on = commitBranch(recalledValidation(root, p.agent.name, p.agent.output!), `${p.agent.name}'s _v2`, started, REVIEW_ORIGIN);
    const sha = await runRecordStage(root, { agent: p.info, abs: p.abs, outAbs: p.outAbs, result }, { profile, review, ...on, retry: `\`migrate commit ${p.agent.name} --force\` overwrites it` }, journal);
    clearReviewAnswers(root, p.agent.name);
    forgetRunResult(root, p.agent.name);
    return sha;
  } finally {
    journal.finish();
  }
}

/** Reject: the `_v2` goes (only an untracked one: tracked content is never deleted), under the run lock. */
export async function rejectPending(root: string, p: PendingReview): Promise<void> {
  const journal = await RunJournal.open(root, 'run');
  try {
    rejectUnder(root, p);
  } finally {
    journal.finish();
  }
}

function rejectUnder(root: string, p: PendingReview): void {
  const rel = path.relative(root, p.outAbs);
  let tracked = true;
  try {
    execFileSync('git', ['ls-files', '--error-unmatch', '--', rel], { cwd: root, stdio: 'ignore' });
  } catch {
    tracked = false;
  }
  if (tracked) throw new Error(`${p.agent.output} is tracked by git; not deleting it (remove it with git rm if you mean to)`);
  const a = answer(root, p, 'reject');
  rmSync(p.outAbs, { force: true });
  forgetRunResult(root, p.agent.name);
  appendReviewAnswer(root, p.agent.name, a);
}

export function skipPending(root: string, p: PendingReview): void {
  appendReviewAnswer(root, p.agent.name, answer(root, p, 'skip'));
}

/**
 * Edit: the reviewer's $VISUAL / $EDITOR on the `_v2`, then the language's checks on what it
 * became. Returns whether the file changed and the checks' complaint (null when it passes).
 */
export async function editPending(root: string, p: PendingReview, profile: Profile): Promise<{ changed: boolean; problem: string | null }> {
  // Under the run lock like accept and reject: while the reviewer's editor is open, no other
  // command commits (or deletes) the bytes being edited. Before, `migrate commit` in another
  // terminal committed the _v2 mid-edit; the saved edit then left the committed file modified.
  const journal = await RunJournal.open(root, 'run');
  try {
    // The session's list was made when it started: another command may have committed it since.
    if (isTracked(root, p.outAbs)) throw new Error(`${p.agent.output} is committed now (by another migrate command); nothing left to review`);
    return await editUnder(root, p, profile);
  } finally {
    journal.finish();
  }
}

/** The reviewer's $VISUAL / $EDITOR on one file; its sha256 before and after. */
function openEditor(abs: string, rel: string): { before: string; after: string } {
  const before = sha256File(abs);
  const editor = process.env.VISUAL || process.env.EDITOR || 'vi';
  // The editor may carry arguments ("code -w"); the file goes in as "$1", never spliced into the command.
  const r = spawnSync('sh', ['-c', `${editor} "$1"`, 'sh', abs], { stdio: 'inherit' });
  if (r.error) throw new Error(`cannot start the editor ${editor}: ${r.error.message}`);
  if (!existsSync(abs)) throw new Error(`${rel} is gone after the editor closed`);
  return { before, after: sha256File(abs) };
}

async function editUnder(root: string, p: PendingReview, profile: Profile): Promise<{ changed: boolean; problem: string | null }> {
  const { before, after } = openEditor(p.outAbs, p.agent.output!);
  appendReviewAnswer(root, p.agent.name, { ...answer(root, p, 'edit'), output_sha256: before, edited_sha256: after });
  if (after === before) return { changed: false, problem: null };
  const [error] = await adapterFor(p.info.language).verify([
    { root, outputFile: p.outAbs, output: readFileSync(p.outAbs, 'utf8'), agent: p.info, profile: profileFor(profile, p.info.language, p.info.file), review: p.agent.kept_for_review },
  ]);
  // A hand edit need not be a fixed point of the transforms; it must parse and compile.
  return { changed: true, problem: error && !/not idempotent/.test(error) ? error : null };
}

function unitAnswer(root: string, p: PendingUnit, kind: ReviewAnswerKind): ReviewAnswer {
  const by = reviewer(root);
  return { answer: kind, at: new Date().toISOString(), ...(by ? { by } : {}), output: p.files[0]!, output_sha256: sha256File(path.join(root, p.files[0]!)) };
}

/** Why the unit cannot be accepted as it is (what `migrate commit` refuses), or null; the plan when it can. */
export function unitAcceptPlan(root: string, p: PendingUnit, profile: Profile): { plan: UnitPlan | null; refusal: string | null } {
  try {
    return { plan: planUnitCommit(root, p.unit, profile), refusal: null };
  } catch (err) {
    return { plan: null, refusal: oneLine(err) };
  }
}

/** Accept: the unit's one commit with its record (the review answers inside). Returns the sha. */
export async function acceptUnit(root: string, p: PendingUnit, profile: Profile): Promise<string> {
  const journal = await RunJournal.open(root, 'run');
  try {
    // Judged under the run lock: nothing commits or changes it between the check and the commit.
    const { plan, refusal } = unitAcceptPlan(root, p, profile);
    if (!plan) throw new Error(refusal ?? 'cannot be committed');
    const review = [...reviewAnswers(root, p.unit.name), unitAnswer(root, p, 'accept')];
    const sha = await commitUnitPlan(root, plan, profile, journal, review, { retry: `\`migrate commit ${p.unit.name} --force\` overwrites it` });
    clearReviewAnswers(root, p.unit.name);
    return sha;
  } finally {
    journal.finish();
  }
}

/** Reject: every `_v2` of the unit goes (none is tracked: tracked content is never deleted), under the run lock. */
export async function rejectUnit(root: string, p: PendingUnit): Promise<void> {
  const journal = await RunJournal.open(root, 'run');
  try {
    const tracked = p.files.find((f) => isTracked(root, path.join(root, f)));
    if (tracked) throw new Error(`${tracked} is tracked by git; not deleting the unit's files (remove them with git rm if you mean to)`);
    const a = unitAnswer(root, p, 'reject');
    for (const f of p.files) rmSync(path.join(root, f), { force: true });
    appendReviewAnswer(root, p.unit.name, a);
  } finally {
    journal.finish();
  }
}

/**
 * Edit: the reviewer's editor on the base's `_v2`, the one file of the unit a person can change (each
 * agent's `_v2` must stay its legacy file but for the import of the base's `_v2`, which commit checks),
 * then the unit's checks on what it became (every file compiles, each agent's `_v2` imports only names
 * the base's `_v2` defines). The agents' validation ran on the old bytes: commit refuses until
 * `migrate validate <base>` passes again. Under the run lock, like the single agent's edit.
 */
export async function editUnit(root: string, p: PendingUnit): Promise<{ changed: boolean; problem: string | null }> {
  const journal = await RunJournal.open(root, 'run');
  try {
    const tracked = p.files.find((f) => isTracked(root, path.join(root, f)));
    if (tracked) throw new Error(`${tracked} is committed now (by another migrate command); nothing left to review`);
    const baseRel = p.files[0]!;
    const { before, after } = openEditor(path.join(root, baseRel), baseRel);
    appendReviewAnswer(root, p.unit.name, { ...unitAnswer(root, p, 'edit'), output_sha256: before, edited_sha256: after });
    if (after === before) return { changed: false, problem: null };
    const legacy = unitSources(p.unit);
    const problem = verifyUnit(root, p.unit, p.files.map((rel, k) => ({ rel, legacy: legacy[k]!, text: readFileSync(path.join(root, rel), 'utf8') })));
    return { changed: true, problem };
  } finally {
    journal.finish();
  }
}

export function skipUnit(root: string, p: PendingUnit): void {
  appendReviewAnswer(root, p.unit.name, unitAnswer(root, p, 'skip'));
}
