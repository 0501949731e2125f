// Where migrate keeps what belongs to this clone only (never the work tree): under
// .git/migrate/, so `git status` stays clean and nothing of it is ever committed.
import { execFileSync } from 'node:child_process';
import path from 'node:path';

/** `.git/migrate/<name>` of the repository holding root, or null outside a git work tree. */
export function localStateDir(root: string, name: string): string | null {
  try {
    const gitDir = execFileSync('git', ['rev-parse', '--git-dir'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return path.join(path.resolve(root, gitDir), 'migrate', name);
  } catch {
    return null;
  }
}

export const AGENT_FILE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
