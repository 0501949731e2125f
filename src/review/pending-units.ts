// The base migration units a `run --no-commit` left for review, in a module of its own: the report
// (review/fleet.ts) lists them without loading the review session, which commits units and so loads
// the rewrite engine (every transform).
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { BaseUnit } from '../core/types.js';
import { unitOutputs } from '../discover/base-units.js';
import { isTracked } from '../record/work-tree.js';

/**
 * A base migration unit a `run --no-commit` left: reviewed as one item (its base's `_v2` and each
 * agent's), accepted as one commit (the record `run` writes, the answers inside), rejected as one (every
 * `_v2` of it deleted). Answers are kept under the base's name, about the base's `_v2`.
 */
export interface PendingUnit {
  unit: BaseUnit;
  /** The unit's `_v2` files, the base's first (relative to the root). */
  files: string[];
}

/** The units whose every `_v2` is on disk and none is committed: what a --no-commit run left. */
export function pendingUnits(root: string, units: BaseUnit[] | undefined): PendingUnit[] {
  return (units ?? [])
    .filter((u) => u.status === 'ready')
    .map((unit) => ({ unit, files: unitOutputs(unit) }))
    .filter((p) => p.files.every((f) => existsSync(path.join(root, f)) && !isTracked(root, path.join(root, f))));
}
