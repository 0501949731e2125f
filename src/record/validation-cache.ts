// The last validation of an uncommitted `_v2` file, kept under .git/ (never in the work
// tree): `migrate status` shows such an agent as `validated` while the file is unchanged.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ValidationReport } from '../core/types.js';
import { sha256File } from './migration-log.js';
import { gitDirOf } from './repo-facts.js';

interface CachedValidation {
  agent: string;
  output: string;
  sha256: string;
  at: string;
  report: ValidationReport;
}

function cacheDir(root: string): string | null {
  const gitDir = gitDirOf(root);
  return gitDir === null ? null : path.join(gitDir, 'migrate', 'validated'); // null: not a git work tree, nothing to remember it in
}

/**
 * Remember a validation of `output` (relative to the root), run on the file whose sha256 was
 * `validatedSha` when it started. A file that changed meanwhile (an agent writing to its own
 * _v2) is not what was validated: nothing is remembered, and an older entry goes.
 */
export function rememberValidation(root: string, agent: string, output: string, report: ValidationReport, validatedSha: string | null): void {
  const dir = cacheDir(root);
  const abs = path.join(root, output);
  if (!dir || !existsSync(abs) || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(agent)) return;
  const file = path.join(dir, `${agent}.json`);
  const sha256 = sha256File(abs);
  if (sha256 !== validatedSha) {
    rmSync(file, { force: true });
    return;
  }
  mkdirSync(dir, { recursive: true });
  const entry: CachedValidation = { agent, output, sha256, at: new Date().toISOString(), report };
  writeFileSync(file, JSON.stringify(entry));
}

/** Every check passed or was skipped: what a commit needs of a validation. */
export const passedEveryCheck = (r: ValidationReport) => r.ok && r.checks.every((c) => c.ok || c.skipped === true);

/** The sha256 of a file about to be validated (null when it cannot be read). */
export function validatedSha(abs: string): string | null {
  try {
    return sha256File(abs);
  } catch {
    return null;
  }
}

/** The remembered validation, if it was of the file exactly as it is now. */
export function recalledValidation(root: string, agent: string, output: string): CachedValidation | null {
  const dir = cacheDir(root);
  const file = dir && path.join(dir, `${agent}.json`);
  const abs = path.join(root, output);
  if (!file || !existsSync(file) || !existsSync(abs)) return null;
  try {
    const entry = JSON.parse(readFileSync(file, 'utf8')) as CachedValidation;
    return entry.output === output && entry.sha256 === sha256File(abs) ? entry : null;
  } catch {
    return null;
  }
}
