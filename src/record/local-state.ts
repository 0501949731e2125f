// Where migrate keeps what belongs to this clone only (never the work tree): under
// .git/migrate/, so `git status` stays clean and nothing of it is ever committed.
import path from 'node:path';
import { gitDirOf } from './repo-facts.js';

/** `.git/migrate/<name>` of the repository holding root, or null outside a git work tree. */
export function localStateDir(root: string, name: string): string | null {
  const gitDir = gitDirOf(root);
  return gitDir === null ? null : path.join(gitDir, 'migrate', name);
}

export const AGENT_FILE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
