// The validation state of a base migration unit's written `_v2` files, as `migrate commit <base>`
// judges it: status, the report and review read it to say what a unit waits for. A module of its
// own so that those readers do not load the rewrite engine with unit-commit.ts (status loaded
// every transform, about 140 modules, for this one function).
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { BaseUnit, ValidationReport } from '../core/types.js';
import { passedEveryCheck, recalledValidation } from '../record/validation-cache.js';

/** One agent of a written unit: its `_v2`, its validation of those bytes (null: none), and why it cannot be committed yet (null: it can). */
export interface MemberValidation {
  class: string;
  output: string;
  report: ValidationReport | null;
  problem: string | null;
  /** The branch HEAD named while it was validated (absent: not remembered). */
  branch?: string | null;
}

/**
 * Each agent's `_v2` against what a commit needs: a passing validation of its bytes made since the base's
 * `_v2` last changed (the agents run on it). `files` are the unit's `_v2` files, the base's first.
 */
export function unitValidationState(root: string, unit: BaseUnit, files: string[]): MemberValidation[] {
  const baseChanged = existsSync(path.join(root, files[0]!)) ? statSync(path.join(root, files[0]!)).mtimeMs : Infinity;
  return unit.members.map((m, k) => {
    const output = files[k + 1]!;
    const recalled = recalledValidation(root, m.class, output);
    const stale = recalled !== null && Date.parse(recalled.at) < Math.floor(baseChanged);
    const problem = !recalled
      ? 'it was not validated as it is now'
      : stale
        ? `it was validated before ${files[0]} last changed`
        : !passedEveryCheck(recalled.report)
          ? 'its last validation failed'
          : null;
    return { class: m.class, output, report: recalled?.report ?? null, problem, ...(recalled && 'branch' in recalled ? { branch: recalled.branch } : {}) };
  });
}
