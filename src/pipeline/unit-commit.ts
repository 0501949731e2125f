// Committing a base migration unit a `run --no-commit` left: the checks `migrate commit <base>` and
// `migrate review`'s accept make of its files as they are now (the ones `run` makes before its own
// commit), and the one commit with its record. Shared by both commands; the report reads the same
// validation state (unitValidationState) to say what a unit waits for.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { UsageError, oneLine } from '../core/errors.js';
import type { BaseUnit, ValidationReport } from '../core/types.js';
import type { Profile } from '../profile/profile.js';
import { unitNotWritten } from '../discover/resolve.js';
import { unitOutputs } from '../discover/base-units.js';
import { commitUnit, unitTexts, verifyUnit, type BaseRewrite } from './unit-run.js';
import type { RunJournal } from './journal.js';
import { commitBranch, headBranchNow, validatedElsewhere } from '../record/validation-cache.js';
import { unitValidationState } from './unit-validation.js';

export { unitValidationState, type MemberValidation } from './unit-validation.js';
import type { BranchOrigin } from '../record/git.js';
import { recordPath } from '../record/migration-log.js';
import { isTracked } from '../record/work-tree.js';

/** A base migration unit a --no-commit run left: its `_v2` files (the base's first), what the record says, each agent's validation. */
export interface UnitPlan {
  unit: BaseUnit;
  files: string[];
  base: BaseRewrite;
  validation: Record<string, ValidationReport>;
  /** The branch its agents were validated on: the unit is committed there only. */
  branch: string | null;
  branchOrigin: BranchOrigin;
}

/**
 * A unit's uncommitted `_v2` files checked as `run` checks what it commits, or a one-line usage error:
 * refused, a file missing or already committed, a file that does not compile, an agent's `_v2` that
 * differs from its legacy file by more than importing the base's `_v2`, or an agent whose `_v2` has no
 * passing validation of its bytes made since the base's `_v2` last changed (the agents run on it).
 * The record is the one `run` writes: the engine's rewrite of the base says what was removed and kept
 * (with a warning when the base's `_v2` was edited since).
 */
export function planUnitCommit(root: string, unit: BaseUnit, profile: Profile): UnitPlan {
  if (unit.status === 'refused') throw new UsageError(unitNotWritten(unit, []));
  const files = unitOutputs(unit);
  const missing = files.filter((f) => !existsSync(path.join(root, f)));
  if (missing.length) throw new UsageError(`base migration unit ${unit.name} has no ${missing.join(', ')} to commit (run \`migrate run ${unit.name} --no-commit\` first)`);
  const tracked = files.find((f) => isTracked(root, path.join(root, f)));
  if (tracked) throw new UsageError(`${tracked} is already committed; \`migrate status\` shows base migration unit ${unit.name}'s commit`);
  let made: ReturnType<typeof unitTexts>;
  try {
    made = unitTexts(root, unit, profile);
  } catch (err) {
    throw new UsageError(`base migration unit ${unit.name}: ${oneLine(err)}`);
  }
  const texts = files.map((f) => readFileSync(path.join(root, f), 'utf8'));
  const problem = verifyUnit(root, unit, files.map((rel, k) => ({ rel, legacy: made.files[k]!.legacy, text: texts[k]! })));
  if (problem) throw new UsageError(`base migration unit ${unit.name}: ${problem}; fix it, or write the unit again (\`migrate run ${unit.name} --no-commit --force\`)`);
  const validation: Record<string, ValidationReport> = {};
  const started = headBranchNow(root);
  let on: ReturnType<typeof commitBranch> | undefined;
  for (const m of unitValidationState(root, unit, files)) {
    if (m.problem) throw new UsageError(`${m.output} (${m.class} of base migration unit ${unit.name}): ${m.problem}; run \`migrate validate ${unit.name}\` first (only validated files are committed)`);
    validation[m.class] = m.report!;
    // Each agent ran on the files of the branch it was validated on: the unit commits there only.
    const mine = commitBranch(m, `${m.output} (${m.class})`, started, UNIT_ORIGIN);
    const elsewhere = validatedElsewhere(root, unit.name, mine);
    if (elsewhere) throw new UsageError(elsewhere);
    on ??= mine;
  }
  const warnings = [...made.base.warnings];
  if (texts[0] !== made.files[0]!.text) warnings.push(`${files[0]} differs from migrate's rewrite (edited after \`migrate run\`); removed and kept_for_review describe the rewrite`);
  return { unit, files, base: { ...made.base, warnings }, validation, ...(on ?? commitBranch(null, '', started, UNIT_ORIGIN)) };
}

/** Before branches were remembered with a validation: the branch the committing command planned the unit on. */
const UNIT_ORIGIN: BranchOrigin = { where: 'where this commit began (a checkout meanwhile?)', made: 'validated' };

/** Commit a unit's plan as one commit with its record; on failure every file is put back as it was (bytes kept). */
export async function commitUnitPlan(
  root: string,
  plan: UnitPlan,
  profile: Profile,
  journal: RunJournal,
  review?: Parameters<typeof commitUnit>[2]['review'],
  record: { force?: boolean; retry?: string } = {},
): Promise<string> {
  journal.willCreateAll(plan.files);
  let recorded = false;
  try {
    return await commitUnit(root, plan.unit, { profile, files: plan.files, base: plan.base, validation: plan.validation, journal, review, branch: plan.branch, branchOrigin: plan.branchOrigin, ...record, onRecord: () => (recorded = true) });
  } catch (err) {
    let error = oneLine(err);
    try {
      journal.commitFailed();
    } catch {
      // the files are put back all the same
    }
    for (const rel of recorded ? [...plan.files, recordPath(plan.unit.name)] : plan.files) {
      try {
        journal.undo(rel);
      } catch (undoErr) {
        error += `; ${oneLine(undoErr)} (the next run puts it back)`;
      }
    }
    throw new Error(error);
  }
}
