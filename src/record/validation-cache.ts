// The last validation of an uncommitted `_v2` file, kept under .git/ (never in the work
// tree): `migrate status` shows such an agent as `validated` while the file is unchanged.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ValidationReport } from '../core/types.js';
import { sha256File } from './migration-log.js';

interface CachedValidation {
  agent: string;
  output: string;
  sha256: string;
  at: string;
  report: ValidationReport;
}

function cacheDir(root: string): string | null {
  try {
    const gitDir = execFileSync('git', ['rev-parse', '--git-dir'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return path.join(path.resolve(root, gitDir), 'migrate', 'validated');
  } catch {
    return null; // not a git work tree: nothing to remember it in
  }
}

/** Remember a validation of `output` (relative to the root) as it is on disk now. */
export function rememberValidation(root: string, agent: string, output: string, report: ValidationReport): void {
  const dir = cacheDir(root);
  const abs = path.join(root, output);
  if (!dir || !existsSync(abs) || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(agent)) return;
  mkdirSync(dir, { recursive: true });
  const entry: CachedValidation = { agent, output, sha256: sha256File(abs), at: new Date().toISOString(), report };
  writeFileSync(path.join(dir, `${agent}.json`), JSON.stringify(entry));
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
