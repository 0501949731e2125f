// The last validation of an uncommitted `_v2` file, kept under .git/ (never in the work
// tree): `migrate status` shows such an agent as `validated` while the file is unchanged.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ValidationReport } from '../core/types.js';
import { branchName, wrongBranch, type BranchOrigin } from './git.js';
import { sha256File } from './migration-log.js';
import { gitDirOf, headRefFromFile } from './repo-facts.js';

interface CachedValidation {
  agent: string;
  output: string;
  sha256: string;
  at: string;
  report: ValidationReport;
  /**
   * The branch HEAD named while it was validated (`refs/heads/main`; null: detached). The _v2 ran on
   * that branch's files (the modules it imports, its base): `migrate commit` and review's accept
   * commit it only there. Absent in entries older than it.
   */
  branch?: string | null;
}

/** The branch HEAD names (`refs/heads/main`), null when detached or outside git. */
export function headBranchNow(root: string): string | null {
  const fromFile = headRefFromFile(root);
  if (fromFile !== undefined) return fromFile;
  try {
    return execFileSync('git', ['symbolic-ref', '-q', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || null;
  } catch {
    return null;
  }
}

function cacheDir(root: string): string | null {
  const gitDir = gitDirOf(root);
  return gitDir === null ? null : path.join(gitDir, 'migrate', 'validated'); // null: not a git work tree, nothing to remember it in
}

/**
 * Remember a validation of `output` (relative to the root), run on the file whose sha256 was
 * `validatedSha` when it started. A file that changed meanwhile (an agent writing to its own
 * _v2) is not what was validated: nothing is remembered, and an older entry goes; so too when
 * `startBranch` (the branch HEAD named when it started, when given) is not HEAD's branch now:
 * the _v2 ran on files of both.
 */
export function rememberValidation(root: string, agent: string, output: string, report: ValidationReport, validatedSha: string | null, startBranch?: string | null): void {
  const dir = cacheDir(root);
  const abs = path.join(root, output);
  if (!dir || !existsSync(abs) || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(agent)) return;
  const file = path.join(dir, `${agent}.json`);
  const sha256 = sha256File(abs);
  const branch = headBranchNow(root);
  if (sha256 !== validatedSha || (startBranch !== undefined && startBranch !== branch)) {
    rmSync(file, { force: true });
    return;
  }
  mkdirSync(dir, { recursive: true });
  const entry: CachedValidation = { agent, output, sha256, at: new Date().toISOString(), report, branch };
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

/**
 * The branch a commit of a validated `_v2` is made on, and how its refusal says so: where it was
 * validated (it ran on that branch's files), else where the committing command began (an entry
 * from before branches were remembered). `what` names the file ("KVCacheAgent's _v2").
 */
export function commitBranch(entry: Pick<CachedValidation, 'branch'> | null, what: string, started: string | null, startOrigin: BranchOrigin): { branch: string | null; branchOrigin: BranchOrigin } {
  if (entry?.branch !== undefined) return { branch: entry.branch, branchOrigin: { where: `where ${what} was validated (a checkout since?)`, made: 'validated' } };
  return { branch: started, branchOrigin: startOrigin };
}

/**
 * Why a `_v2` validated on another branch than HEAD's is not committed (null: same branch), in one
 * line: `migrate commit` refuses it before the first commit (a branch switched between run and commit).
 */
export function validatedElsewhere(root: string, agent: string, c: { branch: string | null; branchOrigin: BranchOrigin }): string | null {
  const now = headBranchNow(root);
  if (now === c.branch) return null;
  return `cannot commit ${agent}: ${wrongBranch(now, c.branch, c.branchOrigin)}: switch back to ${branchName(c.branch)}, or validate it again on ${branchName(now)} (\`migrate validate ${agent}\`)`;
}
