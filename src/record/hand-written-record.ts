// A `migration-log/<Agent>.json` migrate did not write. The migration commit writes the agent's
// record at that path; a record a person wrote and committed there (notes of a migration done by
// hand, or another tool's) was replaced by it without a word (probe-fault55). Treated as an
// existing `_v2` that differs is: the agent is refused, naming the file and its commit, unless
// --force, which replaces it with a warning (git still has the old one).
import { execFileSync } from 'node:child_process';
import { lstatSync } from 'node:fs';
import path from 'node:path';
import { recordPath } from './migration-log.js';
import { TRAILER_AGENT } from './git.js';

export interface HandWrittenRecord {
  /** The record's path, relative to the root. */
  path: string;
  /** What makes it not migrate's, completing "<path> ...". */
  how: string;
  /** The commit that last wrote it, when it is committed. */
  commit: string | null;
}

function gitOut(root: string, args: string[]): string | null {
  try {
    return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return null;
  }
}

/**
 * The commit that last wrote the agent's record in HEAD's history, and whether it carries the
 * agent's `Migrate-Agent` trailer (a migration or promotion of it); null when none did.
 */
export function lastRecordCommit(root: string, agent: string): { sha: string; subject: string; ours: boolean } | null {
  const last = gitOut(root, ['log', '-1', '--format=%H%x00%s%x00%(trailers:key=' + TRAILER_AGENT + ',valueonly,separator=%x2C)', 'HEAD', '--', recordPath(agent)]);
  if (!last?.trim()) return null;
  const [sha = '', subject = '', agents = ''] = last.trim().split('\0');
  return { sha, subject, ours: agents.split(',').some((a) => a.trim() === agent) };
}

/**
 * The agent's record path when something migrate did not write is there: a file committed by a
 * commit without the agent's `Migrate-Agent` trailer, or one on disk that no commit holds. Null
 * when there is none, or it is migrate's own (its migration or promotion commit wrote it), or
 * outside git (nothing is committed there).
 */
export function handWrittenRecord(root: string, agent: string): HandWrittenRecord | null {
  const rel = recordPath(agent);
  try {
    lstatSync(path.join(root, rel));
  } catch {
    return null;
  }
  const tracked = gitOut(root, ['ls-files', '-z', '--', rel]);
  if (tracked === null) return null;
  if (!tracked) return { path: rel, how: 'is not committed (migrate did not write it)', commit: null };
  const last = lastRecordCommit(root, agent);
  if (!last) return { path: rel, how: 'is staged, not committed (migrate did not write it)', commit: null };
  const { sha, subject } = last;
  if (last.ours) return null;
  return { path: rel, how: `was committed by hand in ${sha.slice(0, 12)} ("${subject}"), not by a migration of ${agent}`, commit: sha };
}

/**
 * What a commit of the agent's record does about a hand-written one: without --force the one-line
 * error that refuses it (`retry` says how to overwrite it), with --force the warning the record and the output carry.
 */
export function handWrittenRecordCheck(root: string, agent: string, force: boolean, retry: string): { error?: string; warning?: string } {
  const hand = handWrittenRecord(root, agent);
  if (!hand) return {};
  if (!force) return { error: `${hand.path} already exists and ${hand.how}; migrate keeps ${agent}'s record there: ${retry} (git keeps the old one), or move it away first` };
  const old = hand.commit ? `; \`git show ${hand.commit.slice(0, 12)}:./${hand.path}\` has it` : '';
  return { warning: `${hand.path} ${hand.how}; --force replaced it with migrate's record${old}` };
}
