// The engine's own rewrite of a home-made base, run in memory (nothing written) for a base
// migration unit: what it would keep for review and what it removes or renames is what decides
// whether the unit could carry its subclasses (see base-units.ts). Loaded only when a unit exists.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { RewriteOutcome } from '../core/types.js';
import { oneLine } from '../core/errors.js';
import type { Profile } from '../profile/profile.js';
import { loadBaseModel } from '../analysis/base-model.js';
import { rewritePythonTrees } from '../lang/python/rewrite.js';
import type { UnitRewrite } from '../lang/python/transform-context.js';

/**
 * The base's rewrite as an agent's would be, with its source; the outcome `failed` with why when it
 * cannot be run. `text`, when given, is rewritten as the file's text instead of what is on disk; `unit`,
 * when given, rewrites it as the base of a unit whose subclasses are rewritten with it.
 */
export function previewBase(root: string, rel: string, className: string, profile: Profile, text?: string, unit?: UnitRewrite): { source: string; outcome: RewriteOutcome } {
  let source = '';
  try {
    source = text ?? readFileSync(path.join(root, rel), 'utf8');
    const py = profile.python;
    if (!py) return { source, outcome: { status: 'skipped', removed: [], kept_for_review: [], warnings: [], error: `profile ${profile.name} has no python section` } };
    const base = loadBaseModel(root, py, profile.base_class);
    return { source, outcome: rewritePythonTrees({ file: rel, source, className, profile, base, root, unit }).outcome };
  } catch (err) {
    return { source, outcome: { status: 'failed', removed: [], kept_for_review: [], warnings: [], error: oneLine(err) } };
  }
}
