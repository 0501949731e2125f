// Quick questions about one file in the work tree, answered by git synchronously.
import { execFileSync } from 'node:child_process';

/** Is this file in git's index (committed or staged)? False outside a work tree. */
export function isTracked(root: string, abs: string): boolean {
  try {
    return execFileSync('git', ['ls-files', '-z', '--', abs], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).length > 0;
  } catch {
    return false;
  }
}
