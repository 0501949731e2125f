// A migration-log record that does not read, as every command that lists the fleet names it: the
// file, why, and what brings a tracked one back (status, report and review say it alike).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { oneLine } from '../core/errors.js';
import type { UnreadableRecord } from './migration-log.js';
import { isTracked } from './work-tree.js';

/** A broken record as the fleet's commands name it: the file, why, and what brings a committed one back. */
export function unreadableNote(root: string, u: UnreadableRecord): { file: string; error: string; line: string } {
  const error = u.error.message.replace(/\s*\n\s*/g, ' ');
  const back = isTracked(root, path.join(root, u.file)) ? restoreAdvice(root, u.file) : '';
  return { file: u.file, error, line: `${oneLine(u.error)}: the agents are shown without it${back}` };
}

/**
 * How to bring a tracked broken record back. Changed since HEAD: `git checkout -- FILE`. Committed
 * broken (a hand edit committed): the checkout gives the same broken file, as it was once advised;
 * the commit that last changed it is named, and its parent's copy.
 */
function restoreAdvice(root: string, file: string): string {
  const git = (args: string[]) => spawnSync('git', args, { cwd: root, encoding: 'utf8' });
  if (git(['diff', '--quiet', 'HEAD', '--', file]).status !== 0) return `; \`git checkout -- ${file}\` restores the committed one`;
  const last = git(['log', '-1', '--format=%h%x00%s', 'HEAD', '--', file]).stdout.trim().split('\0');
  if (!last[0]) return '';
  return `; it is committed so (last changed in ${last[0]} "${last[1] ?? ''}"): \`git checkout ${last[0]}~1 -- ${file}\` restores the one before`;
}
